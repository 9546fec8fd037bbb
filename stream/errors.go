package stream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/internal/xmlguard"
	"github.com/pushmon/pushmon/protocol"
)

// Errors a Subscription reports through Err, or that Subscribe returns.
// Permanent errors end the subscription; transient ones are retried and
// only seen in States and logs.
var (
	// ErrUnauthorized: the server answered the ConnectRequest with 403. The
	// user name or password is wrong. Permanent.
	ErrUnauthorized = errors.New("stream: push login refused (403 Unauthorized): check the user name and password")
	// ErrBadRequest: the server answered the ConnectRequest with 400: the
	// monitor id is unknown, belongs to another account or is not a tcp
	// monitor. Permanent.
	ErrBadRequest = errors.New("stream: push connect refused (400 Bad Request): unknown monitor id, a monitor of another account, or not a tcp monitor")
	// ErrProtocolVersion: the server accepted the ConnectRequest (status
	// 200) in a protocol version other than 1, the only one that exists
	// and the only one this client speaks. The error is a *VersionError.
	// Permanent: the connection is closed and not retried.
	ErrProtocolVersion = errors.New("stream: push server answered in an unsupported protocol version")
	// ErrInvalidConfig: the Config cannot work; reported by Subscribe before
	// any dial, or, as a permanent error through Err, when the Dialer
	// proves unusable (it returned neither a connection nor an error, or is
	// a nil or zero ProxyDialer).
	ErrInvalidConfig = errors.New("stream: invalid config")
	// ErrHandshakeTimeout: dial, TLS handshake and ConnectResponse did not
	// complete within Config.HandshakeTimeout. Transient.
	ErrHandshakeTimeout = errors.New("stream: handshake timed out")
	// ErrFrameTimeout: a frame started arriving but did not complete within
	// Config.FrameTimeout. Transient.
	ErrFrameTimeout = errors.New("stream: frame timed out")
	// ErrWriteTimeout: a write of acks did not complete within
	// Config.WriteTimeout: the server stopped reading the connection.
	// Transient.
	ErrWriteTimeout = errors.New("stream: ack write timed out")
	// ErrSessionClosed: Batch.Ack was called after the connection that
	// delivered the batch had ended; the server will replay the block to a
	// persistent monitor.
	ErrSessionClosed = errors.New("stream: the connection that delivered this batch has closed")
	// ErrAckExpired: Batch.Ack did not acknowledge a block because its
	// connection has since delivered a newer block with the same
	// DataBlockId (the id wraps after 65 536 blocks), which the ack would
	// name too. The block stays un-acked and is replayed after the
	// connection ends (persistent monitors). See Batch.Ack.
	ErrAckExpired = errors.New("stream: ack expired: the connection has given the block's DataBlockId to a newer block")
	// ErrGroupClosed: Group.Add was called on a Group that was closed or whose
	// context ended; or Handoff.Send was called after its member or group
	// was closed (the event was not handed over).
	ErrGroupClosed = errors.New("stream: group closed")
	// ErrInvalidRunner: Group.Add was given a nil open, or its open
	// returned neither a Runner nor an error, or a Runner whose Done
	// channel is nil (it could never end). Nothing is added.
	ErrInvalidRunner = errors.New("stream: Group.Add: open returned no usable Runner")
	// ErrTLSVersion: the TLS handshake failed because the server and the
	// client have no protocol version in common (the client requires TLS
	// 1.2 or later). It wraps crypto/tls's error. Permanent.
	ErrTLSVersion = errors.New("stream: no common TLS version (TLS 1.2 or later is required)")

	// Wrong endpoints. The error wrapping one of these says what was seen
	// and the fix. It is permanent when the server's own bytes prove the
	// cause (a TLS record or an HTTP answer where push frames were
	// expected, an HTTP or other non-TLS answer to the TLS handshake), and
	// retried when the cause is only likely (a connection closed, reset or
	// silent before any byte of an answer): a Subscription then also says
	// once at WARN, after a few such failures in a row, that they repeat.

	// ErrPortExpectsTLS: a Plaintext connection reached a port that speaks
	// TLS (it answered in TLS: permanent), or probably does (it closed the
	// connection without a byte of ConnectResponse: retried). Drop
	// Plaintext.
	ErrPortExpectsTLS = errors.New("stream: the port expects TLS")
	// ErrPortNotTLS: a TLS connection reached a port that does not speak
	// TLS (it answered the handshake with other bytes: permanent), or
	// probably does not (it closed the connection without a byte:
	// retried), such as the plaintext push port 3200.
	ErrPortNotTLS = errors.New("stream: the port does not speak TLS")
	// ErrNotPushPort: the port does not speak the push protocol: it
	// answered in HTTP (permanent), or sent nothing within
	// HandshakeTimeout (retried), as a web server does while it waits for
	// a request.
	ErrNotPushPort = errors.New("stream: the port does not speak the push protocol")
	// ErrAnotherClient: the server keeps closing healthy connections soon
	// after they connect, as it does when another client connects to the
	// same monitor (a monitor delivers to one connection, the latest).
	// Reported on States, and once at WARN; while it lasts the backoff
	// grows instead of restarting. Transient.
	ErrAnotherClient = errors.New("stream: another client is probably connected to the same monitor (a monitor serves one connection at a time): stop it, or give each client its own monitor")
)

// Errors of documents and events, reported on States (and in the HTTP
// receiver's log), never fatal to a subscription.
var (
	// ErrDocumentLimit matches a *LimitError: a document exceeds a parsing
	// budget (nesting depth 64 for JSON and XML; 64 events plus one per 16
	// bytes, and 65 535, the most a block's Count can declare; for XML also 64 attributes or namespace
	// declarations per element, names of 1 KiB, and one token per two
	// bytes plus 1024). Its block is acked, skipped and counted in
	// Stats.BadBlocks; an HTTP push is answered 413.
	ErrDocumentLimit = xmlguard.ErrLimit
	// ErrInvalidEvent matches an *EventError: an event delivered with
	// Event.Err set because its Msg is invalid.
	ErrInvalidEvent = envelope.ErrInvalidEvent
)

// LimitError names the budget a document exceeds (Limit, e.g. "nesting
// depth"), its value (Max) and the byte offset of the first token beyond
// it. It matches ErrDocumentLimit with errors.Is.
type LimitError = xmlguard.LimitError

// EventError says what is invalid in an event delivered with Event.Err
// set: the Msg's position in its document (Index), the field at fault
// (Field: "body", "topic", "operation", "timestamp", "resource", "Msg"),
// the byte offset in the document and the reason. It matches
// ErrInvalidEvent with errors.Is.
type EventError = envelope.EventError

// ConnectError is a refused ConnectRequest: the server's status other than
// 200. It matches ErrUnauthorized (403) and ErrBadRequest (400) with
// errors.Is. Every ConnectError is permanent.
type ConnectError struct {
	Status protocol.Status
	Addr   string
}

func (e *ConnectError) Error() string {
	switch e.Status {
	case protocol.StatusUnauthorized:
		return ErrUnauthorized.Error() + " (" + e.Addr + ")"
	case protocol.StatusBadRequest:
		return ErrBadRequest.Error() + " (" + e.Addr + ")"
	}
	return fmt.Sprintf("stream: push connect refused with status %d (%s)", uint16(e.Status), e.Addr)
}

// Is makes errors.Is(err, ErrUnauthorized) and ErrBadRequest work.
func (e *ConnectError) Is(target error) bool {
	return target == ErrUnauthorized && e.Status == protocol.StatusUnauthorized ||
		target == ErrBadRequest && e.Status == protocol.StatusBadRequest
}

// VersionError is a ConnectResponse of status 200 whose protocol version
// is not [protocol.Version] (1, the only version that exists). The
// connection is closed before any frame of it is read: its frames could
// not be trusted to mean what version 1's mean. Like a [ConnectError], it
// is permanent: the same server would answer the same way. It matches
// ErrProtocolVersion with errors.Is.
type VersionError struct {
	Version uint16 // the version the server answered with
	Addr    string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s: version %d, this client speaks only version %d (%s)",
		ErrProtocolVersion.Error(), e.Version, protocol.Version, e.Addr)
}

// Is makes errors.Is(err, ErrProtocolVersion) work.
func (e *VersionError) Is(target error) bool { return target == ErrProtocolVersion }

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err is one that a Subscription does not
// retry: a refused ConnectRequest, a ConnectResponse in another protocol
// version ([*VersionError]), a TLS certificate or version failure, a
// peer proved not to be a push server of the kind configured, an invalid
// configuration.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p *permanentError
	var ce *ConnectError
	var ve *VersionError
	return errors.As(err, &p) || errors.As(err, &ce) || errors.As(err, &ve) || errors.Is(err, ErrInvalidConfig)
}

// classify wraps errors that must not be retried.
func classify(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	if tlsVersionMismatch(err) {
		return &permanentError{fmt.Errorf("%w: %w", ErrTLSVersion, err)}
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		alert     tls.AlertError
		record    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verify), errors.As(err, &record):
		return &permanentError{err}
	case errors.As(err, &alert):
		// protocol_version (70), handshake_failure (40), bad_certificate (42),
		// unsupported_certificate (43), certificate_expired (45), unknown_ca (48)
		switch uint8(alert) {
		case 40, 42, 43, 45, 48, 70, 71:
			return &permanentError{err}
		}
	case errors.Is(err, protocol.ErrLooksLikeTLS), errors.Is(err, protocol.ErrLooksLikeHTTP):
		return &permanentError{err}
	case tlsConfigMismatch(err):
		return &permanentError{err}
	}
	return err
}

// tlsConfigMismatch recognises TLS handshake failures that retrying cannot
// fix: alerts received from the server about versions, ciphers or
// certificates (crypto/tls reports those as a *net.OpError with Op "remote
// error" around an unexported type), and the client's own refusal of the
// server's version.
func tlsConfigMismatch(err error) bool {
	var op *net.OpError
	msg := err.Error()
	if errors.As(err, &op) && op.Op == "remote error" {
		for _, s := range [...]string{"protocol version", "handshake failure", "bad certificate",
			"unsupported certificate", "certificate expired", "unknown certificate authority",
			"insufficient security", "certificate required"} {
			if strings.Contains(msg, s) {
				return true
			}
		}
	}
	return strings.Contains(msg, "tls: server selected unsupported protocol version") ||
		strings.Contains(msg, "tls: no supported versions")
}

// tlsVersionMismatch recognises a TLS handshake that failed on versions:
// the server's protocol_version alert (which crypto/tls reports as a
// *net.OpError around an unexported type), or the client's own refusal of
// the version the server chose.
func tlsVersionMismatch(err error) bool {
	var alert tls.AlertError
	if errors.As(err, &alert) && alert == 70 {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls: protocol version not supported") ||
		strings.Contains(msg, "tls: server selected unsupported protocol version") ||
		strings.Contains(msg, "tls: no supported versions")
}

// invalidConfig returns an error matching ErrInvalidConfig; callers never
// pass a password among args.
func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
