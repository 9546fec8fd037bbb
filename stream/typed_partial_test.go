package stream

import (
	"errors"
	"reflect"
	"testing"
)

// TestTypedErrorReturnsZero: an accessor whose body fails to decode
// returns the zero value with its error, never the members it decoded
// before the error. Before, a body cut short, followed by garbage, or with
// a wrong-typed member after good ones gave back those good members with
// the error: a consumer ignoring the error (as in `dc, _ := ev.DeviceCore()`)
// read half a record as a whole one, where encoding/json, which checks the
// document first, gives nothing at all on a syntax error.
func TestTypedErrorReturnsZero(t *testing.T) {
	for _, c := range []struct {
		resource string
		body     string
	}{
		// JSON: cut short, trailing garbage, a wrong-typed member last.
		{"DataPoint", `{"id":"a","streamId":"s","cstId":7603,`},
		{"DataPoint", `{"id":"a","streamId":"s"}x`},
		{"DataPoint", `{"id":"a","streamId":"s","cstId":"x"}`},
		{"DataStream", `{"streamId":"s","currentValue":{"data":1,"id":7}}`},
		{"DeviceCore", `{"devConnectwareId":"00000000-00000000-00409DFF-FF000001","dpConnectionStatus":1,"grpId":{}}`},
		{"FileData", `{"id":{"fdName":"f"},"fdData":"aGk=","fdSize":`},
		{"FileData", `{"id":{"fdName":"f"},"fdData":"not base64!"}`},
		{"FileDataCore", `{"id":{"fdName":"f"},"fdSize":"big"}`},
		{"XbeeCore", `{"xpExtAddr":"00:13:A2","xpNodeType":[]}`},
		{"Alarm", `{"almId":1,"almName":"n","almScopeConfig":{"a":}}`},
		{"AlarmStatus", `{"almsStatus":1,"almsTopic":"t"]`},
		{"devices", `{"id":"d","name":"n","alerts":true}`},
		{"alert_status", `{"id":1,"name":"n","status":"fired"} {}`},
		{"Job", `{"jobId":1,"status":"new",}`},
		// XML: cut short, a member that does not parse.
		{"DataPoint", `<DataPoint><id>a</id><streamId>s</streamId>`},
		{"DataPoint", `<DataPoint><id>a</id><streamId>s</streamId><cstId>x</cstId></DataPoint>`},
		{"DeviceCore", `<DeviceCore><devConnectwareId>c</devConnectwareId><dpConnectionStatus>1</dpConnectionStatus><grpId>g</grpId></DeviceCore>`},
		{"FileData", `<FileData><id><fdName>f</fdName></id><fdData>not base64!</fdData></FileData>`},
		{"Job", `<Job><jobId>1</jobId><status>new</status>`},
	} {
		ev := jsonEvent(c.resource, c.body)
		if c.body[0] == '<' {
			ev = xmlEvent(c.resource, c.body)
		}
		v, err := decodeAny(ev)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s %q: err = %v, want a *DecodeError", c.resource, c.body, err)
			continue
		}
		if rv := reflect.ValueOf(v); !rv.IsZero() {
			t.Errorf("%s %q: returned %+v with %v, want the zero value", c.resource, c.body, v, err)
		}
	}
	// Record too, for any resource.
	for _, ev := range []Event{jsonEvent("Other", `{"a":1,"b":2,`), xmlEvent("Other", `<Other><a>1</a><b>2</b>`)} {
		r, err := ev.Record()
		if err == nil || r != nil {
			t.Errorf("Record %q: %v, %v; want nil and an error", ev.Body, r, err)
		}
	}
}
