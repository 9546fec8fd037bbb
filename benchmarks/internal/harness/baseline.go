package harness

// The encoding/json baseline, and the sinks that keep the consumers'
// results alive.

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream"
)

// Sinks keep consumers' results alive. Consumers add up what they read
// and store it once, so that they allocate nothing per event themselves.
var (
	sinkU64 atomic.Uint64
	sinkStr atomic.Pointer[string]
)

// The baseline: encoding/json into structs equivalent to stream.Event.
type (
	jsonDoc struct {
		Document struct {
			Msg msgList `json:"Msg"`
		} `json:"Document"`
	}
	// msgEnvelope keeps bodies raw, like Event.Body.
	msgEnvelope struct {
		Topic      string          `json:"topic"`
		Operation  string          `json:"operation"`
		Timestamp  time.Time       `json:"timestamp"`
		Group      string          `json:"group"`
		Replay     bool            `json:"replay"`
		DataPoint  json.RawMessage `json:"DataPoint"`
		DeviceCore json.RawMessage `json:"DeviceCore"`
		FileData   json.RawMessage `json:"FileData"`
	}
	// msgTyped decodes the DataPoint body as the typed accessor does.
	msgTyped struct {
		Topic      string            `json:"topic"`
		Operation  string            `json:"operation"`
		Timestamp  time.Time         `json:"timestamp"`
		Group      string            `json:"group"`
		Replay     bool              `json:"replay"`
		DataPoint  *stream.DataPoint `json:"DataPoint"`
		DeviceCore json.RawMessage   `json:"DeviceCore"`
		FileData   json.RawMessage   `json:"FileData"`
	}
	msgList struct {
		typed bool
		env   []msgEnvelope
		typ   []msgTyped
	}
)

// UnmarshalJSON decodes Msg, an object for one event or an array.
func (l *msgList) UnmarshalJSON(b []byte) error {
	array := len(b) > 0 && b[0] == '['
	switch {
	case l.typed && array:
		return json.Unmarshal(b, &l.typ)
	case l.typed:
		l.typ = append(l.typ, msgTyped{})
		return json.Unmarshal(b, &l.typ[0])
	case array:
		return json.Unmarshal(b, &l.env)
	default:
		l.env = append(l.env, msgEnvelope{})
		return json.Unmarshal(b, &l.env[0])
	}
}

var errBaseline = errors.New("baseline: document without events")

// newJSONBaseline returns a frame handler that inflates (with a reused
// protocol.Inflater, as the library does) and decodes with encoding/json.
func newJSONBaseline(typed bool) func(protocol.PublishMessage) (int, error) {
	inf := protocol.NewInflater(0)
	var doc jsonDoc
	doc.Document.Msg.typed = typed
	return func(m protocol.PublishMessage) (int, error) {
		p := m.Payload
		if m.Compression == protocol.CompressionZlib {
			var err error
			if p, err = inf.Inflate(p); err != nil {
				return 0, err
			}
		}
		l := &doc.Document.Msg
		l.env, l.typ = nil, nil // fresh values each time, as a consumer that keeps them needs
		if err := json.Unmarshal(p, &doc); err != nil {
			return 0, err
		}
		n := len(l.env)
		if typed {
			n = len(l.typ)
			if n > 0 && l.typ[0].DataPoint != nil {
				sinkStr.Store(&l.typ[0].DataPoint.StreamID)
			}
		}
		if n == 0 {
			return 0, errBaseline
		}
		return n, nil
	}
}
