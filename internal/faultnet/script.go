package faultnet

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// Direction names one direction of a connection's byte stream, seen from
// the wrapped end.
type Direction uint8

const (
	// Read is the incoming stream: bytes the wrapped conn's Read returns.
	Read Direction = 1 + iota
	// Write is the outgoing stream: bytes passed to the wrapped conn's Write.
	Write
)

// String returns "read", "write" or "dir(N)".
func (d Direction) String() string {
	switch d {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "dir(" + strconv.Itoa(int(d)) + ")"
}

// CutMode says how a cut ends the connection.
type CutMode uint8

const (
	// FIN is a clean close: the wrapped end's reads return io.EOF and its
	// writes fail with an error matching syscall.EPIPE.
	FIN CutMode = iota + 1
	// RST is an abortive close: the wrapped end's reads and writes fail
	// with an error matching syscall.ECONNRESET.
	RST
)

// String returns "fin", "rst" or "mode(N)".
func (m CutMode) String() string {
	switch m {
	case FIN:
		return "fin"
	case RST:
		return "rst"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Fault is one scripted cut in one direction of a connection: the first
// Offset bytes of that direction's stream go through, byte Offset and
// everything after it never do. Build it with [Cut].
type Fault struct {
	Offset int64
	Mode   CutMode
}

// Cut returns the Fault that ends the connection after exactly n bytes.
func Cut(n int64, mode CutMode) Fault { return Fault{Offset: n, Mode: mode} }

// String returns the fault as "cut@120/rst".
func (f Fault) String() string {
	return "cut@" + strconv.FormatInt(f.Offset, 10) + "/" + f.Mode.String()
}

// Script lists the faults of one connection. It is plain data that prints
// itself, so a failing test can show what was injected.
type Script struct {
	Read  []Fault // at most one
	Write []Fault // at most one
	// OnFault, if not nil, is called on the goroutine whose Read or Write
	// made the cut take effect, after it did.
	OnFault func(Event)
}

// String returns the script as "read[cut@3/fin] write[—]".
func (s Script) String() string {
	list := func(fs []Fault) string {
		if len(fs) == 0 {
			return "—"
		}
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = f.String()
		}
		return strings.Join(parts, " ")
	}
	return "read[" + list(s.Read) + "] write[" + list(s.Write) + "]"
}

// Validate reports why s cannot be run: more than one cut in a direction,
// a negative offset or an unknown mode. The error matches ErrInvalidScript.
func (s Script) Validate() error {
	for _, d := range []struct {
		dir Direction
		fs  []Fault
	}{{Read, s.Read}, {Write, s.Write}} {
		if len(d.fs) > 1 {
			return fmt.Errorf("%w: %d cuts on the %v side, at most one", ErrInvalidScript, len(d.fs), d.dir)
		}
		for _, f := range d.fs {
			if f.Offset < 0 || (f.Mode != FIN && f.Mode != RST) {
				return fmt.Errorf("%w: %v side: %v", ErrInvalidScript, d.dir, f)
			}
		}
	}
	return nil
}

// Event records a cut taking effect.
type Event struct {
	Dir    Direction // the direction whose cut fired
	Offset int64     // that direction's stream offset: the cut's Offset
	Fault  Fault
}

// String describes the event, for example "write cut@120/rst".
func (e Event) String() string { return e.Dir.String() + " " + e.Fault.String() }

var (
	// ErrInvalidScript matches the error of a Script that cannot be run.
	ErrInvalidScript = errors.New("faultnet: invalid script")
	// ErrInjected matches every [*FaultError]: an operation failed because
	// a scripted cut ended the connection, not because the network did.
	ErrInjected = errors.New("faultnet: injected fault")
	// ErrNilConn is returned by a Dialer whose Dial returns a nil conn
	// without an error.
	ErrNilConn = errors.New("faultnet: nil net.Conn")
)

// FaultError is the error a Conn's Read or Write returns after a scripted
// cut ended the connection (a FIN cut's reads return plain io.EOF
// instead). Err is syscall.ECONNRESET for an RST cut and syscall.EPIPE for
// writes after a FIN cut, so code that classifies network errors with
// errors.Is treats an injected cut like a real one; errors.Is(err,
// ErrInjected) tells them apart. FaultError implements net.Error (never a
// timeout).
type FaultError struct {
	Op    string // "read" or "write": the operation that failed
	Event        // the cut
	Err   error  // syscall.ECONNRESET or syscall.EPIPE
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

// errno returns the error a cut of mode m gives op.
func errno(m CutMode) error {
	if m == RST {
		return syscall.ECONNRESET
	}
	return syscall.EPIPE
}
