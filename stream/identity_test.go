package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

func TestIdentityDataPointIDAcrossFormats(t *testing.T) {
	j := split(t, `{"Document":{"Msg":{"timestamp":"2024-01-02T03:04:05.006Z","topic":"7/DataPoint/d/s","operation":"INSERTION","DataPoint":{"data":1,"id":"4b2f-11ef:a.b_c"}}}}`, protocol.FormatJSON)
	x := split(t, `<Document><Msg topic="7/DataPoint/d/s" operation="INSERTION" timestamp="2024-01-02T03:04:05.006Z" replay="true"><DataPoint><data>1</data><id>4b2f-11ef:a.b_c</id></DataPoint></Msg></Document>`, protocol.FormatXML)
	if got := j[0].Identity(); got != "dp-4b2f-11ef:a.b_c" {
		t.Errorf("JSON DataPoint identity = %q", got)
	}
	if j[0].Identity() != x[0].Identity() {
		t.Errorf("JSON %q and XML %q forms of one DataPoint differ", j[0].Identity(), x[0].Identity())
	}
}

func TestIdentityIgnoresReplayAndMonitor(t *testing.T) {
	ev := Event{Topic: "7/DeviceCore/1/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC), Body: []byte(`{"a":1}`), MonitorID: 1}
	again := ev
	again.Replay, again.MonitorID = true, 2
	again.Timestamp = ev.Timestamp.In(time.FixedZone("X", 3600)) // same instant
	if ev.Identity() != again.Identity() {
		t.Errorf("replay from another monitor: %q != %q", again.Identity(), ev.Identity())
	}
}

func TestIdentityHashFormula(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 6e6, time.UTC)
	ev := Event{Topic: "7/DeviceCore/1/0", Resource: "DeviceCore", Operation: "UPDATE", Timestamp: ts, Body: []byte(`{"id":"x"}`)}
	sum := sha256.Sum256([]byte("7/DeviceCore/1/0\x00UPDATE\x00" + ts.Format(time.RFC3339Nano) + "\x00" + `{"id":"x"}`))
	if want := "ev-" + hex.EncodeToString(sum[:16]); ev.Identity() != want {
		t.Errorf("Identity = %q, want %q (the documented formula: a persisted id must not change)", ev.Identity(), want)
	}
	raw := Event{Raw: true, Body: []byte("<x/>")}
	sum = sha256.Sum256([]byte("\x00\x00\x00<x/>"))
	if want := "ev-" + hex.EncodeToString(sum[:16]); raw.Identity() != want {
		t.Errorf("raw Identity = %q, want %q", raw.Identity(), want)
	}
}

func TestIdentityDistinguishes(t *testing.T) {
	base := Event{Topic: "7/DeviceCore/1/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Body: []byte(`{"a":1}`)}
	variants := map[string]func(e *Event){
		"topic":     func(e *Event) { e.Topic = "7/DeviceCore/2/0" },
		"operation": func(e *Event) { e.Operation = "DELETE" },
		"timestamp": func(e *Event) { e.Timestamp = e.Timestamp.Add(time.Millisecond) },
		"no time":   func(e *Event) { e.Timestamp = time.Time{} },
		"body":      func(e *Event) { e.Body = []byte(`{"a":2}`) },
		// The separators keep fields from running into each other.
		"shifted": func(e *Event) { e.Topic, e.Operation = "7/DeviceCore/1/0U", "PDATE" },
	}
	seen := map[string]string{base.Identity(): "base"}
	for name, change := range variants {
		ev := base
		change(&ev)
		id := ev.Identity()
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share identity %q", name, other, id)
		}
		seen[id] = name
	}
}

func TestIdentityUnusualDataPointIDs(t *testing.T) {
	long := strings.Repeat("a", maxPlainID+1)
	cases := []struct {
		name, body string
		plain      string // "" when the id must be hashed
	}{
		{"uuid", `{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}`, "dp-3fa85f64-5717-4562-b3fc-2c963f66afa6"},
		{"longest plain", `{"id":"` + long[:maxPlainID] + `"}`, "dp-" + long[:maxPlainID]},
		{"too long", `{"id":"` + long + `"}`, ""},
		{"space", `{"id":"a b"}`, ""},
		{"newline escape", `{"id":"a\nb"}`, ""},
		{"unicode", `{"id":"é"}`, ""},
		{"number", `{"id":42}`, "dp-42"},
		{"object", `{"id":{"x":1}}`, ""},
	}
	seen := map[string]string{}
	for _, c := range cases {
		ev := Event{Topic: "7/DataPoint/s", Resource: "DataPoint", Operation: "INSERTION", Body: []byte(c.body)}
		id := ev.Identity()
		if c.plain != "" && id != c.plain {
			t.Errorf("%s: %q, want %q", c.name, id, c.plain)
		}
		if c.plain == "" && (!strings.HasPrefix(id, "dp-") || len(id) != 3+32) {
			t.Errorf("%s: %q, want dp- and 32 hex digits", c.name, id)
		}
		if len(id) > 131 {
			t.Errorf("%s: %d bytes", c.name, len(id))
		}
		for _, r := range id {
			if r < 0x21 || r > 0x7e {
				t.Errorf("%s: %q is not printable ASCII", c.name, id)
				break
			}
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share %q", c.name, other, id)
		}
		seen[id] = c.name
	}
	// A DataPoint without an id falls back to the hash of its fields.
	noID := Event{Topic: "7/DataPoint/s", Resource: "DataPoint", Body: []byte(`{"data":1}`)}
	if id := noID.Identity(); !strings.HasPrefix(id, "ev-") {
		t.Errorf("DataPoint without id: %q", id)
	}
}
