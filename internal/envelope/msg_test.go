package envelope

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

func TestParseMsg(t *testing.T) {
	ev, err := ParseMsg([]byte(`{"id":"rec-1","topic":"7/DataPoint/d/s","operation":"INSERTION","timestamp":1714564800000,"DataPoint":{"id":"x"},"server_timestamp":"y"}`), Limits{})
	if err != nil || ev.Resource != "DataPoint" || string(ev.Body) != `{"id":"x"}` || ev.Err != nil ||
		!ev.Timestamp.Equal(time.UnixMilli(1714564800000)) || ev.Operation != "INSERTION" {
		t.Errorf("ParseMsg = %+v, %v", ev, err)
	}
	if _, err := ParseMsg([]byte(`{"topic":"x"} {}`), Limits{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("two values: %v", err)
	}
	if ev, err := ParseMsg([]byte(`"s"`), Limits{}); err != nil || fieldOf(ev) != FieldMsg {
		t.Errorf("a string: %+v, %v", ev, err)
	}
}

// TestParseRecordOwnMembers: the record's own members are reported with
// their values and never taken for the resource; the event is the one
// Split gives for the same Msg without them.
func TestParseRecordOwnMembers(t *testing.T) {
	own := func(seen map[string]string) func(k, v []byte) bool {
		return func(k, v []byte) bool {
			seen[string(k)] = string(v)
			return string(k) == "id" || string(k) == "uuid"
		}
	}
	cases := []struct {
		name, rec, msg string // msg: the same Msg as a push document holds it
		field          string // the invalid field, "" for a valid event
	}{
		// Without own members: "value" would share the place of the
		// resource with "id" and "uuid".
		{"scalar resource", `{"id":"17","uuid":"u","topic":"1/Reading/x","operation":"insertion","value":21.5}`,
			`{"topic":"1/Reading/x","operation":"insertion","value":21.5}`, ""},
		{"object resource", `{ "id" : 17 , "topic":"1/DataPoint/x","timestamp":"2025-01-01T00:00:00Z","group":"*","replay":true,"DataPoint":{"id":"a"}}`,
			`{"topic":"1/DataPoint/x","timestamp":"2025-01-01T00:00:00Z","group":"*","replay":true,"DataPoint":{"id":"a"}}`, ""},
		{"own only", `{"id":"17","topic":"1/DataPoint/x"}`, `{"topic":"1/DataPoint/x"}`, FieldResource},
		{"two candidates", `{"id":"17","topic":"1/X/y","a":{},"b":{}}`, `{"topic":"1/X/y","a":{},"b":{}}`, FieldResource},
		{"bad body", `{"id":"17","topic":"1/DataPoint/x","DataPoint":{"a":tru}}`, `{"topic":"1/DataPoint/x","DataPoint":{"a":tru}}`, FieldBody},
		{"bad own member", `{"id":tru,"topic":"1/DataPoint/x","DataPoint":{}}`, ``, FieldMsg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := map[string]string{}
			ev, err := ParseRecord([]byte(c.rec), Limits{}, own(seen))
			if err != nil || fieldOf(ev) != c.field {
				t.Fatalf("ParseRecord = %+v, %v; want invalid field %q", ev, err, c.field)
			}
			if c.field == "" && (seen["id"] == "" || seen["topic"] == "") {
				t.Errorf("members reported: %q", seen)
			}
			if c.msg == "" {
				return
			}
			var want Event
			var s Splitter
			if _, err := s.Split(context.Background(), []byte(`{"Document":{"Msg":`+c.msg+`}}`), JSON, func(e Event) { want = e }); err != nil {
				t.Fatal(err)
			}
			if ev.Topic != want.Topic || ev.Resource != want.Resource || ev.Operation != want.Operation ||
				!ev.Timestamp.Equal(want.Timestamp) || ev.Group != want.Group || ev.Replay != want.Replay ||
				(c.field == "") != (want.Err == nil) || c.field == "" && string(ev.Body) != string(want.Body) {
				t.Errorf("record event %+v %s\n push event %+v %s", ev, ev.Body, want, want.Body)
			}
		})
	}
	seen := map[string]string{}
	if _, err := ParseRecord([]byte(`{"id" : "a\"b" ,"topic":"1/A/b","A":{ }}`), Limits{}, own(seen)); err != nil ||
		seen["id"] != `"a\"b"` || seen["A"] != `{ }` {
		t.Errorf("values %q, %v", seen, err)
	}
}

func TestParseMsgs(t *testing.T) {
	msg := func(i int) string { return fmt.Sprintf(`{"topic":"1/DataPoint/%d","DataPoint":{"id":%d}}`, i, i) }
	for _, c := range []struct {
		v       string
		events  int
		invalid int
		err     error
	}{
		{msg(1), 1, 0, nil},
		{"[" + msg(1) + "," + msg(2) + ",7," + msg(3) + "]", 4, 1, nil},
		{"[]", 0, 0, nil},
		{"null", 0, 0, nil},
		{`"x"`, 0, 0, ErrNotEnvelope},
		{`[` + msg(1) + `] 1`, 0, 0, ErrMalformed},
		{`[` + msg(1), 0, 0, ErrMalformed},
	} {
		var evs []Event
		invalid, err := ParseMsgs(context.Background(), []byte(c.v), Limits{}, func(e Event) { evs = append(evs, e) })
		if !errors.Is(err, c.err) || err == nil && (len(evs) != c.events || invalid != c.invalid) {
			t.Errorf("ParseMsgs(%s) = %d events (%d invalid), %v", c.v, len(evs), invalid, err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Err == nil {
				if n++; ev.Topic != fmt.Sprintf("1/DataPoint/%d", n) || string(ev.Body) != fmt.Sprintf(`{"id":%d}`, n) {
					t.Errorf("valid event %d: %+v", n, ev)
				}
			}
		}
	}
	var le *xmlguard.LimitError
	if _, err := ParseMsgs(context.Background(), []byte(`[[[[[1]]]]]`), Limits{MaxDepth: 3}, func(Event) {}); !errors.As(err, &le) {
		t.Errorf("deep: %v", err)
	}
}
