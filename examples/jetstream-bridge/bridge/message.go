package bridge

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
)

// Headers of every published message. Values are printable; Rm-Topic,
// Rm-Operation and Rm-Group are percent-encoded (see Message).
const (
	// HeaderMsgID is JetStream's de-duplication header: the event's
	// stream.Event.Identity; absent on raw documents, which have none.
	HeaderMsgID = jetstream.MsgIDHeader
	// HeaderTopic is the event's full topic, "<customer>/<Resource>/<path>".
	HeaderTopic = "Rm-Topic"
	// HeaderOperation is the event's operation: CREATE, UPDATE, DELETE or
	// INSERTION (percent-encoded as Rm-Topic, should it hold anything
	// else).
	HeaderOperation = "Rm-Operation"
	// HeaderTimestamp is the event time, RFC 3339 in UTC with as many
	// fractional digits as needed; absent when the event had none.
	HeaderTimestamp = "Rm-Timestamp"
	// HeaderReplay is "true" for events a persistent monitor recorded
	// while no client was connected and replayed, "false" otherwise.
	HeaderReplay = "Rm-Replay"
	// HeaderGroup is the event's group attribute, percent-encoded, when
	// it has one.
	HeaderGroup = "Rm-Group"
	// HeaderMonitor is the id of the monitor that delivered the event.
	HeaderMonitor = "Rm-Monitor"
	// HeaderFormat is "json" or "xml": the format of the message data.
	HeaderFormat = "Rm-Format"
	// HeaderRaw is "true" on raw documents (template output or documents
	// that are not a Document/Msg envelope); their other Rm- headers are
	// absent except Rm-Monitor and Rm-Format.
	HeaderRaw = "Rm-Raw"
)

// Message builds the JetStream message for an event: Subject(prefix, ev)
// as the subject, the event's Body (the resource: a JSON value or an XML
// element; for raw documents the whole document) as the data, and the
// headers above. Data aliases ev.Body, which must not be modified while
// the message is being published.
//
// Rm-Topic, Rm-Operation and Rm-Group hold their values with '%', spaces,
// control characters and DEL percent-encoded (url.PathUnescape restores
// them), since NATS header values cannot carry line breaks.
func Message(prefix string, ev *stream.Event) *nats.Msg {
	o := &outMsg{Msg: nats.Msg{Header: make(nats.Header, 8)}}
	o.fill(prefix, ev, strconv.FormatUint(uint64(ev.MonitorID), 10))
	return &o.Msg
}

// outMsg is a message being published and the storage of its header
// values. The pipeline recycles it once JetStream has confirmed it.
type outMsg struct {
	nats.Msg
	vals [8]string
}

var outMsgPool = sync.Pool{New: func() any { return &outMsg{Msg: nats.Msg{Header: make(nats.Header, 8)}} }}

// fill makes o the message of ev, with the monitor id already formatted.
// o.Header must be empty.
func (o *outMsg) fill(prefix string, ev *stream.Event, monitor string) {
	format := "json"
	if ev.Format == stream.FormatXML || ev.Format == stream.FormatUnknown && bytes.HasPrefix(bytes.TrimLeft(ev.Body, " \t\r\n"), []byte("<")) {
		format = "xml"
	}
	v, h := &o.vals, o.Header
	v[0], v[1], v[2] = ev.Identity(), monitor, format
	h[HeaderMonitor], h[HeaderFormat] = v[1:2:2], v[2:3:3]
	if v[0] != "" { // raw events have no identity: JetStream must not de-duplicate them
		h[HeaderMsgID] = v[0:1:1]
	}
	o.Subject, o.Data = Subject(prefix, ev), ev.Body
	if ev.Raw {
		v[3] = "true"
		h[HeaderRaw] = v[3:4:4]
		return
	}
	v[3], v[4], v[5] = headerEscape(ev.Topic), headerEscape(ev.Operation), "false"
	if ev.Replay {
		v[5] = "true"
	}
	h[HeaderTopic], h[HeaderOperation], h[HeaderReplay] = v[3:4:4], v[4:5:5], v[5:6:6]
	if !ev.Timestamp.IsZero() {
		v[6] = ev.Timestamp.UTC().Format(time.RFC3339Nano)
		h[HeaderTimestamp] = v[6:7:7]
	}
	if ev.Group != "" {
		v[7] = headerEscape(ev.Group)
		h[HeaderGroup] = v[7:8:8]
	}
}

// recycle returns o to the pool. Only for messages nobody references any
// more: JetStream has confirmed them (the client forgets a message before
// calling the ack handler).
func (o *outMsg) recycle() {
	clear(o.Header)
	h := o.Header
	*o = outMsg{}
	o.Header = h
	outMsgPool.Put(o)
}

// headerEscape percent-encodes '%', spaces, control characters and DEL.
func headerEscape(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
