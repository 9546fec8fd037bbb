package stream

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Diagnosing a wrong endpoint: a failure before the ConnectResponse whose
// likely cause is the port rather than the network gets an error that
// names the cause and the fix (see ErrPortExpectsTLS, ErrPortNotTLS,
// ErrNotPushPort).

// endpointError is a connection attempt that failed the way a wrong
// endpoint fails. It matches its cause (one of the sentinels above) and
// the error observed. certain ones, proved by the server's own bytes, are
// permanent; the others are likely causes, retried with the hint.
type endpointError struct {
	cause   error
	certain bool
	hint    string
	err     error
}

func (e *endpointError) Error() string   { return e.err.Error() + ": " + e.hint }
func (e *endpointError) Unwrap() []error { return []error{e.cause, e.err} }

// wrongEndpoint returns err with its diagnosis, permanent when certain.
func wrongEndpoint(err, cause error, certain bool, hint string, args ...any) error {
	e := &endpointError{cause: cause, certain: certain, hint: fmt.Sprintf(hint, args...), err: err}
	if certain {
		return &permanentError{e}
	}
	return e
}

// firstByteConn records whether anything was read from a connection, to
// tell a peer that never said a word from one that stopped half-way.
type firstByteConn struct {
	net.Conn
	got atomic.Bool
}

func (c *firstByteConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.got.Load() {
		c.got.Store(true)
	}
	return n, err
}

// portOf returns addr's port, or addr when it has none.
func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return addr
}

// silentOrClosed tells how a peer that sent nothing ended the attempt:
// "closed" (EOF or reset), "silent" (the handshake timed out) or "".
func silentOrClosed(err error) string {
	switch {
	case errors.Is(err, ErrHandshakeTimeout):
		return "silent"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrClosedPipe):
		return "closed"
	}
	return ""
}

// diagnoseTLS explains a failed TLS handshake with addr; got tells
// whether the server sent any byte.
func diagnoseTLS(err error, addr string, got bool, timeout time.Duration) error {
	port := portOf(addr)
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		// The server answered the ClientHello, and not in TLS.
		if bytes.HasPrefix(rh.RecordHeader[:], []byte("HTTP/")) {
			return wrongEndpoint(err, ErrNotPushPort, true,
				"port %s answered the TLS handshake in HTTP: it is a web port, not a push port (TLS push port: %d)", port, DefaultTLSPort)
		}
		return wrongEndpoint(err, ErrPortNotTLS, true,
			"port %s does not speak TLS (it answered the handshake with other bytes): use the TLS push port %d, or connect in plaintext (set Plaintext; trusted networks only)",
			port, DefaultTLSPort)
	}
	if got {
		return err
	}
	switch silentOrClosed(err) {
	case "closed":
		return wrongEndpoint(err, ErrPortNotTLS, false,
			"port %s probably does not speak TLS (a plaintext port such as %d?): use the TLS push port %d, or connect in plaintext (set Plaintext; trusted networks only)",
			port, DefaultPlaintextPort, DefaultTLSPort)
	case "silent":
		return wrongEndpoint(err, ErrNotPushPort, false,
			"port %s speaks neither TLS nor the push protocol (no answer to the TLS handshake in %v; a web server waits like this): the TLS push port is %d",
			port, timeout, DefaultTLSPort)
	}
	return err
}

// diagnoseReply explains a failure awaiting the ConnectResponse from addr;
// got tells whether any byte of it arrived.
func diagnoseReply(err error, addr string, plaintext, got bool, timeout time.Duration) error {
	port := portOf(addr)
	switch {
	case errors.Is(err, protocol.ErrLooksLikeHTTP):
		return wrongEndpoint(err, ErrNotPushPort, true,
			"port %s answered in HTTP: it is a web port, not a push port (%d TLS, %d plaintext)", port, DefaultTLSPort, DefaultPlaintextPort)
	case plaintext && errors.Is(err, protocol.ErrLooksLikeTLS):
		return wrongEndpoint(err, ErrPortExpectsTLS, true, "port %s speaks TLS: connect with TLS (drop Plaintext)", port)
	case got:
		return err
	}
	switch silentOrClosed(err) {
	case "closed":
		if plaintext {
			return wrongEndpoint(err, ErrPortExpectsTLS, false,
				"port %s probably expects TLS: connect with TLS (drop Plaintext; the TLS push port is %d)", port, DefaultTLSPort)
		}
	case "silent":
		if plaintext {
			return wrongEndpoint(err, ErrNotPushPort, false,
				"port %s does not speak the push protocol (no answer to the ConnectRequest in %v; a web server waits like this, and so may a TLS port: connect with TLS to it): push ports are %d TLS, %d plaintext",
				port, timeout, DefaultTLSPort, DefaultPlaintextPort)
		}
		return wrongEndpoint(err, ErrNotPushPort, false,
			"port %s does not speak the push protocol (no answer to the ConnectRequest in %v; an HTTPS port waits like this): the TLS push port is %d",
			port, timeout, DefaultTLSPort)
	}
	return err
}

// Repeated failures and the takeover pattern, as the supervisor sees them
// between attempts.

const (
	// repeatWarnAfter identical failures in a row are reported once more
	// at WARN, as such; the ones between and after are logged at INFO.
	repeatWarnAfter = 3
	// takeoverAfter connections in a row closed by the server soon after
	// connecting make the takeover pattern: another client probably holds
	// the same monitor, and each connect of one closes the other's.
	takeoverAfter = 3
	// takeoverClear: while the pattern holds, a connection counts as
	// "soon closed" unless it lasted this long (longer than any default
	// backoff delay, which is what the other client's connection lasts).
	takeoverClear = 5 * time.Minute
)

// diagnosis is the supervisor's memory of past attempts. Only the
// supervisor goroutine uses it.
type diagnosis struct {
	connectedAt time.Time // when the session that just ended connected (zero: it did not)
	kind        string    // the last failure's kind (see failureKind)
	repeats     int       // failures of that kind in a row
	kicks       int       // connections in a row closed by the server soon after connecting
	takenOver   bool      // the takeover pattern holds (reported once)
}

// failureKind names what failed, without the details that change from
// one attempt to the next (local ports, durations): the first cause the
// error wraps, followed to its root.
func failureKind(err error) string {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if next := u.Unwrap(); next != nil {
				err = next
				continue
			}
		case interface{ Unwrap() []error }:
			if l := u.Unwrap(); len(l) > 0 && l[0] != nil {
				err = l[0]
				continue
			}
		}
		return err.Error()
	}
}

// serverClosed reports whether err is the server ending a connection: EOF
// or a reset.
func serverClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// takeover updates the pattern with the attempt that just ended. While the
// pattern holds, a connection soon closed is not healthy (the backoff
// keeps growing) and its error is wrapped in ErrAnotherClient; first
// reports whether the pattern began with this attempt.
func (d *diagnosis) takeover(healthy bool, err error) (bool, error, bool) {
	lasted := time.Duration(-1)
	if !d.connectedAt.IsZero() {
		lasted = time.Since(d.connectedAt)
		d.connectedAt = time.Time{}
	}
	window := healthyAfter
	if d.takenOver {
		window = takeoverClear
	}
	if lasted < 0 || lasted >= window || !serverClosed(err) {
		d.kicks, d.takenOver = 0, false
		return healthy, err, false
	}
	d.kicks++
	if d.kicks < takeoverAfter {
		return healthy, err, false
	}
	first := !d.takenOver
	d.takenOver = true
	err = fmt.Errorf("%w: the server closed the connection %d times in a row within %v of connecting: %w",
		ErrAnotherClient, d.kicks, window, err)
	return false, err, first
}

// repeat counts err's kind and returns how many failures of that kind
// came in a row, this one included. A healthy session starts the count
// afresh.
func (d *diagnosis) repeat(healthy bool, err error) int {
	k := failureKind(err)
	if healthy || k != d.kind {
		d.kind, d.repeats = k, 0
	}
	d.repeats++
	return d.repeats
}
