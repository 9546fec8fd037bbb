package main

import (
	"strings"
	"testing"
	"time"
	"unicode"

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

// TestTextOutputShowsServerTextInert: in -output text, what a device or
// the server put in a topic, an operation or a body reaches the terminal
// as visible text: no control sequence (a title change, a cleared
// screen), and no line that passes for another event. Every line that is
// not an event's summary line is indented.
func TestTextOutputShowsServerTextInert(t *testing.T) {
	evs := []stream.Event{
		{Topic: "1234/DataPoint/d/\x1b]0;owned\a\x1b[2J", Resource: "DataPoint", Operation: "INSERTION\x1b[8m",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Format: stream.FormatJSON, Body: []byte(`{"id":1}`)},
		{Topic: "1234/DataPoint/d/t\n2025-01-02T03:04:06Z DELETE 1234/DeviceCore/forged/0", Resource: "DataPoint",
			Operation: "INSERTION", Format: stream.FormatJSON, Body: []byte(`{"id":2}`)},
		{Raw: true, Format: stream.FormatXML,
			Body: []byte("<x>\x1b[2J\u202e\xff\n2025-01-02T03:04:07Z UPDATE 1234/DeviceCore/forged/1\r\n<y>a\rb</y></x>")},
	}
	var out strings.Builder
	p := newPrinter("text", &out)
	for _, ev := range evs {
		if err := p.print(ev); err != nil {
			t.Fatal(err)
		}
	}
	text := out.String()
	for i, r := range text {
		if r != '\n' && !unicode.IsGraphic(r) && (r != '\r' || !strings.HasPrefix(text[i+1:], "\n")) {
			t.Errorf("byte %d of the output is %U, which a terminal may act on:\n%q", i, r, text)
			break
		}
	}
	summaries := 0
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "    ") {
			summaries++
		}
	}
	if summaries != len(evs) {
		t.Errorf("%d lines start like an event's summary, for %d events:\n%s", summaries, len(evs), text)
	}
	for _, want := range []string{`\x1b]0;owned\a\x1b[2J`, `INSERTION\x1b[8m`, `\n2025-01-02T03:04:06Z DELETE`, `<x>\x1b[2J\u202e\xff`, "forged/1\r\n", `<y>a\rb</y>`} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
