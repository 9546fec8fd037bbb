package envelope

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// Format is a document's (and its events') format. The zero value is
// Unknown: nothing said which, look at the bytes ([Sniff]).
type Format uint8

// Formats.
const (
	Unknown Format = iota
	JSON
	XML
)

func (f Format) String() string {
	switch f {
	case JSON:
		return "json"
	case XML:
		return "xml"
	}
	return "unknown"
}

// Sniff tells an XML document (first non-space byte '<') from JSON (any
// other first byte); Unknown for a document of spaces only.
func Sniff(doc []byte) Format {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\r', '\n':
		case '<':
			return XML
		default:
			return JSON
		}
	}
	return Unknown
}

// Event is one Msg of a document: its envelope fields, parsed, and its
// resource as bytes of the document.
type Event struct {
	// Topic is the Msg's topic, "<customerId>/<Resource>/<path>"; empty
	// only on an invalid Msg.
	Topic string
	// Resource is the name of the member (JSON) or child element (XML)
	// holding the resource; "" when the Msg has none that can be told.
	Resource string
	// Operation is the operation, its ASCII letters upper-cased (the
	// documented ones interned).
	Operation string
	// Timestamp is the Msg's timestamp (UTC), zero when absent or invalid.
	Timestamp time.Time
	// Group is the optional group.
	Group string
	// Replay is true for an event flagged replay (JSON "replay":true, XML
	// replay="true").
	Replay bool
	// Body is the resource: the member's JSON value, or the XML element
	// with its tags. On an invalid Msg whose resource cannot be told, the
	// whole Msg. It aliases the document.
	Body []byte
	// Err is nil, or the *EventError of a Msg that is invalid: its body is
	// not well-formed, an envelope field has the wrong type or an invalid
	// value, or its resource cannot be told.
	Err error
}

// ErrInvalidEvent matches every *EventError with errors.Is.
var ErrInvalidEvent = errors.New("invalid event")

// EventError describes an invalid Msg of a document. The other Msgs of
// the document are not affected.
type EventError struct {
	// Index is the Msg's position in its document, from 0.
	Index int
	// Field names what is invalid: "body" (the resource), "topic",
	// "operation", "timestamp", "resource" (none can be told), or "Msg"
	// (the Msg itself, e.g. an array element that is not an object).
	Field string
	// Offset is the byte offset in the document where the problem was
	// found.
	Offset int64
	// Reason says what is wrong, without quoting the document.
	Reason string
}

func (e *EventError) Error() string {
	return fmt.Sprintf("event %d of the document: invalid %s at byte %d: %s", e.Index, e.Field, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidEvent) true.
func (e *EventError) Is(target error) bool { return target == ErrInvalidEvent }

// Errors of a whole document (see Splitter.Split).
var (
	// ErrNotEnvelope: the document is well-formed (as far as it was read)
	// but not a {"Document":{"Msg":…}} or <Document><Msg>… envelope, such
	// as a template's output. It is delivered raw.
	ErrNotEnvelope = errors.New("not a Document/Msg envelope")
	// ErrMalformed: the document is not well-formed JSON or XML, so not
	// even the bounds of its events can be found. It is delivered raw over
	// TCP; Wellformed reports it.
	ErrMalformed = errors.New("malformed document")
)

// Field names of an EventError.
const (
	FieldBody      = "body"
	FieldTopic     = "topic"
	FieldOperation = "operation"
	FieldTimestamp = "timestamp"
	FieldResource  = "resource"
	FieldMsg       = "Msg"
)

var knownResources = [...]string{
	"DataPoint", "DeviceCore", "FileData", "devices", "alert_status", "jobs", "Alarm",
	"AlarmStatus", "DataStream", "FileDataCore", "Job", "JobResult", "XbeeCore", "Group",
}

// resourceName returns the resource name, without allocating for the
// documented ones.
func resourceName(b []byte) string {
	if r := knownResource(b); r != "" {
		return r
	}
	return string(b)
}

// knownResource returns the documented resource name b spells, or "".
func knownResource(b []byte) string {
	for _, r := range knownResources {
		if string(b) == r {
			return r
		}
	}
	return ""
}

// TopicResource returns the second segment of a topic
// ("7603/DataPoint/x" → "DataPoint"), "" when it has none.
//
// A byte loop: both segments are short (an account id, a resource name),
// where strings.Cut's calls cost more than the scan.
func TopicResource(topic string) string {
	for i := 0; i < len(topic); i++ {
		if topic[i] == '/' {
			rest := topic[i+1:]
			for j := 0; j < len(rest); j++ {
				if rest[j] == '/' {
					return rest[:j]
				}
			}
			return rest
		}
	}
	return ""
}

// Operation upper-cases the ASCII letters of an operation, interning the
// documented ones (whatever their case). It allocates only for another
// operation with a lower-case letter: a copy of its size. (The letters of
// other scripts are left as they are: strings.ToUpper could make a
// string of ill-formed UTF-8 three times longer.)
func Operation(s string) string {
	return operation(unsafe.Slice(unsafe.StringData(s), len(s)), false)
}

// operation is Operation of the bytes b, which are modified in place when
// owned (a decoded escaped string the caller gives up), else copied if
// they need upper-casing.
func operation(b []byte, owned bool) string {
	switch bstring(b) { // as sent: no case to fold
	case "UPDATE":
		return "UPDATE"
	case "INSERTION":
		return "INSERTION"
	case "CREATE":
		return "CREATE"
	case "DELETE":
		return "DELETE"
	}
	for _, op := range [...]string{"UPDATE", "INSERTION", "CREATE", "DELETE"} {
		if strings.EqualFold(bstring(b), op) {
			return op
		}
	}
	lower := 0
	for lower < len(b) && (b[lower] < 'a' || b[lower] > 'z') {
		lower++
	}
	if lower == len(b) {
		return bstring(b)
	}
	if !owned {
		b = append([]byte(nil), b...)
	}
	for i := lower; i < len(b); i++ {
		if c := b[i]; 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return bstring(b)
}

// envelopeField returns the name of the envelope field key, as a
// constant: "" when key names none.
func envelopeField(key []byte) string {
	switch string(key) {
	case FieldTopic:
		return FieldTopic
	case FieldOperation:
		return FieldOperation
	case FieldTimestamp:
		return FieldTimestamp
	case "group":
		return "group"
	case "replay":
		return "replay"
	}
	return ""
}
