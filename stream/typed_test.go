package stream

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// Every accessor refuses an event of another resource, without looking at
// its body.
func TestTypedWrongResource(t *testing.T) {
	for name, f := range accessors {
		if _, err := f(jsonEvent("Other", "{}")); !errors.Is(err, ErrWrongResource) {
			t.Errorf("%s accessor on an Other event: err = %v", name, err)
		}
	}
}

// Bodies that are not the resource's shape: a *DecodeError naming the
// resource, format and offset; limits wrap their own errors.
func TestTypedDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		ev     Event
		offset int64
		is     error
	}{
		{jsonEvent("DataPoint", `{"id":"a","cstId":01}`), 19, nil},
		{jsonEvent("DataPoint", `{"id":7}`), 6, nil},
		{jsonEvent("DataPoint", `{"cstId":"x"}`), 9, strconv.ErrSyntax},
		{jsonEvent("DataPoint", `"text"`), 0, nil},
		{jsonEvent("DataPoint", `{"id":"a"} {}`), 11, nil},
		{jsonEvent("DeviceCore", `{"x":`+strings.Repeat("[", 10000)+strings.Repeat("]", 10000)+`}`), -2, ErrBodyTooDeep},
		{jsonEvent("Job", `{`+strings.Repeat(`"a":1,`, MaxRecordFields)+`"b":2}`), -2, ErrRecordTooLarge},
		{xmlEvent("Job", `<Job>`+strings.Repeat(`<a/>`, MaxRecordFields+1)+`</Job>`), -1, ErrRecordTooLarge},
		{xmlEvent("DataPoint", `<DataPoint><id>a</DataPoint>`), -1, nil},
		{xmlEvent("DataPoint", `<DataPoint><cstId>x</cstId></DataPoint>`), -1, strconv.ErrSyntax},
		{jsonEvent("FileData", `{"fdData":"not base64!"}`), -1, nil},
	} {
		_, err := decodeAny(c.ev)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s %.80q: err = %v, want a *DecodeError", c.ev.Resource, c.ev.Body, err)
			continue
		}
		format := "JSON"
		if c.ev.bodyIsXML() {
			format = "XML"
		}
		if de.Resource != c.ev.Resource || de.Format != format || (c.offset != -2 && de.Offset != c.offset) {
			t.Errorf("%s %.80q: %+v", c.ev.Resource, c.ev.Body, de)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s %.80q: %v does not wrap %v", c.ev.Resource, c.ev.Body, err, c.is)
		}
		if !strings.HasPrefix(err.Error(), "stream: "+c.ev.Resource+" "+format+" body: ") {
			t.Errorf("error text %q", err)
		}
	}
}

// Strings that need no unescaping share the body; the JSON path of an
// accessor allocates nothing else.
func TestTypedAliasingAndAllocations(t *testing.T) {
	ev := jsonEvent("DataPoint", `{"id":"684572e0","streamId":"dev\/temp","data":0.5,"cstId":7603,"description":"caf\u00e9"}`)
	dp, err := ev.DataPoint()
	if err != nil {
		t.Fatal(err)
	}
	in := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		b := uintptr(unsafe.Pointer(&ev.Body[0]))
		return p >= b && p < b+uintptr(len(ev.Body))
	}
	if !in(dp.ID) || !in(string(dp.Data)) {
		t.Error("unescaped strings were copied")
	}
	if in(dp.StreamID) || dp.StreamID != "dev/temp" || in(dp.Description) || dp.Description != "café" {
		t.Errorf("escaped strings: %q %q", dp.StreamID, dp.Description)
	}
	for _, b := range benchBodies {
		ev := jsonEvent(b.resource, b.body)
		if _, err := decodeAny(ev); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() { decodeDiscard(ev) })
		want := 0.0
		if b.resource == "FileData" {
			want = 1 // the decoded content
		}
		if allocs > want {
			t.Errorf("%s: %.1f allocations per decode, want %.0f", b.resource, allocs, want)
		}
	}
}

// decodeDiscard calls the accessor of the event's resource without boxing
// the result.
func decodeDiscard(e Event) {
	switch e.Resource {
	case "DataPoint":
		_, _ = e.DataPoint()
	case "DataStream":
		_, _ = e.DataStream()
	case "DeviceCore":
		_, _ = e.DeviceCore()
	case "FileData":
		_, _ = e.FileData()
	case "XbeeCore":
		_, _ = e.XbeeCore()
	case "AlarmStatus":
		_, _ = e.AlarmStatus()
	case "devices":
		_, _ = e.V1Device()
	default:
		panic(e.Resource)
	}
}

// XML bodies go through encoding/xml; whatever they hold, every accessor
// returns a value or a *DecodeError, and never panics.
func FuzzTypedXML(f *testing.F) {
	for _, g := range goldens {
		if g.event.bodyIsXML() {
			f.Add(string(g.event.Body))
		}
	}
	f.Add(`<Job><a>1</a><a><b/></a><![CDATA[x]]><!-- c --></Job>`)
	f.Fuzz(func(t *testing.T, body string) {
		for name, acc := range accessors {
			_, err := acc(xmlEvent(name, body))
			var de *DecodeError
			if err != nil && !errors.As(err, &de) {
				t.Fatalf("%s: untyped error %v", name, err)
			}
		}
		if _, err := xmlEvent("Group", body).Record(); err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Record: untyped error %v", err)
			}
		}
	})
}

// Unmarshaling into a Record replaces its members, JSON and XML.
func TestRecordUnmarshalReplaces(t *testing.T) {
	r := Record{{"old", "1"}}
	if err := json.Unmarshal([]byte(`{"a":"x","b":2}`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r) != 2 || r[0] != (Field{"a", "x"}) || r[1] != (Field{"b", "2"}) {
		t.Errorf("JSON: %v", r)
	}
	if err := xml.Unmarshal([]byte(`<R><c>3</c></R>`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r) != 1 || r[0] != (Field{"c", "3"}) {
		t.Errorf("XML: %v", r)
	}
	if v, ok := r.Get("c"); !ok || v != "3" {
		t.Errorf("Get = %q, %v", v, ok)
	}
	if _, ok := r.Get("a"); ok {
		t.Error("Get found a replaced member")
	}
}
