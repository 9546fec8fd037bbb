package envelope

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTopicAfterManyMembers: a Msg whose topic comes after more than
// maxMembers other members is read as the same Msg with its topic first
// is: the resource the topic names is found wherever it stands, and a
// repeat of it beyond the members kept still makes the Msg invalid
// (encoding/json would keep the last, the event the first).
func TestTopicAfterManyMembers(t *testing.T) {
	var pad strings.Builder
	for i := range 8 {
		pad.WriteString(`"u` + string(rune('a'+i)) + `":{},`)
	}
	env := `"operation":"CREATE","timestamp":"2020-01-01T00:00:00Z"`
	cases := []struct {
		name, msg, field, body string
	}{
		{"resource after eight others, topic last",
			`{` + pad.String() + `"DataPoint":{"id":"a"},` + env + `,"topic":"1/DataPoint/x"}`, "", `{"id":"a"}`},
		{"resource first, repeated after eight others, topic last",
			`{"DataPoint":{"id":"a"},` + pad.String() + `"DataPoint":{"id":"b"},` + env + `,"topic":"1/DataPoint/x"}`, FieldResource, `{"id":"a"}`},
	}
	for _, c := range cases {
		for _, topicFirst := range []bool{false, true} {
			msg := c.msg
			if topicFirst {
				msg = `{"topic":"1/DataPoint/x",` + strings.Replace(msg[1:], `,"topic":"1/DataPoint/x"`, "", 1)
			}
			e := mustSplit(t, `{"Document":{"Msg":`+msg+`}}`, JSON)[0]
			if e.Resource != "DataPoint" || string(e.Body) != c.body || fieldOf(e) != c.field {
				t.Errorf("%s (topic first %v): resource %q body %s err %v; want body %s, invalid field %q",
					c.name, topicFirst, e.Resource, e.Body, e.Err, c.body, c.field)
			}
			// A history record is read by the same parser.
			var got Event
			if _, err := ParseMsgs(context.Background(), []byte(msg), Limits{}, func(ev Event) { got = ev }); err != nil {
				t.Fatal(err)
			}
			if string(got.Body) != c.body || fieldOf(got) != c.field {
				t.Errorf("%s (topic first %v), ParseMsgs: body %s err %v", c.name, topicFirst, got.Body, got.Err)
			}
		}
	}
}

// TestTopicAfterManyMembersOfARecord: the same for a history record,
// whose own members are never its resource.
func TestTopicAfterManyMembersOfARecord(t *testing.T) {
	own := func(key, _ []byte) bool { return string(key) == "id" }
	var pad strings.Builder
	for i := range 8 {
		pad.WriteString(`"u` + string(rune('a'+i)) + `":{},`)
	}
	ev, err := ParseRecord([]byte(`{"id":{"r":1},`+pad.String()+`"DataPoint":{"id":"a"},"topic":"1/DataPoint/x"}`), Limits{}, own)
	if err != nil || ev.Resource != "DataPoint" || string(ev.Body) != `{"id":"a"}` || ev.Err != nil {
		t.Errorf("record: %+v %v", ev, err)
	}
	// A topic naming the record's own member: never the resource.
	ev, err = ParseRecord([]byte(`{`+pad.String()+`"id":{"r":1},"topic":"1/id/x"}`), Limits{}, own)
	if err != nil || fieldOf(ev) != FieldResource {
		t.Errorf("own member named by the topic: %+v %v", ev, err)
	}
}

// TestTopicPositionDoesNotMatter: wherever the topic stands among a Msg's
// members, however many there are, the event is the same: its resource,
// its body and whether (and in which field) it is invalid.
func TestTopicPositionDoesNotMatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []string{`{}`, `1`, `"s"`, `{"id":"x"}`, `[1]`, `null`}
	keys := []string{`"R"`, `"R"`, `"S"`, `"R\u0041"`, `"\u0052"`, `"x"`, `"y"`, `"z"`, `"w"`}
	for range 3000 {
		checkTopicMove(t, rng, `"topic":"1/R/1"`, randomMembers(rng, rng.IntN(20), keys, values))
	}
}
