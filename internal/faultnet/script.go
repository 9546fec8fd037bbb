package faultnet

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Direction names one direction of a connection's byte stream, seen from
// the wrapped end: Read is the bytes arriving (what Read returns), Write the
// bytes leaving (what Write is given). The values are bit flags so that
// [RandomOptions.Dirs] can name both; an [Event] always carries exactly one.
type Direction uint8

const (
	// Read is the incoming stream: bytes the wrapped conn's Read returns.
	Read Direction = 1 << iota
	// Write is the outgoing stream: bytes passed to the wrapped conn's Write.
	Write
)

// String returns "read", "write", "read|write" or "dir(N)" for other values.
func (d Direction) String() string {
	switch d {
	case Read:
		return "read"
	case Write:
		return "write"
	case Read | Write:
		return "read|write"
	}
	return "dir(" + strconv.Itoa(int(d)) + ")"
}

// Kind is the kind of a [Fault].
type Kind uint8

const (
	// KindCut ends the connection once Offset bytes have passed in the
	// fault's direction: the first Offset bytes go through, byte Offset and
	// everything after it never do. See [Cut].
	KindCut Kind = iota + 1
	// KindStall stops the direction at Offset: bytes before Offset pass,
	// then nothing more until [Conn.Release], Close or a deadline. See [Stall].
	KindStall
	// KindSlice splits the direction into pieces of at most Size bytes. See
	// [Slice].
	KindSlice
	// KindDelay holds each piece for Delay before it passes. See [Delay].
	KindDelay
	// KindRate limits the direction to Rate bytes per second. See [Rate].
	KindRate
	// KindDrop silently discards bytes [Offset, End). See [Drop].
	KindDrop
	// KindCorrupt XORs the byte at Offset with Mask. See [Corrupt].
	KindCorrupt
)

var kindNames = [...]string{
	KindCut:     "cut",
	KindStall:   "stall",
	KindSlice:   "slice",
	KindDelay:   "delay",
	KindRate:    "rate",
	KindDrop:    "drop",
	KindCorrupt: "corrupt",
}

// String returns the kind's lower-case name, or "kind(N)" for an unknown kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// CutMode says how a [KindCut] fault ends the connection.
type CutMode uint8

const (
	// FIN is a clean close: the wrapped end's reads return io.EOF, its
	// writes fail with an error matching syscall.EPIPE, and the peer sees
	// an orderly end of stream.
	FIN CutMode = iota + 1
	// RST is an abortive close: the wrapped end's reads and writes fail with
	// an error matching syscall.ECONNRESET, and on a TCP connection the
	// socket is closed with SO_LINGER 0 so the peer sees a reset too.
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

// Fault is one scripted fault in one direction of a connection. It is plain
// data; build it with the constructors ([Cut], [Stall], [Slice], [Delay],
// [Rate], [Drop], [Corrupt]) or as a literal. Which fields matter depends on
// Kind; the others must be zero.
//
// Offsets count bytes of the direction's stream as its sender produced it
// (for Write, the bytes the caller passed to Write; for Read, the bytes
// arriving from the inner conn), starting at 0, before any Drop removes
// bytes. Without a Drop, offset N is simply the (N+1)-th byte through.
type Fault struct {
	Kind   Kind
	Offset int64         // Cut, Stall, Corrupt: the byte; Drop: first dropped byte
	End    int64         // Drop: one past the last dropped byte
	Mode   CutMode       // Cut: FIN or RST
	Size   int           // Slice: largest piece in bytes (≥ 1)
	Delay  time.Duration // Delay: how long each piece is held (> 0)
	Rate   int64         // Rate: bytes per second (≥ 1)
	Mask   byte          // Corrupt: XOR mask (≠ 0)
}

// Cut returns a fault that lets exactly n bytes through in its direction and
// then ends the connection with mode (FIN or RST). The cut takes effect as
// soon as the n-th byte has passed (in the same Read or Write call), so the
// peer sees the end of stream without waiting for more traffic; a cut at 0
// takes effect on the first non-empty Read or Write in its direction. A cut
// ends both directions.
func Cut(n int64, mode CutMode) Fault { return Fault{Kind: KindCut, Offset: n, Mode: mode} }

// Stall returns a fault that lets n bytes through and then blocks the
// direction: Reads (or Writes) that would pass byte n wait until
// [Conn.Release], Close, a cut or the direction's deadline.
func Stall(n int64) Fault { return Fault{Kind: KindStall, Offset: n} }

// Slice returns a fault that splits its direction into pieces of at most k
// bytes: on Write each piece is a separate Write to the inner conn; on Read
// each call returns at most k bytes.
func Slice(k int) Fault { return Fault{Kind: KindSlice, Size: k} }

// Delay returns a fault that holds each piece for d before it passes: each
// Write to the inner conn is preceded by d, and each Read returns its bytes d
// after they arrived from the inner conn. Combined with [Slice] it makes a
// trickle.
func Delay(d time.Duration) Fault { return Fault{Kind: KindDelay, Delay: d} }

// Rate returns a fault that limits its direction to bytesPerSec: every byte
// costs exactly 1/bytesPerSec seconds, charged before the piece holding it
// passes (cumulatively, so N bytes cost N/bytesPerSec in total however they
// are split). Idle time earns no credit.
func Rate(bytesPerSec int64) Fault { return Fault{Kind: KindRate, Rate: bytesPerSec} }

// Drop returns a fault that silently discards bytes [n, m) of its
// direction: on Write they are reported as written but never reach the inner
// conn; on Read they are consumed from the inner conn and never returned.
func Drop(n, m int64) Fault { return Fault{Kind: KindDrop, Offset: n, End: m} }

// Corrupt returns a fault that XORs byte n of its direction with mask. On
// Write the caller's buffer is not modified.
func Corrupt(n int64, mask byte) Fault { return Fault{Kind: KindCorrupt, Offset: n, Mask: mask} }

// String describes the fault compactly, for example "cut@120/rst",
// "stall@7", "slice≤3", "delay 10ms", "rate 100B/s", "drop[10:20)",
// "corrupt@5^0x01".
func (f Fault) String() string {
	switch f.Kind {
	case KindCut:
		return "cut@" + strconv.FormatInt(f.Offset, 10) + "/" + f.Mode.String()
	case KindStall:
		return "stall@" + strconv.FormatInt(f.Offset, 10)
	case KindSlice:
		return "slice≤" + strconv.Itoa(f.Size)
	case KindDelay:
		return "delay " + f.Delay.String()
	case KindRate:
		return "rate " + strconv.FormatInt(f.Rate, 10) + "B/s"
	case KindDrop:
		return "drop[" + strconv.FormatInt(f.Offset, 10) + ":" + strconv.FormatInt(f.End, 10) + ")"
	case KindCorrupt:
		return fmt.Sprintf("corrupt@%d^%#02x", f.Offset, f.Mask)
	}
	return fmt.Sprintf("%v{offset=%d end=%d mode=%v size=%d delay=%v rate=%d mask=%#02x}",
		f.Kind, f.Offset, f.End, f.Mode, f.Size, f.Delay, f.Rate, f.Mask)
}

// Script is the plan of faults for one connection: Read lists the faults on
// the incoming stream, Write those on the outgoing stream. The zero Script
// injects nothing. A Script is plain data except for OnFault, and a Conn
// keeps its own copy of the fault lists, so a Script may be reused for many
// connections.
//
// Rules (checked by [Script.Validate]): per direction at most one Slice, one
// Delay and one Rate; Drop ranges must not overlap. Several Cuts may be
// listed (the earliest wins), as may several Stalls and Corrupts.
type Script struct {
	Read  []Fault
	Write []Fault

	// OnFault, if non-nil, is called for every Event, synchronously on the
	// goroutine whose Read or Write hit the fault (or that called
	// [Conn.Release]), right after the event is logged: for a cut before
	// the inner conn is closed, for a stall before the wait begins (so
	// calling Release from OnFault lets the stall pass at once), for a drop
	// or a corruption as the bytes go by. It may call Close, Release,
	// SetDeadline, Stats and
	// Events on the conn, but must not call Read or Write on the conn in
	// the direction that fired. Calls may come from the reader and the
	// writer goroutine concurrently.
	OnFault func(Event)

	// err is set by Random when its options are invalid, so that the
	// resulting Script fails validation instead of silently doing
	// something else.
	err error
}

// String describes the script, for example
// "read[slice≤3 cut@120/rst] write[—]". OnFault is not shown.
func (s Script) String() string {
	var b strings.Builder
	if s.err != nil {
		b.WriteString("invalid(")
		b.WriteString(s.err.Error())
		b.WriteString(") ")
	}
	writeList := func(name string, fs []Fault) {
		b.WriteString(name)
		b.WriteByte('[')
		if len(fs) == 0 {
			b.WriteString("—")
		}
		for i, f := range fs {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f.String())
		}
		b.WriteByte(']')
	}
	writeList("read", s.Read)
	b.WriteByte(' ')
	writeList("write", s.Write)
	return b.String()
}

// Validate reports whether the script is well formed. The error is a
// [*ScriptError] matching [ErrInvalidScript].
func (s Script) Validate() error {
	_, _, err := s.compile()
	return err
}

// compile compiles both directions of s; on error both plans are zero.
func (s Script) compile() (r, w plan, err error) {
	if s.err != nil {
		return plan{}, plan{}, s.err
	}
	if r, err = compile(Read, s.Read); err != nil {
		return plan{}, plan{}, err
	}
	if w, err = compile(Write, s.Write); err != nil {
		return plan{}, plan{}, err
	}
	return r, w, nil
}

// plan is one direction's faults, validated and arranged for lookup.
// It is immutable once compiled.
type plan struct {
	cut      Fault   // earliest cut; Kind == 0 when none
	stalls   []Fault // ascending by Offset, one per offset
	drops    []Fault // ascending, non-overlapping
	corrupts []Fault // ascending by Offset (stable)
	slice    int     // 0: none
	delay    time.Duration
	rate     int64 // 0: none
}

func compile(dir Direction, fs []Fault) (plan, error) {
	var p plan
	bad := func(i int, f Fault, reason string) (plan, error) {
		return plan{}, &ScriptError{Dir: dir, Index: i, Fault: f, Reason: reason}
	}
	for i, f := range fs {
		var zeroRest bool // the fields that do not apply to f.Kind are zero
		switch f.Kind {
		case KindCut:
			if f.Offset < 0 {
				return bad(i, f, "negative offset")
			}
			if f.Mode != FIN && f.Mode != RST {
				return bad(i, f, "cut mode must be FIN or RST")
			}
			zeroRest = f == Cut(f.Offset, f.Mode)
			if p.cut.Kind == 0 || f.Offset < p.cut.Offset {
				p.cut = f
			}
		case KindStall:
			if f.Offset < 0 {
				return bad(i, f, "negative offset")
			}
			zeroRest = f == Stall(f.Offset)
			p.stalls = append(p.stalls, f)
		case KindSlice:
			if f.Size < 1 {
				return bad(i, f, "slice size must be at least 1")
			}
			if p.slice != 0 {
				return bad(i, f, "more than one slice fault")
			}
			zeroRest = f == Slice(f.Size)
			p.slice = f.Size
		case KindDelay:
			if f.Delay <= 0 {
				return bad(i, f, "delay must be positive")
			}
			if p.delay != 0 {
				return bad(i, f, "more than one delay fault")
			}
			zeroRest = f == Delay(f.Delay)
			p.delay = f.Delay
		case KindRate:
			if f.Rate < 1 {
				return bad(i, f, "rate must be at least 1 byte per second")
			}
			if p.rate != 0 {
				return bad(i, f, "more than one rate fault")
			}
			zeroRest = f == Rate(f.Rate)
			p.rate = f.Rate
		case KindDrop:
			if f.Offset < 0 || f.End <= f.Offset {
				return bad(i, f, "drop range must satisfy 0 ≤ start < end")
			}
			zeroRest = f == Drop(f.Offset, f.End)
			p.drops = append(p.drops, f)
		case KindCorrupt:
			if f.Offset < 0 {
				return bad(i, f, "negative offset")
			}
			if f.Mask == 0 {
				return bad(i, f, "corrupt mask must be non-zero")
			}
			zeroRest = f == Corrupt(f.Offset, f.Mask)
			p.corrupts = append(p.corrupts, f)
		default:
			return bad(i, f, "unknown fault kind")
		}
		if !zeroRest {
			return bad(i, f, "fields that do not apply to a "+f.Kind.String()+" fault must be zero")
		}
	}
	byOffset := func(a, b Fault) int { return cmp.Compare(a.Offset, b.Offset) }
	slices.SortStableFunc(p.stalls, byOffset)
	p.stalls = slices.CompactFunc(p.stalls, func(a, b Fault) bool { return a.Offset == b.Offset })
	slices.SortStableFunc(p.corrupts, byOffset)
	slices.SortStableFunc(p.drops, byOffset)
	for i := 1; i < len(p.drops); i++ {
		if p.drops[i].Offset < p.drops[i-1].End {
			j := slices.IndexFunc(fs, func(f Fault) bool { return f == p.drops[i] })
			return bad(j, p.drops[i], "drop range overlaps "+p.drops[i-1].String())
		}
	}
	return p, nil
}
