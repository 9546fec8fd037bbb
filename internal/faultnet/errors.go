package faultnet

import (
	"errors"
	"strconv"
)

var (
	// ErrInvalidScript matches every [*ScriptError]: a Script (or the
	// RandomOptions it was made from) that cannot be run.
	ErrInvalidScript = errors.New("faultnet: invalid script")

	// ErrInjected matches every [*FaultError]: an operation failed because
	// a scripted fault ended the connection, not because the network did.
	ErrInjected = errors.New("faultnet: injected fault")

	// ErrNilConn is returned by every operation on a Conn made by Wrap from
	// a nil net.Conn, and by a Dialer whose Dial returns a nil conn
	// without an error.
	ErrNilConn = errors.New("faultnet: nil net.Conn")

	// ErrNilListener is returned by a Listener made by Listen from a nil
	// net.Listener.
	ErrNilListener = errors.New("faultnet: nil net.Listener")
)

// ScriptError describes why a Script is invalid. It matches
// [ErrInvalidScript] with errors.Is.
type ScriptError struct {
	Dir    Direction // which list holds the bad fault; 0 for RandomOptions
	Index  int       // index of the bad fault in that list; -1 for RandomOptions
	Fault  Fault     // the bad fault (zero for RandomOptions)
	Reason string    // what is wrong, for humans
}

func (e *ScriptError) Error() string {
	s := ErrInvalidScript.Error() + ": "
	if e.Dir != 0 {
		s += e.Dir.String() + " fault " + strconv.Itoa(e.Index) + " (" + e.Fault.String() + "): "
	}
	return s + e.Reason
}

// Is reports whether target is ErrInvalidScript.
func (e *ScriptError) Is(target error) bool { return target == ErrInvalidScript }

// FaultError is the error a Conn's Read or Write returns after a scripted
// cut ended the connection (a FIN cut's reads return plain io.EOF instead).
// Err is syscall.ECONNRESET for an RST cut and syscall.EPIPE for writes
// after a FIN cut, so code that classifies network errors with errors.Is
// treats an injected cut like a real one; errors.Is(err, ErrInjected) tells
// them apart. FaultError implements net.Error (never a timeout).
type FaultError struct {
	Op     string    // "read" or "write": the operation that failed
	Dir    Direction // the direction whose cut fired
	Offset int64     // that direction's stream offset when the cut fired
	Fault  Fault     // the cut
	Err    error     // syscall.ECONNRESET or syscall.EPIPE
}

func (e *FaultError) Error() string {
	return "faultnet: " + e.Op + ": injected " + e.Fault.String() + " on " + e.Dir.String() +
		" side at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *FaultError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInjected.
func (e *FaultError) Is(target error) bool { return target == ErrInjected }

// Timeout reports false: a cut is not a timeout.
func (e *FaultError) Timeout() bool { return false }

// Temporary reports false (net.Error requires the method; it is deprecated).
func (e *FaultError) Temporary() bool { return false }
