// Package eventjson is the JSON-lines form of a stream.Event that the
// example commands print for -output ndjson: one JSON object per event,
// on one line, with the keys in this order:
//
//	topic      string  the full topic, "<customerId>/<Resource>/<path>"
//	resource   string  the resource, e.g. "DataPoint"
//	operation  string  CREATE, UPDATE, DELETE or INSERTION
//	timestamp  string  RFC 3339 in milliseconds, e.g. "2025-01-02T03:04:05.000Z";
//	                   absent when the event has no timestamp
//	group      string  the group attribute, often ""
//	replay     bool    replayed by a persistent monitor
//	raw        bool    body is a whole document that was not an event
//	                   envelope (a handlebars template's output, say)
//	error      string  why the event is invalid (stream.Event.Err); absent
//	                   for a valid event
//	body       the resource: for the JSON format the JSON value itself;
//	           otherwise (XML, or a JSON body that is not valid JSON) a
//	           string holding the document text; absent when the body is
//	           not valid UTF-8
//	body_text  bool    true when body is a string holding the document's
//	           text rather than a JSON value (absent otherwise), so that
//	           the text abc and the JSON string "abc" differ
//	body_base64 string  the body's bytes in standard base64, only when
//	           they are not valid UTF-8 (JSON text cannot hold them
//	           unchanged: they would turn into U+FFFD)
//
// For example:
//
//	{"topic":"1234/DataPoint/d/t","resource":"DataPoint","operation":"INSERTION","timestamp":"2025-01-02T03:04:05.000Z","group":"","replay":false,"raw":false,"body":{"id":1}}
package eventjson

import (
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"

	"github.com/pushmon/pushmon/stream"
)

// TimeLayout is the layout of Record.Timestamp.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Record is one line's object; Line builds and encodes it.
type Record struct {
	Topic     string `json:"topic"`
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Timestamp string `json:"timestamp,omitempty"`
	Group     string `json:"group"`
	Replay    bool   `json:"replay"`
	Raw       bool   `json:"raw"`
	Error     string `json:"error,omitempty"`
	Body      any    `json:"body,omitempty"` // json.RawMessage or string; nil with BodyBase64
	// BodyText is set when Body is the document's text (a string).
	BodyText bool `json:"body_text,omitempty"`
	// BodyBase64 holds a body that is not valid UTF-8.
	BodyBase64 string `json:"body_base64,omitempty"`
}

// New is ev's record.
func New(ev stream.Event) Record {
	r := Record{
		Topic: ev.Topic, Resource: ev.Resource, Operation: ev.Operation,
		Group: ev.Group, Replay: ev.Replay, Raw: ev.Raw,
	}
	if !ev.Timestamp.IsZero() {
		r.Timestamp = ev.Timestamp.Format(TimeLayout)
	}
	if ev.Err != nil {
		r.Error = ev.Err.Error()
	}
	switch {
	case !utf8.Valid(ev.Body):
		r.BodyBase64 = base64.StdEncoding.EncodeToString(ev.Body)
	case ev.Format != stream.FormatXML && json.Valid(ev.Body):
		r.Body = json.RawMessage(ev.Body)
	default:
		r.Body, r.BodyText = string(ev.Body), true
	}
	return r
}

// Line is ev's line: its record as JSON, then a newline.
func Line(ev stream.Event) ([]byte, error) {
	b, err := json.Marshal(New(ev))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
