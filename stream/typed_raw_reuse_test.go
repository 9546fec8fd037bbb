package stream

import (
	"encoding/json"
	"testing"
)

// TestRawUnmarshalLeavesTheBodyAlone: a Raw field decoded by a typed
// accessor shares the event's Body, which is read-only (other copies of
// the Event, and the events of the same document, read it). Decoding JSON
// into the same struct again, as a consumer reusing a variable does, must
// give the field its own copy instead of writing into the Body. Before,
// Raw.UnmarshalJSON appended to the shared slice, whose capacity is the
// old value's length, so a shorter new value was written over the Body.
func TestRawUnmarshalLeavesTheBodyAlone(t *testing.T) {
	const body = `{"almId":1,"almScopeConfig":{"ScopeConfig":{"Scope":"Device","ResourceId":"00000000-00000000-00409DFF-FF000001"}}}`
	ev := jsonEvent("Alarm", body)
	a, err := ev.Alarm()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"almScopeConfig":{"ScopeConfig":{"Scope":"Global"}}}`), &a); err != nil {
		t.Fatal(err)
	}
	if string(a.ScopeConfig) != `{"ScopeConfig":{"Scope":"Global"}}` {
		t.Errorf("ScopeConfig = %s", a.ScopeConfig)
	}
	if string(ev.Body) != body {
		t.Errorf("the event's Body was written to:\n got  %s\n want %s", ev.Body, body)
	}
	again, err := ev.Alarm()
	if err != nil || string(again.ScopeConfig) != `{"ScopeConfig":{"Scope":"Device","ResourceId":"00000000-00000000-00409DFF-FF000001"}}` {
		t.Errorf("the event decodes again as ScopeConfig %s, %v", again.ScopeConfig, err)
	}

	// The same through a V1Device's geoposition and an AlarmStatus's payload.
	dev := jsonEvent("devices", `{"id":"d","geoposition":{"type":"Point","coordinates":[-93.4,44.9]}}`)
	v, _ := dev.V1Device()
	if err := json.Unmarshal([]byte(`{"geoposition":[0,0]}`), &v); err != nil {
		t.Fatal(err)
	}
	if string(dev.Body) != `{"id":"d","geoposition":{"type":"Point","coordinates":[-93.4,44.9]}}` {
		t.Errorf("devices Body written to: %s", dev.Body)
	}
}
