package monitor

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Transport is how a monitor's events reach the client (monTransportType).
type Transport string

// Transports. The zero value lets the server choose (tcp).
const (
	TransportTCP     Transport = "tcp"     // the client connects to port 3200/3201
	TransportHTTP    Transport = "http"    // the server PUTs/POSTs batches to Spec.URL
	TransportPolling Transport = "polling" // events are stored; the client pages the history API
)

// Format is the encoding of the event documents (monFormatType).
type Format string

// Formats. The zero value lets the server choose.
const (
	JSON Format = "json"
	XML  Format = "xml"
)

// Compression of pushed payloads (monCompression).
type Compression string

// Compressions. The zero value lets the server choose (none). "gzip" is
// accepted on input as a legacy alias of [Zlib]: the bytes are zlib either way.
const (
	CompressionNone Compression = "none"
	Zlib            Compression = "zlib"
)

// AckOption is whether a TCP client acknowledges each batch (monAckOption).
type AckOption string

// Ack options. The zero value lets the server choose (off).
const (
	AckOff      AckOption = "off"      // a batch counts as delivered once written to the socket
	AckExplicit AckOption = "explicit" // the server waits for a PublishMessageReceived per batch
)

// Monitor states (Monitor.Status, monStatus).
const (
	StatusActive     = "ACTIVE"     // connected and publishing
	StatusInactive   = "INACTIVE"   // not connected; events are neither sent nor recorded
	StatusSuspended  = "SUSPENDED"  // persistent and disconnected: events are recorded for replay
	StatusConnecting = "CONNECTING" // http: the server is trying to reach the URL
	StatusDisabled   = "DISABLED"   // http: 24 h of failures; reset it with Client.Reset
)

// Monitor is a monitor as Remote Manager reports it: its configuration plus
// the read-only fields the server maintains.
//
// A Monitor is a plain value; it holds Spec.Token, which String, GoString
// and LogValue redact (so do %v, %+v, %#v, %s and %q, and MarshalJSON). Monitor defines its
// own String and GoString so that the ones promoted from Spec do not hide
// the other fields.
type Monitor struct {
	ID         uint32 // monId
	CustomerID uint32 // cstId
	Spec
	Status       string    // monStatus: one of the Status constants
	LastConnect  time.Time // monLastConnect; zero when absent or not parseable
	LastSent     time.Time // monLastSent; zero when absent or not parseable
	LastSentUUID string    // monLastSentUuid
}

// String returns a one-line description with secrets redacted.
func (m Monitor) String() string { return m.render(false) }

// GoString returns Go syntax for m with secrets redacted.
func (m Monitor) GoString() string { return m.render(true) }

// LogValue implements [slog.LogValuer] with secrets redacted.
func (m Monitor) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Uint64("id", uint64(m.ID))}
	if m.CustomerID != 0 {
		attrs = append(attrs, slog.Uint64("customer_id", uint64(m.CustomerID)))
	}
	if m.Status != "" {
		attrs = append(attrs, slog.String("status", m.Status))
	}
	attrs = append(attrs, slog.Any("spec", m.Spec))
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes m as encoding/json would by default (Spec's fields
// inline), with the secrets redacted; see [Spec.MarshalJSON]. Without it the
// MarshalJSON promoted from the embedded Spec would encode only the Spec.
func (m Monitor) MarshalJSON() ([]byte, error) {
	type monitorJSON struct {
		ID         uint32
		CustomerID uint32
		specJSON
		Status       string
		LastConnect  time.Time
		LastSent     time.Time
		LastSentUUID string
	}
	return json.Marshal(monitorJSON{m.ID, m.CustomerID, specJSON(m.Spec.redactedCopy()),
		m.Status, m.LastConnect, m.LastSent, m.LastSentUUID})
}

func (m Monitor) render(goSyntax bool) string {
	var b strings.Builder
	if goSyntax {
		b.WriteString("monitor.Monitor{ID:0x")
		b.WriteString(strconv.FormatUint(uint64(m.ID), 16))
		b.WriteString(", CustomerID:0x")
		b.WriteString(strconv.FormatUint(uint64(m.CustomerID), 16))
		b.WriteString(", Spec:")
		b.WriteString(m.Spec.GoString())
		fmt.Fprintf(&b, ", Status:%q, LastConnect:%#v, LastSent:%#v, LastSentUUID:%q}",
			m.Status, m.LastConnect, m.LastSent, m.LastSentUUID)
		return b.String()
	}
	fmt.Fprintf(&b, "{ID:%d CustomerID:%d Spec:%s Status:%s", m.ID, m.CustomerID, m.Spec.String(), m.Status)
	if !m.LastConnect.IsZero() {
		b.WriteString(" LastConnect:" + m.LastConnect.Format(time.RFC3339Nano))
	}
	if !m.LastSent.IsZero() {
		b.WriteString(" LastSent:" + m.LastSent.Format(time.RFC3339Nano))
	}
	if m.LastSentUUID != "" {
		b.WriteString(" LastSentUUID:" + m.LastSentUUID)
	}
	b.WriteByte('}')
	return b.String()
}
