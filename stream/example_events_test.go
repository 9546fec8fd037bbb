package stream_test

import (
	"errors"
	"fmt"

	"github.com/pushmon/pushmon/stream"
)

// An invalid event (here a body that is not valid JSON) is delivered with
// Err set, between its valid neighbours: check it before using the event.
// Identity names each event for de-duplication outside the process; a raw
// document has none.
func ExampleEventError() {
	doc := `{"Document":{"Msg":[
		{"topic":"1234/DataPoint/dev1/temp","operation":"INSERTION","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"a","data":1}},
		{"topic":"1234/DataPoint/dev1/temp","operation":"INSERTION","timestamp":"2025-01-01T00:00:01Z","DataPoint":{"id":"b","data":tru}},
		{"topic":"1234/DataPoint/dev1/temp","operation":"DELETE","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"a","data":1}}]}}`
	b := &stream.Batch{Blocks: []stream.Block{
		{Format: stream.FormatJSON, Document: []byte(doc)},
		{Format: stream.FormatJSON, Document: []byte(`{"reading":"template output"}`)},
	}}
	for _, ev := range b.Events() {
		var invalid *stream.EventError
		switch {
		case errors.As(ev.Err, &invalid):
			fmt.Printf("invalid %s of event %d: %s\n", invalid.Field, invalid.Index, invalid.Reason)
		case ev.Raw:
			fmt.Printf("raw document %s, identity %q\n", ev.Body, ev.Identity())
		default:
			dp, _ := ev.DataPoint()
			fmt.Printf("%s %s data %s, identity %d characters\n", ev.Operation, dp.ID, dp.Data, len(ev.Identity()))
		}
	}
	// Output:
	// INSERTION a data 1, identity 35 characters
	// invalid body of event 1: invalid literal
	// DELETE a data 1, identity 35 characters
	// raw document {"reading":"template output"}, identity ""
}
