package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// The typed JSON decoders against encoding/json into the same types: on
// every input both succeed with equal values or both fail.

type typedCase struct {
	name   string
	typ    reflect.Type
	run    func(body []byte) (fast, std any, fastErr, stdErr error)
	fields []jsonMember // the type's JSON members
}

// jsonMember is a JSON jsonMember of a type: its name, Go type, and for a struct
// its own members.
type jsonMember struct {
	name string
	typ  reflect.Type
	sub  []jsonMember
}

func caseOf[T any](parse func([]byte, *T) error) typedCase {
	typ := reflect.TypeFor[T]()
	return typedCase{name: typ.Name(), typ: typ, fields: members(typ),
		run: func(b []byte) (any, any, error, error) {
			var f, s T
			fe := parse(b, &f)
			se := json.Unmarshal(b, &s)
			return f, s, fe, se
		}}
}

func members(t reflect.Type) []jsonMember {
	var ms []jsonMember
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		m := jsonMember{name: name, typ: f.Type}
		if f.Type.Kind() == reflect.Struct {
			m.sub = members(f.Type)
		}
		ms = append(ms, m)
	}
	return ms
}

var typedCases = []typedCase{
	caseOf(parseDataPointJSON),
	caseOf(parseDataStreamJSON),
	caseOf(parseDeviceCoreJSON),
	caseOf(parseFileDataJSON),
	caseOf(parseFileDataCoreJSON),
	caseOf(parseXbeeCoreJSON),
	caseOf(parseAlarmJSON),
	caseOf(parseAlarmStatusJSON),
	caseOf(parseV1DeviceJSON),
	caseOf(parseV1AlertStatusJSON),
}

// checkSame fails t unless the decoders agree on body.
func checkSame(t *testing.T, c typedCase, body []byte) {
	t.Helper()
	fast, std, fe, se := c.run(body)
	switch {
	case (fe == nil) != (se == nil):
		t.Errorf("%s %q:\n fast err: %v\n encoding/json err: %v", c.name, body, fe, se)
	case fe == nil && !reflect.DeepEqual(fast, std):
		t.Errorf("%s %q:\n fast: %#v\n encoding/json: %#v", c.name, body, fast, std)
	}
}

// Hand-picked inputs, valid and not, where a decoder could stray.
var trickyBodies = []string{
	// Shapes.
	`{}`, `null`, ` null `, `{"id":null}`, `[]`, `"x"`, `1`, `true`, ``, ` `, `{`, `}`, `{"id":"a"}x`,
	`{"id":"a"} `, "\t\r\n{\"id\":\"a\"}\n", `{"id":"a",}`, `{,}`, `{"id" "a"}`, `{"id":}`, `{"id"}`,
	`{"id":"a""x":1}`, `{'id':1}`, `{"id":"a"}{}`, `{"id":"a"}]`, "\ufeff{}", `{"id":"a"}` + "\x00",
	// Literals and numbers.
	`{"data":tru}`, `{"data":truex}`, `{"data":nul}`, `{"data":NaN}`, `{"data":01}`, `{"data":-}`,
	`{"data":1.}`, `{"data":.5}`, `{"data":1e}`, `{"data":1e+}`, `{"data":+1}`, `{"data":-0}`,
	`{"data":-0.0e-0}`, `{"data":1E9}`, `{"data":0x10}`, `{"data":1_0}`, `{"data":Infinity}`,
	`{"cstId":01}`, `{"cstId":7603}`, `{"cstId":"7603"}`, `{"cstId":-7}`, `{"cstId":"+7"}`,
	`{"cstId":7.9}`, `{"cstId":"7.9"}`, `{"cstId":-7.9e2}`, `{"cstId":1e400}`, `{"cstId":"1e400"}`,
	`{"cstId":9223372036854775807}`, `{"cstId":9223372036854775808}`, `{"cstId":-9223372036854775808}`,
	`{"cstId":123456789012345678}`, `{"cstId":1234567890123456789}`, `{"cstId":9999999999999999999}`, `{"cstId":""}`, `{"cstId":"null"}`,
	`{"cstId":null}`, `{"cstId":true}`, `{"cstId":{}}`, `{"cstId":[]}`, `{"cstId":"\"7\""}`,
	`{"cstId":"\u0037"}`, `{"cstId":" 7"}`, `{"cstId":"0x1p3"}`, `{"cstId":"inf"}`, `{"cstId":"NaN"}`,
	`{"timestamp":1434307047694}`, `{"timestamp":"1434307047694"}`, `{"quality":"1_0"}`,
	// Value: every kind.
	`{"data":0.4117}`, `{"data":"0.4117"}`, `{"data":true}`, `{"data":false}`, `{"data":null}`,
	`{"data":{"a": [1, 2 ]}}`, `{"data":[ ]}`, `{"data":"\u00e9t\u00e9"}`, `{"data":"x","data":null}`,
	`{"data":{"a":1,}}`, `{"data":[1,]}`, `{"data":[1 2]}`, `{"data":{"a"}}`, `{"data":{"a":1 "b":2}}`,
	// Strings.
	`{"id":"a\"b\\c\/d\b\f\n\r\t"}`, `{"id":"\u0041\u00e9\u20ac\ud83d\ude00"}`, `{"id":"\ud83d"}`,
	`{"id":"\ud83dx"}`, `{"id":"\ude00\ud83d"}`, `{"id":"\ud83d\u0041"}`, `{"id":"\ud83d\ud83d\ude00"}`,
	`{"id":"\u12"}`, `{"id":"\u12g4"}`, `{"id":"\x"}`, `{"id":"\'"}`, `{"id":"\`, `{"id":"abc`,
	"{\"id\":\"a\x01b\"}", "{\"id\":\"a\x1fb\"}", "{\"id\":\"a\x7fb\"}", "{\"id\":\"\xff\xfe\"}",
	"{\"id\":\"a\xc3\"}", "{\"id\":\"\xed\xa0\x80\"}", "{\"id\":\"\xef\xbf\xbd\"}", "{\"id\":\"\xf4\x90\x80\x80\"}",
	"{\"id\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", `{"id":"\u0000"}`, `{"id":12}`, `{"id":true}`,
	`{"id":{}}`, `{"id":[]}`, `{"id":"a","id":"b"}`, `{"id":"a","id":null}`,
	// Keys: escapes, case folding, Kelvin and long s, repeats, unknown.
	`{"\u0069d":"a"}`, `{"ID":"a"}`, `{"Id":"a","id":"b"}`, `{"id":"b","ID":"a"}`, `{"STREAMID":"s"}`,
	`{"stre\u0061mId":"s"}`, `{"streamid":"s","streamId":"t"}`, "{\"\u212aey\":1}", "{\"cst\u0131d\":1}",
	"{\"\u017ftreamId\":\"s\"}", "{\"streamI\u212a\":1}", "{\"timestamp\u0130\":1}", `{"unknown":1}`,
	`{"unknown":{"a":[{"b":null}]}}`, `{"unknown":{"a":[{"b":nul}]}}`, `{"":1}`, `{"\ud800":1}`,
	"{\"i\xffd\":1}", `{"id":"a","unknown":"\q"}`, `{"x":"y"` + strings.Repeat(" ", 70) + `}`,
	`{"` + strings.Repeat("k", 100) + `":1}`, `{"` + strings.Repeat(`\u006b`, 100) + `":1}`,
	// Nested structs.
	`{"id":{"devId":882,"devVersion":"7"}}`, `{"id":{"devId":882},"id":{"devVersion":7}}`,
	`{"id":null}`, `{"id":"882"}`, `{"id":[882]}`, `{"id":{"devId":{}}}`, `{"id":{"fdPath":"/db/","fdName":"x"}}`,
	`{"currentValue":{"id":"u","data":"1.5","timestamp":"1404683207981"}}`, `{"currentValue":7}`,
	`{"id":{"almId":"142","almsSourceEntityId":"46911"},"almsStatus":2}`,
	// Raw.
	`{"almScopeConfig":{"ScopeConfig":{"Scope":"Device"}}}`, `{"almScopeConfig":null}`, `{"geoposition":[1.5,2]}`,
	`{"almsPayload":"x"}`, `{"geoposition":{"a":}}`,
}

func TestTypedJSONMatchesEncodingJSON(t *testing.T) {
	for _, c := range typedCases {
		for _, b := range trickyBodies {
			checkSame(t, c, []byte(b))
		}
	}
}

// Nesting: encoding/json's limit, exactly.
func TestTypedJSONDepthLimit(t *testing.T) {
	nest := func(n int) []byte { // an object holding n-1 nested arrays
		return []byte(`{"x":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	for _, n := range []int{64, 65, 129, 10000, 10001, 20000} {
		for _, c := range typedCases[:3] {
			checkSame(t, c, nest(n))
		}
		var dp DataPoint
		err := parseDataPointJSON(nest(n), &dp)
		if tooDeep := errors.Is(err, ErrBodyTooDeep); tooDeep != (n > 10000) {
			t.Errorf("depth %d: err = %v", n, err)
		}
	}
	// Nesting through a typed struct counts too.
	deep := `{"currentValue":{"data":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}}`
	checkSame(t, typedCases[1], []byte(deep))
	deep = `{"currentValue":{"data":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}}`
	checkSame(t, typedCases[1], []byte(deep))
}

// Random documents over each type's jsonMember names, valid and mutated:
// 1 000 per type (4 000 with PUSHMON_LONG=1, 500 with -short).
func TestTypedJSONRandomDifferential(t *testing.T) {
	n := 1000
	if longTests() {
		n = 4000
	}
	if testing.Short() {
		n = 500
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range typedCases {
		for range n {
			b := randomObject(r, c.fields, 0)
			if r.IntN(3) == 0 {
				b = mutate(r, b)
			}
			checkSame(t, c, b)
			if t.Failed() {
				return
			}
		}
	}
}

func randomObject(r *rand.Rand, fields []jsonMember, depth int) []byte {
	var b []byte
	b = append(b, randomSpace(r)...)
	b = append(b, '{')
	for i := range r.IntN(10) {
		if i > 0 {
			b = append(b, ',')
		}
		m := fields[r.IntN(len(fields))]
		b = append(b, randomSpace(r)...)
		b = append(b, randomKey(r, m.name)...)
		b = append(b, randomSpace(r)...)
		b = append(b, ':')
		b = append(b, randomSpace(r)...)
		if r.IntN(8) == 0 {
			b = append(b, randomValue(r, fields, depth+1)...)
		} else {
			b = append(b, valueFor(r, m, depth+1)...)
		}
		b = append(b, randomSpace(r)...)
	}
	b = append(b, '}')
	return b
}

func randomSpace(r *rand.Rand) string {
	return [...]string{"", "", "", " ", "\n\t", "\r\n  "}[r.IntN(6)]
}

func randomKey(r *rand.Rand, name string) string {
	switch r.IntN(10) {
	case 0:
		name = strings.ToUpper(name)
	case 1:
		name = strings.ToLower(name)
	case 2: // escape the first letter
		name = fmt.Sprintf(`\u%04x`, name[0]) + name[1:]
	case 3:
		name = strings.NewReplacer("k", "\u212a", "s", "\u017f", "K", "\u212a").Replace(name)
	case 4:
		name = [...]string{"unknown", "", "x", "idx", "Msg"}[r.IntN(5)]
	}
	return `"` + name + `"`
}

var (
	randomStrings = []string{`""`, `"a"`, `"dev/temp"`, `"x\"y"`, `"\u00e9t\u00e9"`, `"\ud83d\ude00"`,
		`"\ud83d"`, "\"\xff\"", "\"caf\xc3\xa9\"", `"\n\t"`, `"null"`, `"684572e0-12c4-11e5-8507-fa163ed4cf14"`}
	randomNumbers = []string{`0`, `-0`, `1`, `-12`, `7603`, `1434307047694`, `3.25`, `1e3`, `-2.5E-3`,
		`12345678901234567890`, `"7603"`, `"-1"`, `"1e3"`, `""`, `null`, `"0.5"`}
	randomScalars = append(append([]string{`true`, `false`, `null`, `[]`, `{}`, `[1,"a",null]`,
		`{"a":{"b":[true]}}`}, randomStrings...), randomNumbers...)
)

// valueFor returns a value that m's type accepts, mostly.
func valueFor(r *rand.Rand, m jsonMember, depth int) []byte {
	pick := func(vs []string) []byte { return []byte(vs[r.IntN(len(vs))]) }
	switch {
	case m.sub != nil:
		if r.IntN(10) == 0 {
			return []byte("null")
		}
		return randomObject(r, m.sub, depth)
	case m.typ.Kind() == reflect.String && m.typ.Name() == "string":
		return pick(randomStrings)
	case m.typ.Kind() == reflect.Int64:
		return pick(randomNumbers)
	}
	return pick(randomScalars) // Value and Raw take anything
}

func randomValue(r *rand.Rand, fields []jsonMember, depth int) []byte {
	switch k := r.IntN(10); {
	case k < 7 || depth > 4:
		return []byte(randomScalars[r.IntN(len(randomScalars))])
	case k < 9:
		return randomObject(r, fields, depth)
	}
	v := []byte{'['}
	for i := range r.IntN(4) {
		if i > 0 {
			v = append(v, ',')
		}
		v = append(v, randomValue(r, fields, depth+1)...)
	}
	return append(v, ']')
}

func mutate(r *rand.Rand, b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	i := r.IntN(len(b))
	switch r.IntN(4) {
	case 0:
		return b[:i]
	case 1:
		return append(b[:i:i], append([]byte{`"{}[],:\ 0x`[r.IntN(11)]}, b[i:]...)...)
	case 2:
		b[i] = byte(r.IntN(256))
		return b
	}
	return append(b[:i:i], b[i+1:]...)
}

func FuzzTypedJSON(f *testing.F) {
	for _, b := range trickyBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"cstId":7603,"data":0.4117,"description":"","id":"684572e0-12c4-11e5-8507-fa163ed4cf14","quality":0,"serverTimestamp":1434307047694,"streamId":"test","streamUnits":"","timestamp":1434307047694}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range typedCases {
			checkSame(t, c, body)
		}
		checkRecordSame(t, body)
		checkZeroOnError(t, body)
	})
}

// checkZeroOnError fails t unless every accessor that fails on body
// returns the zero value with its error.
func checkZeroOnError(t *testing.T, body []byte) {
	t.Helper()
	for name, acc := range accessors {
		if v, err := acc(jsonEvent(name, string(body))); err != nil && !reflect.ValueOf(v).IsZero() {
			t.Errorf("%s %q: %+v returned with %v", name, body, v, err)
		}
	}
}

// A Record holds what encoding/json puts in a map of Values, in order.
func checkRecordSame(t *testing.T, body []byte) {
	t.Helper()
	var rec Record
	fe := rec.UnmarshalJSON(body)
	var m map[string]Value
	se := json.Unmarshal(body, &m)
	if errors.Is(fe, ErrRecordTooLarge) {
		return
	}
	if (fe == nil) != (se == nil) {
		t.Fatalf("Record %q:\n fast err: %v\n encoding/json err: %v", body, fe, se)
	}
	if fe != nil {
		return
	}
	names := map[string]bool{}
	for _, f := range rec {
		names[f.Name] = true
	}
	if len(names) != len(m) {
		t.Fatalf("Record %q: %d names, encoding/json %d", body, len(names), len(m))
	}
	for k, v := range m {
		if got, ok := rec.Get(k); !ok || got != v {
			t.Fatalf("Record %q: %q = %q, encoding/json %q", body, k, got, v)
		}
	}
}

func TestRecordMatchesEncodingJSON(t *testing.T) {
	for _, b := range trickyBodies {
		checkRecordSame(t, []byte(b))
	}
	r := rand.New(rand.NewPCG(3, 4))
	fields := []jsonMember{{name: "jobId", typ: reflect.TypeFor[Value]()}, {name: "status", typ: reflect.TypeFor[Value]()}}
	for range 2000 {
		b := randomObject(r, fields, 0)
		if r.IntN(3) == 0 {
			b = mutate(r, b)
		}
		checkRecordSame(t, b)
	}
}
