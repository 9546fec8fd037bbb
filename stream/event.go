package stream

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

// Format is the format of an event's document. The zero value,
// FormatUnknown, is that of an Event or a Block built without one: Decode
// and Batch.Events then tell JSON from XML by the first byte. (The wire
// values of a block's format are protocol.Format's.)
type Format uint8

// Formats.
const (
	FormatUnknown Format = iota // none given: Decode looks at the body
	FormatJSON
	FormatXML
)

// String returns "json", "xml" or "unknown".
func (f Format) String() string { return envelope.Format(f).String() }

// formatOf returns the Format of a block's wire format.
func formatOf(w protocol.Format) Format {
	switch w {
	case protocol.FormatJSON:
		return FormatJSON
	case protocol.FormatXML:
		return FormatXML
	}
	return FormatUnknown
}

// Event is one event of a monitor: a change to one resource.
//
// An Event is a value the consumer owns. Body aliases the delivered block's
// document, which the library never reuses or modifies; the consumer must
// not modify Body either (copy it first), because the events of one block
// share that memory, as do the documents of blocks that arrived together
// (up to 32 KiB of them): copy Body to keep a few events of many.
type Event struct {
	// Topic is the full topic, "<customerId>/<Resource>/<path>", e.g.
	// "7603/DataPoint/dev1/temp".
	Topic string
	// Resource is the topic's second segment and the name of the body's
	// element: "DataPoint", "DeviceCore", "FileData", "devices", …
	Resource string
	// Operation is CREATE, UPDATE, DELETE or INSERTION, in upper case
	// (another operation has its ASCII letters upper-cased).
	Operation string
	// Timestamp is the event time (UTC). Zero if absent or invalid (then
	// Err says so).
	Timestamp time.Time
	// Group is the optional group attribute ("*" in samples).
	Group string
	// Replay is true for events recorded while no client was connected
	// and replayed by a persistent monitor.
	Replay bool
	// Format is the document's format, FormatJSON or FormatXML for the
	// events the library delivers.
	Format Format
	// Raw is true when the document was not a Document/Msg envelope (a
	// handlebars template's output, or a malformed document): then Body is
	// the whole document and only Format, Raw and MonitorID are set.
	Raw bool
	// Body is the resource itself: for JSON the value of the resource
	// member (e.g. {"id":…,"data":…}), for XML the whole resource element
	// (<DataPoint>…</DataPoint>). On an invalid event whose resource could
	// not be told, the whole Msg. Read-only.
	Body []byte
	// MonitorID is the monitor that delivered the event.
	MonitorID uint32
	// Err is nil for a valid event. An event whose Msg is invalid (a body,
	// or another member of the Msg, that is not well-formed JSON or XML, a
	// timestamp time.Parse refuses, an envelope field of the wrong type, no
	// topic, no resource that can be told) is delivered all the same, so
	// that nothing is lost, with
	// Err set to an *EventError (matching ErrInvalidEvent) that says what
	// is wrong; the fields that could be read are set. Decode and the
	// typed accessors return Err, so an invalid event is never taken for a
	// valid one. The other events of its block are not affected.
	Err error
}

// fields returns what Identity covers.
func (e *Event) fields() envelope.Fields {
	return envelope.Fields{Topic: e.Topic, Operation: e.Operation, Timestamp: e.Timestamp,
		Resource: e.Resource, Body: e.Body, Err: e.Err}
}

// fromEnvelope returns the Event of a parsed Msg.
func fromEnvelope(m *envelope.Event, f Format, monitorID uint32) Event {
	return Event{Topic: m.Topic, Resource: m.Resource, Operation: m.Operation, Timestamp: m.Timestamp,
		Group: m.Group, Replay: m.Replay, Format: f, Body: m.Body, MonitorID: monitorID, Err: m.Err}
}

// String is a one-line summary for logs; it omits the body.
func (e Event) String() string {
	if e.Raw {
		return fmt.Sprintf("raw %s document (%d bytes)", e.Format, len(e.Body))
	}
	r := ""
	if e.Replay {
		r = " replay"
	}
	if e.Err != nil {
		r += " (invalid)"
	}
	return fmt.Sprintf("%s %s %s%s", e.Timestamp.Format(time.RFC3339Nano), e.Operation, e.Topic, r)
}

// ErrWrongResource is returned by the typed accessors when the event is of
// another resource.
var ErrWrongResource = errors.New("stream: event is of another resource")

// Decode unmarshals Body into v with encoding/json or encoding/xml,
// according to Format (FormatUnknown: by the body's first byte). For XML,
// v receives the resource element, and the body is first checked against
// the XML budgets of a document: beyond one, Decode returns a *LimitError
// (matching ErrDocumentLimit). An invalid event returns its Err.
func (e Event) Decode(v any) error {
	if e.Err != nil {
		return e.Err
	}
	f := e.Format
	if f == FormatUnknown {
		f = Format(envelope.Sniff(e.Body))
	}
	if f == FormatXML {
		if err := guardXML(e.Body); err != nil {
			return err
		}
		return xml.Unmarshal(e.Body, v)
	}
	return json.Unmarshal(e.Body, v)
}
