package stream

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestIdentityFormula: Identity is the documented formula, so that a
// persisted identity (a message id in a log) never changes.
func TestIdentityFormula(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
	ev := Event{Topic: "7/DeviceCore/1/0", Resource: "DeviceCore", Operation: "UPDATE", Timestamp: ts, Body: []byte(`{"id":"x"}`)}
	var canon []byte
	for _, f := range []string{ev.Topic, ev.Operation, string(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(ts.Unix())), 6e6)), ev.Resource, string(ev.Body)} {
		canon = binary.AppendUvarint(canon, uint64(len(f)))
		canon = append(canon, f...)
	}
	sum := sha256.Sum256(canon)
	if want := "ev-" + hex.EncodeToString(sum[:16]); ev.Identity() != want {
		t.Errorf("Identity = %q, want %q", ev.Identity(), want)
	}
	if raw := (Event{Raw: true, Format: FormatJSON, Body: []byte(`{"t":21}`)}); raw.Identity() != "" {
		t.Errorf("raw Identity = %q, want none", raw.Identity())
	}
}

func TestIdentityIgnoresReplayMonitorAndFormat(t *testing.T) {
	ev := Event{Topic: "7/DeviceCore/1/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC), Body: []byte(`{"a":1}`), MonitorID: 1, Format: FormatJSON}
	again := ev
	again.Replay, again.MonitorID, again.Format = true, 2, FormatUnknown
	again.Timestamp = ev.Timestamp.In(time.FixedZone("X", 3600)) // same instant
	if ev.Identity() != again.Identity() {
		t.Errorf("replay from another monitor: %q != %q", again.Identity(), ev.Identity())
	}
}

// TestIdentityDistinguishes: every field that makes two events different
// makes their identities different, in Identity and in the window.
func TestIdentityDistinguishes(t *testing.T) {
	base := Event{Topic: "7/DataPoint/d/s", Resource: "DataPoint", Operation: "INSERTION",
		Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Body: []byte(`{"id":"a","data":1}`)}
	variants := map[string]func(e *Event){
		"topic":            func(e *Event) { e.Topic = "7/DataPoint/d/t" },
		"UPDATE same id":   func(e *Event) { e.Operation = "UPDATE" },
		"DELETE same id":   func(e *Event) { e.Operation = "DELETE" },
		"timestamp":        func(e *Event) { e.Timestamp = e.Timestamp.Add(time.Millisecond) },
		"no time":          func(e *Event) { e.Timestamp = time.Time{} },
		"resource":         func(e *Event) { e.Resource = "DataStream" },
		"data, same id":    func(e *Event) { e.Body = []byte(`{"id":"a","data":2}`) },
		"null id":          func(e *Event) { e.Body = []byte(`{"id":null,"data":1}`) },
		"null id, data 2":  func(e *Event) { e.Body = []byte(`{"id":null,"data":2}`) },
		"no id":            func(e *Event) { e.Body = []byte(`{"data":1}`) },
		"no id, data 2":    func(e *Event) { e.Body = []byte(`{"data":2}`) },
		"shifted":          func(e *Event) { e.Topic, e.Operation = "7/DataPoint/d/sI", "NSERTION" },
		"invalid":          func(e *Event) { e.Err = &EventError{Field: "timestamp", Reason: "not an RFC 3339 time"} },
		"invalid, another": func(e *Event) { e.Err = &EventError{Field: "body", Reason: "x"} },
	}
	d := newDedup(10)
	ids := map[string]string{base.Identity(): "base"}
	keys := map[uint64]string{d.key(&base): "base"}
	for name, change := range variants {
		ev := base
		change(&ev)
		id, key := ev.Identity(), d.key(&ev)
		if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share identity %q", name, other, id)
		}
		if other, dup := keys[key]; dup {
			t.Errorf("%s and %s share a window identity", name, other)
		}
		if !strings.HasPrefix(id, "ev-") || len(id) != 35 {
			t.Errorf("%s: identity %q", name, id)
		}
		ids[id], keys[key] = name, name
	}
}

// TestIdentityOfSplitEvents: the events of one document, and the same
// document sent again as a replay, have the same identities; JSON
// whitespace is part of the body as sent.
func TestIdentityOfSplitEvents(t *testing.T) {
	msg := jsonMsg("7/DataPoint/d/s", "INSERTION", "2024-01-02T03:04:05.006Z", "DataPoint", `{"id":"a","data":1}`, false)
	replay := jsonMsg("7/DataPoint/d/s", "INSERTION", "2024-01-02T03:04:05.006Z", "DataPoint", `{"id":"a","data":1}`, true)
	a := split(t, jsonDoc(msg), protocol.FormatJSON)[0]
	b := split(t, jsonDoc(replay), protocol.FormatJSON)[0]
	if a.Identity() != b.Identity() || !b.Replay {
		t.Errorf("a replay has another identity: %q, %q", a.Identity(), b.Identity())
	}
	spaced := jsonMsg("7/DataPoint/d/s", "INSERTION", "2024-01-02T03:04:05.006Z", "DataPoint", `{"id":"a", "data":1}`, false)
	if c := split(t, jsonDoc(spaced), protocol.FormatJSON)[0]; c.Identity() == a.Identity() {
		t.Error("whitespace inside the body is normalised away")
	}
}
