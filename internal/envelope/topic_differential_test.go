package envelope

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestTopicPositionDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []string{`{}`, `1`, `"s"`, `{"id":"x"}`, `{"R":{"a":1}}`, `[{"R":1}]`, `null`, `"1/R/1"`}
	keys := []string{`"R"`, `"R"`, `"S"`, `"R\u0041"`, `"\u0052"`, `"x"`, `"y"`, `"z"`, `"id"`, `"\u0069d"`, `"\u0052\u0041"`, `"r"`}
	for it := range 20000 {
		n := rng.IntN(30)
		if it%500 == 0 {
			n = 4096
		}
		members := randomMembers(rng, n, keys, values)
		for i, m := range members {
			if k, _, _ := strings.Cut(m, ":"); strings.Contains(k, "opic") {
				members[i] = k + ":" + []string{`"1/R/1"`, `"1/S/1"`, `1`}[rng.IntN(3)]
			}
		}
		checkTopicMove(t, rng, `"topic":"1/R/1"`, members)
	}
}

// randomMembers returns n Msg members with keys and values drawn from
// keys and values; a third of the keys are made unique ("m<i>").
func randomMembers(rng *rand.Rand, n int, keys, values []string) []string {
	members := make([]string, n)
	for i := range members {
		k := keys[rng.IntN(len(keys))]
		if rng.IntN(3) == 0 {
			k = `"m` + strconv.Itoa(i) + `"`
		}
		members[i] = k + ":" + values[rng.IntN(len(values))]
	}
	return members
}

// checkTopicMove fails t unless the Msg of topic and members splits into
// the same event with topic first and moved to a random place among the
// members: its resource, its body and whether (and in which field) it is
// invalid.
func checkTopicMove(t *testing.T, rng *rand.Rand, topic string, members []string) {
	t.Helper()
	first := mustSplit(t, `{"Document":{"Msg":{`+strings.Join(append([]string{topic}, members...), ",")+`}}}`, JSON)[0]
	at := rng.IntN(len(members) + 1)
	moved := append(append(append([]string{}, members[:at]...), topic), members[at:]...)
	doc := `{"Document":{"Msg":{` + strings.Join(moved, ",") + `}}}`
	e := mustSplit(t, doc, JSON)[0]
	if e.Resource != first.Resource || string(e.Body) != string(first.Body) && first.Resource != "" || fieldOf(e) != fieldOf(first) {
		if len(doc) > 2000 {
			doc = doc[:2000]
		}
		t.Fatalf("%q:\n topic at %d: %q %s %v\n topic first: %q %s %v", doc, at, e.Resource, e.Body, e.Err, first.Resource, first.Body, first.Err)
	}
}

func TestRecordTopicPositionDifferential(t *testing.T) {
	own := func(key, _ []byte) bool { return string(key) == "id" || string(key) == "R2" }
	rng := rand.New(rand.NewPCG(5, 6))
	values := []string{`{}`, `1`, `"s"`, `{"id":"x"}`, `{"R":{"a":1}}`, `null`}
	keys := []string{`"R"`, `"R"`, `"S"`, `"\u0052"`, `"x"`, `"id"`, `"\u0069d"`, `"R2"`, `"R\u0032"`}
	for range 20000 {
		n := rng.IntN(24)
		members := randomMembers(rng, n, keys, values)
		nOwn := 0
		for _, m := range members {
			if k, _, _ := strings.Cut(m, ":"); strings.Contains(k, "d") || strings.Contains(k, "2") {
				nOwn++
			}
		}
		if nOwn > 8 {
			continue
		}
		for _, name := range []string{"R", "R2", "id"} {
			topic := `"topic":"1/` + name + `/1"`
			first, err1 := ParseRecord([]byte(`{`+strings.Join(append([]string{topic}, members...), ",")+`}`), Limits{}, own)
			at := rng.IntN(n + 1)
			moved := append(append(append([]string{}, members[:at]...), topic), members[at:]...)
			doc := `{` + strings.Join(moved, ",") + `}`
			e, err2 := ParseRecord([]byte(doc), Limits{}, own)
			if (err1 == nil) != (err2 == nil) || e.Resource != first.Resource || string(e.Body) != string(first.Body) && first.Resource != "" || fieldOf(e) != fieldOf(first) {
				t.Fatalf("%s:\n topic at %d: %q %s %v %v\n topic first: %q %s %v %v", doc, at, e.Resource, e.Body, e.Err, err2, first.Resource, first.Body, first.Err, err1)
			}
		}
	}
}

func TestTopicPositionOddKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	values := []string{`{}`, `1`, `{"id":"x"}`}
	keys := []string{`"\ud800"`, `"\ufffd"`, "\"\xff\"", `"\uFFFD"`, "\"\xef\xbf\xbd\"", `"x"`, `"\ud800\udc00"`, "\"\xf0\x90\x80\x80\""}
	for _, topic := range []string{`"topic":"1/\ufffd/1"`, "\"topic\":\"1/\xff/1\"", `"topic":"1/\ud800/1"`, `"topic":"1/\ud800\udc00/1"`} {
		for range 3000 {
			checkTopicMove(t, rng, topic, randomMembers(rng, rng.IntN(20), keys, values))
		}
	}
}
