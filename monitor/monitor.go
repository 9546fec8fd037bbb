package monitor

import "time"

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
// A Monitor is a plain value. Its secrets are those of its Spec, held in
// secret.String values, so fmt, encoding/json and log/slog print a Monitor
// with them redacted.
type Monitor struct {
	ID         uint32 // monId
	CustomerID uint32 // cstId
	Spec
	Status       string    // monStatus: one of the Status constants
	LastConnect  time.Time // monLastConnect; zero when absent or not parseable
	LastSent     time.Time // monLastSent; zero when absent or not parseable
	LastSentUUID string    // monLastSentUuid
}
