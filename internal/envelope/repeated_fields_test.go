package envelope

import (
	"errors"
	"testing"
)

// TestRepeatedFieldsMakeAMsgInvalid: a Msg that names an envelope field
// twice, or holds the resource its topic names twice, is ambiguous (a
// reader keeping the first and encoding/json, which keeps the last,
// disagree on what it says), so it is an invalid event naming the field,
// delivered with Err set, and the Msgs beside it are not affected.
// Before, such a Msg gave a valid event whose parts came from different
// places: the last topic with the resource the first one named.
func TestRepeatedFieldsMakeAMsgInvalid(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		f     Format
		field string
	}{
		{`{"Document":{"Msg":[{"topic":"1/DataPoint/x","DataPoint":{"id":"a"},"topic":"1/DeviceCore/y","DeviceCore":{"devMac":"m"}},{"topic":"1/A/1","A":1}]}}`, JSON, FieldTopic},
		{`{"Document":{"Msg":[{"topic":"1/A/1","operation":"INSERTION","operation":"DELETE","A":1},{"topic":"1/A/1","A":1}]}}`, JSON, FieldOperation},
		{`{"Document":{"Msg":[{"topic":"1/A/1","timestamp":"2025-01-01T00:00:00Z","A":1,"timestamp":"2026-01-01T00:00:00Z"},{"topic":"1/A/1","A":1}]}}`, JSON, FieldTimestamp},
		{`{"Document":{"Msg":[{"topic":"1/A/x","A":"a","A":"b"},{"topic":"1/A/1","A":1}]}}`, JSON, FieldResource},
		{`{"Document":{"Msg":[{"A":"a","A":"b","topic":"1/A/x"},{"topic":"1/A/1","A":1}]}}`, JSON, FieldResource},
		{`<Document><Msg topic="1/X/1" topic="1/Y/1"><X a="1"/></Msg><Msg topic="1/X/1"><X/></Msg></Document>`, XML, FieldTopic},
		{`<Document><Msg topic="1/X/1" operation="A" operation="B"><X/></Msg><Msg topic="1/X/1"><X/></Msg></Document>`, XML, FieldOperation},
		{`<Document><Msg topic="1/X/1"><X a="1"/><X a="2"/></Msg><Msg topic="1/X/1"><X/></Msg></Document>`, XML, FieldResource},
	} {
		evs, err := split(t, tc.doc, tc.f)
		if err != nil || len(evs) != 2 {
			t.Errorf("%s: %d events, %v", tc.doc, len(evs), err)
			continue
		}
		var ee *EventError
		if !errors.As(evs[0].Err, &ee) || ee.Field != tc.field || ee.Reason != "repeated" {
			t.Errorf("%s: the first event's Err = %v, want %s repeated", tc.doc, evs[0].Err, tc.field)
		}
		if evs[1].Err != nil {
			t.Errorf("%s: the second event's Err = %v", tc.doc, evs[1].Err)
		}
	}
	// Members that are not envelope fields nor the resource may repeat.
	evs, err := split(t, `{"Document":{"Msg":{"topic":"1/A/1","A":1,"x":1,"x":2}}}`, JSON)
	if err != nil || len(evs) != 1 || evs[0].Err != nil {
		t.Errorf("a repeated ignored member: %+v, %v", evs, err)
	}
}

// TestRepeatedDocumentOrMsgIsNotAnEnvelope: a document that repeats
// Document, or a Document that repeats Msg, does not say which holds its
// events (encoding/json would keep the last, this reader the first): it
// is not an envelope, and so is delivered whole, raw, rather than with
// one part's events and the other's dropped unseen.
func TestRepeatedDocumentOrMsgIsNotAnEnvelope(t *testing.T) {
	for _, doc := range []string{
		`{"Document":{"Msg":{"topic":"1/A/1","A":1}},"Document":{"Msg":{"topic":"1/A/2","A":2}}}`,
		`{"Document":{"Msg":{"topic":"1/A/1","A":1},"Msg":{"topic":"1/A/2","A":2}}}`,
		`{"Document":null,"Document":{"Msg":{"topic":"1/A/2","A":2}}}`,
	} {
		if evs, err := split(t, doc, JSON); err != ErrNotEnvelope {
			t.Errorf("%s: %d events, %v; want ErrNotEnvelope", doc, len(evs), err)
		}
	}
}
