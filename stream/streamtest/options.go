package streamtest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A Server's options: Options, the defaults of its fields, and its
// printing with passwords redacted.

// DefaultUsers returns the credentials accepted when Options.Users is nil:
// user "user", password "password". Each call returns a new map, which the
// caller owns.
func DefaultUsers() map[string]string { return map[string]string{"user": "password"} }

// Defaults.
const (
	// DefaultCustomerID is the customer id when Options.CustomerID is 0.
	DefaultCustomerID = 1234
	// DefaultMaxQueuedEvents bounds each monitor's queue (events waiting
	// to be sent, recorded ones included) when Options.MaxQueuedEvents is
	// 0. Events published beyond it are dropped and counted in
	// Stats.Dropped.
	DefaultMaxQueuedEvents = 1_000_000
	// DefaultHandshakeTimeout bounds the time from accepting a push
	// connection to having read its ConnectRequest.
	DefaultHandshakeTimeout = 30 * time.Second
	// FirstMonitorID is the id of the first monitor a Server creates; ids
	// above 65535 catch clients that squeeze them into 16 bits.
	FirstMonitorID = 100001
)

// Options configures a Server. The zero value is a working server on
// loopback ports with DefaultUsers.
//
// Options implements String, GoString and Format so that printing it never
// shows a password.
type Options struct {
	// Users maps user names to passwords. They are accepted by REST Basic
	// auth and by push ConnectRequests. nil means DefaultUsers(). The map
	// is copied by Start.
	Users map[string]string
	// CustomerID is the cstId of every monitor and the prefix of every
	// event topic. 0 means DefaultCustomerID (1234).
	CustomerID uint32
	// Listen addresses of the REST API, the plain push port and the TLS
	// push port. "" means "127.0.0.1:0" (a free port); "-" means do not
	// listen (ServeConn and Handler still work).
	HTTPAddr, PushAddr, PushTLSAddr string
	// HTTPSAddr, unlike the others, listens only when set: the REST API
	// over TLS, with the TLS push certificate (see CertPool). "-" also
	// means do not listen.
	HTTPSAddr string
	// InFlight is the most un-acked blocks per connection for
	// explicit-ack monitors: 0 means unlimited (pipelining; in fact
	// 65535, the DataBlockId space), 1 means stop-and-wait.
	InFlight int
	// AcceptLegacyAck makes push connections also accept the 6-byte ack
	// of old Python clients. Without it such an ack is a protocol error
	// that closes the connection.
	AcceptLegacyAck bool
	// FirstBlockID is the DataBlockId of the first block on each
	// connection (default 0), to test the wrap at 0xFFFF quickly.
	FirstBlockID uint16
	// Logf receives diagnostics, one line per REST call included; nil
	// means silent. Passwords are never logged. t.Logf is a good choice;
	// close the Server before the test ends.
	Logf func(format string, args ...any)
	// Warnf receives one line, naming the fix, for each client mistake
	// the Server refuses: an ack it cannot accept. nil means Logf.
	Warnf func(format string, args ...any)
	// HandshakeTimeout bounds the wait for a ConnectRequest (and a TLS
	// handshake). 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxQueuedEvents bounds each monitor's queue. 0 means
	// DefaultMaxQueuedEvents.
	MaxQueuedEvents int

	// HTTPRetryInterval is how long an http monitor waits before pushing a
	// failed block again; 0 means DefaultHTTPRetryInterval (16 min, the
	// service's schedule). Tests shorten it.
	HTTPRetryInterval time.Duration
	// HTTPDisableAfter is how long pushes may keep failing before the
	// monitor becomes DISABLED; 0 means DefaultHTTPDisableAfter (24 h).
	HTTPDisableAfter time.Duration
	// HTTPClient sends the pushes of http monitors (to trust a test
	// server's certificate, say). nil means a client of its own per
	// monitor, without proxy. Each push is bounded by the monitor's
	// connect plus response timeout either way. Redirects are not
	// followed (its CheckRedirect is replaced): a 3xx answer is a failed
	// push, retried like any answer other than 2xx. Unlike the service,
	// the simulator pushes to loopback URLs.
	HTTPClient *http.Client
}

// String describes the options with passwords redacted.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("{Users:")
	if o.Users == nil {
		b.WriteString("<default>")
	} else {
		b.WriteString("[")
		for i, u := range slices.Sorted(maps.Keys(o.Users)) {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q:[REDACTED]", u)
		}
		b.WriteString("]")
	}
	fmt.Fprintf(&b, " CustomerID:%d HTTPAddr:%q HTTPSAddr:%q PushAddr:%q PushTLSAddr:%q InFlight:%d AcceptLegacyAck:%t FirstBlockID:%d Logf:%t Warnf:%t HandshakeTimeout:%v MaxQueuedEvents:%d}",
		o.CustomerID, o.HTTPAddr, o.HTTPSAddr, o.PushAddr, o.PushTLSAddr, o.InFlight, o.AcceptLegacyAck,
		o.FirstBlockID, o.Logf != nil, o.Warnf != nil, o.HandshakeTimeout, o.MaxQueuedEvents)
	return b.String()
}

// GoString returns the same redacted form as String.
func (o Options) GoString() string { return "streamtest.Options" + o.String() }

// Format makes every verb print the redacted form.
func (o Options) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, o.GoString())
		return
	}
	fmt.Fprint(f, o.String())
}
