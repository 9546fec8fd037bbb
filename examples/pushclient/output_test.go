package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream"
)

// TestTextOutputIsEventString: -output text prints stream.Event.String,
// then the body indented.
func TestTextOutputIsEventString(t *testing.T) {
	evs := []stream.Event{
		{Topic: "1234/DataPoint/d/t", Resource: "DataPoint", Operation: "INSERTION", Replay: true,
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Format: stream.FormatJSON, Body: []byte(`{"id":1}`)},
		{Raw: true, Format: stream.FormatXML, Body: []byte("<x/>")},
	}
	var out strings.Builder
	p := newPrinter("text", &out)
	for _, ev := range evs {
		if err := p.print(ev); err != nil {
			t.Fatal(err)
		}
	}
	want := evs[0].String() + "\n    {\n      \"id\": 1\n    }\n" + evs[1].String() + "\n    <x/>\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
}
