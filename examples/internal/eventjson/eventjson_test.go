package eventjson

import (
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream"
)

func TestLine(t *testing.T) {
	for _, c := range []struct {
		ev   stream.Event
		want string
	}{
		{stream.Event{Topic: "1234/DataPoint/d/t", Resource: "DataPoint", Operation: "INSERTION",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC), Format: stream.FormatJSON, Body: []byte(`{ "id": 1 }`)},
			`{"topic":"1234/DataPoint/d/t","resource":"DataPoint","operation":"INSERTION","timestamp":"2025-01-02T03:04:05.006Z","group":"","replay":false,"raw":false,"body":{"id":1}}`},
		{stream.Event{Topic: "1234/DeviceCore/7", Resource: "DeviceCore", Operation: "UPDATE", Group: "*", Replay: true,
			Format: stream.FormatXML, Body: []byte(`<DeviceCore><id>7</id></DeviceCore>`)},
			`{"topic":"1234/DeviceCore/7","resource":"DeviceCore","operation":"UPDATE","group":"*","replay":true,"raw":false,"body":"\u003cDeviceCore\u003e\u003cid\u003e7\u003c/id\u003e\u003c/DeviceCore\u003e","body_text":true}`},
		{stream.Event{Raw: true, Format: stream.FormatJSON, Body: []byte(`not json`)},
			`{"topic":"","resource":"","operation":"","group":"","replay":false,"raw":true,"body":"not json","body_text":true}`},
		{stream.Event{Topic: "1/DataPoint/s", Resource: "DataPoint", Body: []byte(`{"n":01}`),
			Err: &stream.EventError{Index: 2, Field: "body", Offset: 99, Reason: "invalid character after a value"}},
			`{"topic":"1/DataPoint/s","resource":"DataPoint","operation":"","group":"","replay":false,"raw":false,"error":"event 2 of the document: invalid body at byte 99: invalid character after a value","body":"{\"n\":01}","body_text":true}`},
		// Bytes that are not UTF-8 (a raw document in another encoding,
		// an invalid JSON body) in base64, as they are: a JSON string
		// would carry U+FFFD instead.
		{stream.Event{Raw: true, Format: stream.FormatXML, Body: []byte("<r>caf\xe9</r>")},
			`{"topic":"","resource":"","operation":"","group":"","replay":false,"raw":true,"body_base64":"PHI+Y2Fm6Twvcj4="}`},
		{stream.Event{Topic: "1/DataPoint/s", Resource: "DataPoint", Format: stream.FormatJSON, Body: []byte("{\"s\":\"\xff\"}")},
			`{"topic":"1/DataPoint/s","resource":"DataPoint","operation":"","group":"","replay":false,"raw":false,"body_base64":"eyJzIjoi/yJ9"}`},
		// A JSON string is a JSON value; the text abc is text.
		{stream.Event{Raw: true, Format: stream.FormatJSON, Body: []byte(`"abc"`)},
			`{"topic":"","resource":"","operation":"","group":"","replay":false,"raw":true,"body":"abc"}`},
		{stream.Event{Raw: true, Format: stream.FormatJSON, Body: []byte(`abc`)},
			`{"topic":"","resource":"","operation":"","group":"","replay":false,"raw":true,"body":"abc","body_text":true}`},
		// An empty body is still there, as a string.
		{stream.Event{Raw: true, Format: stream.FormatJSON},
			`{"topic":"","resource":"","operation":"","group":"","replay":false,"raw":true,"body":"","body_text":true}`},
	} {
		got, err := Line(c.ev)
		if err != nil || string(got) != c.want+"\n" {
			t.Errorf("Line(%v) = %s, %v\nwant %s", c.ev, got, err, c.want)
		}
	}
}
