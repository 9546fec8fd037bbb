package envelope

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// split splits doc and returns copies of its events and the error.
func split(t testing.TB, doc string, f Format) ([]Event, error) {
	t.Helper()
	var s Splitter
	var evs []Event
	_, err := s.Split(context.Background(), []byte(doc), f, func(ev Event) { evs = append(evs, ev) })
	return evs, err
}

func mustSplit(t testing.TB, doc string, f Format) []Event {
	t.Helper()
	evs, err := split(t, doc, f)
	if err != nil {
		t.Fatalf("Split(%s): %v", doc, err)
	}
	return evs
}

var cmpEvents = cmp.Options{cmpopts.EquateEmpty(), cmp.Transformer("body", func(b []byte) string { return string(b) })}

// fieldOf returns the Field of an event's *EventError, "" for none.
func fieldOf(ev Event) string {
	var ee *EventError
	if errors.As(ev.Err, &ee) {
		return ee.Field
	}
	return ""
}

func TestSplitJSONObjectAndArray(t *testing.T) {
	one := mustSplit(t, `{"Document":{"Msg":{"timestamp":"2012-04-17T14:14:07.028Z","topic":"1654/DeviceCore/6283/0","operation":"UPDATE","DeviceCore":{"id":{"devId":6283},"s":"a\"}b"}}}}`, JSON)
	want := []Event{{Topic: "1654/DeviceCore/6283/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2012, 4, 17, 14, 14, 7, 28e6, time.UTC), Body: []byte(`{"id":{"devId":6283},"s":"a\"}b"}`)}}
	if d := cmp.Diff(want, one, cmpEvents); d != "" {
		t.Errorf("object Msg (-want +got):\n%s", d)
	}
	many := mustSplit(t, ` { "Document" : { "Msg" : [ {"topic":"3/DataPoint/a","operation":"insertion","timestamp":"2015-06-14T18:37:27Z","replay":true,"group":"*","DataPoint":[1, 2.5e3, null, true]} ,
		{"topic":"3/FileData/x\u002fy","operation":"CREATE","timestamp":"2015-06-14T18:37:27.123456789Z","FileData":"s" } ] } } `, JSON)
	if len(many) != 2 {
		t.Fatalf("%d events", len(many))
	}
	if e := many[0]; e.Operation != "INSERTION" || !e.Replay || e.Group != "*" || string(e.Body) != `[1, 2.5e3, null, true]` || e.Resource != "DataPoint" || e.Err != nil {
		t.Errorf("first = %+v", e)
	}
	if e := many[1]; e.Topic != "3/FileData/x/y" || e.Timestamp.Nanosecond() != 123456789 || string(e.Body) != `"s"` || e.Err != nil {
		t.Errorf("second = %+v (%v)", e, e.Timestamp)
	}
}

func TestSplitJSONDocumentForms(t *testing.T) {
	for _, doc := range []string{`{"Document":null}`, `{"Document":{}}`, `{"Document":{"Msg":null}}`, `{"Document":{"Msg":[]}}`, ` {"x":1,"Document":null} `, ``, " \n\t "} {
		if evs, err := split(t, doc, JSON); err != nil || len(evs) != 0 {
			t.Errorf("keep-alive %s: %d events, %v", doc, len(evs), err)
		}
	}
	for _, doc := range []string{
		`{"temperature": 21.5, "device": "x"}`, // template output
		`{"Document":{"x":1}}`,                 // a Document without Msg
		`{"Document":{"Msg":42}}`,
		`{"Document":"text"}`,
		`[1,2]`, `"s"`,
	} {
		if _, err := split(t, doc, JSON); err != ErrNotEnvelope {
			t.Errorf("%q: err = %v, want ErrNotEnvelope", doc, err)
		}
	}
	for _, doc := range []string{
		`{"Document":{"Msg":{"topic":"1/A/1","operation":"UPDATE"`, // truncated
		`{"Document":{"Msg":{}}} trailing`,
		`{"Document":{"Msg":[{"topic":"1/A/1","A":{}},]}}`,
		`{"Document":{"Msg":[{"topic":"1/A/1","A":{"s":"unterminated}}]}}`,
		`{"Document":{"Msg":{"topic":"1/A/1","A":{}}},"x":tru}`,
	} {
		if _, err := split(t, doc, JSON); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", doc, err)
		}
	}
}

// TestUnknownMsgMembersIgnored: a member beside the envelope fields and
// the resource (a server adding a field) leaves the event typed.
func TestUnknownMsgMembersIgnored(t *testing.T) {
	evs := mustSplit(t, `{"Document":{"Msg":[
		{"customer_id":1,"topic":"7/DataPoint/d/s","operation":"INSERTION","timestamp":"2024-01-02T03:04:05Z","DataPoint":{"id":"a","data":1},"extra":{"x":[1]}},
		{"topic":"7/DeviceCore/1/0","operation":"UPDATE","timestamp":"2024-01-02T03:04:05Z","DeviceCore":{"id":{"devId":1}},"customer_id":1,"new_field":"v"}]}}`, JSON)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	if e := evs[0]; e.Resource != "DataPoint" || string(e.Body) != `{"id":"a","data":1}` || e.Err != nil {
		t.Errorf("first = %+v", e)
	}
	if e := evs[1]; e.Resource != "DeviceCore" || string(e.Body) != `{"id":{"devId":1}}` || e.Err != nil {
		t.Errorf("second = %+v", e)
	}
	// The resource not named by the topic: the one object member.
	e := mustSplit(t, `{"Document":{"Msg":{"topic":"00000/devices/x","n":1,"device":{"id":"x"},"s":"t"}}}`, JSON)[0]
	if e.Resource != "device" || string(e.Body) != `{"id":"x"}` || e.Err != nil {
		t.Errorf("one object member = %+v", e)
	}
	// Two object members, neither named by the topic: the resource cannot
	// be told; the event is invalid, its body the whole Msg.
	e = mustSplit(t, `{"Document":{"Msg":{"topic":"1/A/1","B":{},"C":{}}}}`, JSON)[0]
	if fieldOf(e) != FieldResource || string(e.Body) != `{"topic":"1/A/1","B":{},"C":{}}` {
		t.Errorf("two candidates = %+v", e)
	}
	// Many members: the one the topic names is found even after eight others.
	var b strings.Builder
	b.WriteString(`{"Document":{"Msg":{"topic":"1/R/1"`)
	for i := range 12 {
		b.WriteString(`,"m` + string(rune('a'+i)) + `":{}`)
	}
	b.WriteString(`,"R":{"r":1}}}}`)
	e = mustSplit(t, b.String(), JSON)[0]
	if e.Resource != "R" || string(e.Body) != `{"r":1}` || e.Err != nil {
		t.Errorf("resource after 12 members = %+v", e)
	}
}

// TestInvalidMsgDoesNotSpoilTheBlock: one odd or invalid Msg in an array
// is one invalid event; the others are delivered as they are.
func TestInvalidMsgDoesNotSpoilTheBlock(t *testing.T) {
	good := `{"topic":"1/DataPoint/s","operation":"INSERTION","timestamp":"2024-01-02T03:04:05Z","DataPoint":{"id":"g"}}`
	cases := []struct {
		name, msg, field, body string
	}{
		{"invalid body", `{"topic":"1/DataPoint/s","timestamp":"2024-01-02T03:04:05Z","DataPoint":{"id":"a","data":tru,"n":01}}`, FieldBody, `{"id":"a","data":tru,"n":01}`},
		{"leading zero", `{"topic":"1/DataPoint/s","DataPoint":{"n":01}}`, FieldBody, `{"n":01}`},
		{"bad escape", `{"topic":"1/DataPoint/s","DataPoint":{"s":"\x"}}`, FieldBody, `{"s":"\x"}`},
		{"control character", "{\"topic\":\"1/DataPoint/s\",\"DataPoint\":{\"s\":\"a\tb\"}}", FieldBody, "{\"s\":\"a\tb\"}"},
		{"scalar body junk", `{"topic":"1/DataPoint/s","DataPoint":12abc}`, FieldBody, `12abc`},
		{"not an object", `42`, FieldMsg, `42`},
		{"no topic", `{"operation":"UPDATE","DataPoint":{}}`, FieldTopic, `{}`},
		{"topic not a string", `{"topic":7,"DataPoint":{}}`, FieldTopic, `{}`},
		{"timestamp Feb 31", `{"topic":"1/DataPoint/s","timestamp":"2026-02-31T00:00:00Z","DataPoint":{}}`, FieldTimestamp, `{}`},
		{"timestamp second 60", `{"topic":"1/DataPoint/s","timestamp":"2026-02-01T00:00:60Z","DataPoint":{}}`, FieldTimestamp, `{}`},
		{"operation not a string", `{"topic":"1/DataPoint/s","operation":["x"],"DataPoint":{}}`, FieldOperation, `{}`},
		{"invalid ignored member", `{"topic":"1/DataPoint/s","x":[1,,2],"DataPoint":{}}`, FieldMsg, `{}`},
		{"no resource", `{"topic":"1/DataPoint/s"}`, FieldResource, `{"topic":"1/DataPoint/s"}`},
		{"broken object", `{"topic":"1/DataPoint/s" "DataPoint":{}}`, FieldMsg, `{"topic":"1/DataPoint/s" "DataPoint":{}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Splitter
			var evs []Event
			doc := `{"Document":{"Msg":[` + good + `,` + c.msg + `,` + good + `]}}`
			invalid, err := s.Split(context.Background(), []byte(doc), JSON, func(ev Event) { evs = append(evs, ev) })
			if err != nil || len(evs) != 3 || invalid != 1 {
				t.Fatalf("%d events (%d invalid), %v", len(evs), invalid, err)
			}
			for _, i := range []int{0, 2} {
				if evs[i].Err != nil || string(evs[i].Body) != `{"id":"g"}` {
					t.Errorf("neighbour %d = %+v", i, evs[i])
				}
			}
			e := evs[1]
			var ee *EventError
			if !errors.As(e.Err, &ee) || !errors.Is(e.Err, ErrInvalidEvent) || ee.Field != c.field || ee.Index != 1 || string(e.Body) != c.body {
				t.Errorf("odd one = %+v (err %v), want field %s, body %s", e, e.Err, c.field, c.body)
			}
			if ee != nil && (ee.Offset < int64(len(`{"Document":{"Msg":[`+good)) || ee.Offset > int64(len(doc))) {
				t.Errorf("offset %d outside the odd Msg", ee.Offset)
			}
		})
	}
}

func TestSplitXML(t *testing.T) {
	doc := `<?xml version="1.0"?><Document><Msg topic="3/DeviceCore/882/7" operation="update" timestamp="2012-04-17T14:14:07Z" replay="true">
	<DeviceCore><id><devId>882</devId><devVersion>7</devVersion></id><dpConnectionStatus>1</dpConnectionStatus><devMac>a&amp;b</devMac></DeviceCore>
	</Msg><Msg topic="3/DataPoint/d/s" operation="INSERTION" timestamp="2012-04-17T14:14:08.5Z" group="a&amp;b"><DataPoint><id>u-1</id><data>2.5</data></DataPoint></Msg></Document>`
	evs := mustSplit(t, doc, Unknown)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Topic != "3/DeviceCore/882/7" || e.Operation != "UPDATE" || !e.Replay || e.Resource != "DeviceCore" || e.Err != nil ||
		!e.Timestamp.Equal(time.Date(2012, 4, 17, 14, 14, 7, 0, time.UTC)) {
		t.Errorf("XML event = %+v", e)
	}
	if !bytes.HasPrefix(e.Body, []byte("<DeviceCore>")) || !bytes.HasSuffix(e.Body, []byte("</DeviceCore>")) {
		t.Errorf("body = %s", e.Body)
	}
	if e := evs[1]; e.Group != "a&b" || string(e.Body) != `<DataPoint><id>u-1</id><data>2.5</data></DataPoint>` || e.Timestamp.Nanosecond() != 5e8 {
		t.Errorf("second = %+v", e)
	}
	one := mustSplit(t, `<Msg topic="3/X/1" operation="DELETE" timestamp="2012-04-17T14:14:07Z"><X a="1"/></Msg>`, XML)
	if len(one) != 1 || string(one[0].Body) != `<X a="1"/>` || one[0].Operation != "DELETE" {
		t.Errorf("Msg root = %+v", one)
	}
	for _, doc := range []string{`<Document/>`, `<Document></Document>`, `<!-- k --><Document>  </Document>`, ``, " \r\n"} {
		if evs, err := split(t, doc, XML); err != nil || len(evs) != 0 {
			t.Errorf("keep-alive %s: %d events, %v", doc, len(evs), err)
		}
	}
	for _, bad := range []string{`<html><body>template</body></html>`, `plain text`, `<Document><Foo/></Document>`, `<Msg topic="1/X/1"><X/></Msg><Msg topic="1/X/2"><X/></Msg>`} {
		if _, err := split(t, bad, XML); err != ErrNotEnvelope {
			t.Errorf("%q: err = %v, want ErrNotEnvelope", bad, err)
		}
	}
	for _, bad := range []string{`<Document><Msg topic="1/X/1"><X>`, `<Document><Msg topic="1/X/1"><X/></Msg></Documen>`, `<Document><Msg topic="1/X/1"><X a=b/></Msg></Document>`} {
		if _, err := split(t, bad, XML); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestXMLMsgForwardCompatibleAndValidated(t *testing.T) {
	good := `<Msg topic="1/DataPoint/s" operation="INSERTION" timestamp="2024-01-02T03:04:05Z"><DataPoint><id>g</id></DataPoint></Msg>`
	cases := []struct {
		name, msg, field, body string
	}{
		{"unknown child", `<Msg topic="1/DataPoint/s" customer="1"><Extra>1</Extra><DataPoint><id>a</id></DataPoint></Msg>`, "", `<DataPoint><id>a</id></DataPoint>`},
		{"invalid body", `<Msg topic="1/DataPoint/s"><DataPoint><a></b></DataPoint></Msg>`, FieldBody, `<DataPoint><a></b></DataPoint>`},
		{"bad entity", `<Msg topic="1/DataPoint/s"><DataPoint>&bogus;</DataPoint></Msg>`, FieldBody, `<DataPoint>&bogus;</DataPoint>`},
		{"bad timestamp", `<Msg topic="1/DataPoint/s" timestamp="2026-02-31T00:00:00Z"><DataPoint/></Msg>`, FieldTimestamp, `<DataPoint/>`},
		{"no topic", `<Msg><DataPoint/></Msg>`, FieldTopic, `<DataPoint/>`},
		{"no resource", `<Msg topic="1/DataPoint/s"></Msg>`, FieldResource, `<Msg topic="1/DataPoint/s"></Msg>`},
		{"two unnamed children", `<Msg topic="1/X/s"><A/><B/></Msg>`, FieldResource, `<Msg topic="1/X/s"><A/><B/></Msg>`},
		{"end tag mismatch", `<Msg topic="1/DataPoint/s"><DataPoint/></Msgx>`, FieldMsg, `<DataPoint/>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s Splitter
			var evs []Event
			doc := `<Document>` + good + c.msg + good + `</Document>`
			invalid, err := s.Split(context.Background(), []byte(doc), XML, func(ev Event) { evs = append(evs, ev) })
			if err != nil || len(evs) != 3 {
				t.Fatalf("%d events, %v", len(evs), err)
			}
			for _, i := range []int{0, 2} {
				if evs[i].Err != nil || string(evs[i].Body) != `<DataPoint><id>g</id></DataPoint>` {
					t.Errorf("neighbour %d = %+v", i, evs[i])
				}
			}
			if e := evs[1]; fieldOf(e) != c.field || string(e.Body) != c.body || (c.field != "") != (invalid == 1) {
				t.Errorf("odd one = %+v (%d invalid), want field %q, body %s", e, invalid, c.field, c.body)
			}
		})
	}
}

func TestWellformed(t *testing.T) {
	var s Splitter
	for _, c := range []struct {
		doc string
		ok  bool
	}{
		{`{"a":[1,2]}`, true}, {`800`, true}, {`{"a":tru}`, false}, {`{} {}`, false},
		{`<a><b/></a>`, true}, {`<a><b></a>`, false}, {`<!-- only -->`, false}, {`<a>&bogus;</a>`, false},
	} {
		err := s.Wellformed(context.Background(), []byte(c.doc), Unknown)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("Wellformed(%s) = %v", c.doc, err)
		}
	}
}
