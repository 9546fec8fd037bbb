package stream

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Event is one event of a monitor: a change to one resource.
//
// An Event is a value the consumer owns. Body aliases the delivered block's
// document, which the library never reuses or modifies; the consumer must
// not modify Body either (copy it first), because the events of one block
// share that memory.
type Event struct {
	// Topic is the full topic, "<customerId>/<Resource>/<path>", e.g.
	// "7603/DataPoint/dev1/temp".
	Topic string
	// Resource is the topic's second segment and the name of the body's
	// element: "DataPoint", "DeviceCore", "FileData", "devices", …
	Resource string
	// Operation is CREATE, UPDATE, DELETE or INSERTION, in upper case.
	Operation string
	// Timestamp is the event time (UTC). Zero if absent or unparsable.
	Timestamp time.Time
	// Group is the optional group attribute ("*" in samples).
	Group string
	// Replay is true for events recorded while no client was connected
	// and replayed by a persistent monitor.
	Replay bool
	// Format is the document format: protocol.FormatJSON or FormatXML.
	Format protocol.Format
	// Raw is true when the document was not a Document/Msg envelope (a
	// handlebars template's output, or a malformed document): then Body is
	// the whole document and only Format and Raw are set.
	Raw bool
	// Body is the resource itself: for JSON the value of the resource key
	// (e.g. {"id":…,"data":…}), for XML the whole resource element
	// (<DataPoint>…</DataPoint>). Read-only.
	Body []byte
	// MonitorID is the monitor that delivered the event.
	MonitorID uint32
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
	return fmt.Sprintf("%s %s %s%s", e.Timestamp.Format(time.RFC3339Nano), e.Operation, e.Topic, r)
}

// ErrWrongResource is returned by the typed accessors when the event is of
// another resource.
var ErrWrongResource = errors.New("stream: event is of another resource")

// Decode unmarshals Body into v with encoding/json or encoding/xml,
// according to Format. For XML, v receives the resource element.
func (e Event) Decode(v any) error {
	if e.Format == protocol.FormatXML {
		return xml.Unmarshal(e.Body, v)
	}
	return json.Unmarshal(e.Body, v)
}
