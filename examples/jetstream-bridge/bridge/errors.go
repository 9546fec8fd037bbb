package bridge

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the bridge. Match them with errors.Is.
var (
	// ErrInvalidConfig: a Config, subject prefix or stream configuration
	// cannot work; returned by New, ValidPrefix, EnsureStream and
	// CheckStream before anything is started or created.
	ErrInvalidConfig = errors.New("bridge: invalid config")
	// ErrStreamMismatch: an existing stream does not fit the bridge (it
	// does not capture the bridge's subjects, its duplicate window is too
	// short, or it cannot acknowledge publishes). The error is a
	// *StreamMismatchError listing the problems.
	ErrStreamMismatch = errors.New("bridge: the stream does not fit the bridge")
	// ErrJetStreamUnavailable: JetStream did not answer the check made
	// before a monitor's blocks are taken, or the NATS connection was
	// lost (disconnected, reconnecting) during a session. Transient: the
	// bridge waits and tries again.
	ErrJetStreamUnavailable = errors.New("bridge: JetStream is unavailable")
	// ErrRejected: JetStream refused an event for good (larger than the
	// server's max_payload or the stream's max message size, or stored in
	// another stream than the configured one). The monitor stops, its
	// block un-acknowledged, so nothing is lost; a *PublishError says which
	// event.
	ErrRejected = errors.New("bridge: JetStream rejected an event")
	// ErrConnClosed: the NATS connection is closed for good (by its owner,
	// or out of reconnect attempts). Permanent: Run returns it.
	ErrConnClosed = errors.New("bridge: the NATS connection is closed")
	// ErrAlreadyRun: Run was called a second time; a Bridge runs once.
	ErrAlreadyRun = errors.New("bridge: Run called twice")
)

// PublishError is a failed publish of one event: JetStream did not confirm
// it (a timeout, a lost connection, no stream answering) or refused it.
// Every PublishError ends the monitor's session with its block
// un-acknowledged, so Remote Manager replays it; permanent ones (matching
// ErrRejected) also stop the monitor.
type PublishError struct {
	MonitorID uint32
	Subject   string
	MsgID     string // the event's Nats-Msg-Id
	Err       error
	permanent bool
}

// Error describes the failure; it holds no event data.
func (e *PublishError) Error() string {
	kind := "not confirmed"
	if e.permanent {
		kind = "rejected"
	}
	return fmt.Sprintf("bridge: monitor %d: event %s on %s %s by JetStream: %v", e.MonitorID, e.MsgID, e.Subject, kind, e.Err)
}

// Unwrap returns the cause.
func (e *PublishError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRejected) true for permanent failures.
func (e *PublishError) Is(target error) bool { return target == ErrRejected && e.permanent }

// Permanent reports whether retrying cannot help.
func (e *PublishError) Permanent() bool { return e.permanent }

// StreamMismatchError lists why an existing stream does not fit. It
// matches ErrStreamMismatch.
type StreamMismatchError struct {
	Stream   string
	Problems []string
}

// Error lists the problems.
func (e *StreamMismatchError) Error() string {
	return fmt.Sprintf("bridge: stream %q does not fit the bridge: %s (fix the stream, or run with stream updates allowed)",
		e.Stream, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrStreamMismatch) true.
func (e *StreamMismatchError) Is(target error) bool { return target == ErrStreamMismatch }
