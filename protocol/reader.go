package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Side says which end of the connection a Reader serves, and so which frame
// types it accepts.
type Side uint8

const (
	// ClientSide reads what a server sends: ConnectResponse and
	// PublishMessage. It is the zero value.
	ClientSide Side = iota
	// ServerSide reads what a client sends: ConnectRequest and acks.
	ServerSide
)

// ReaderOptions configures a Reader. The zero value gives a client-side
// reader with the package defaults.
type ReaderOptions struct {
	// BufferSize is the size of the read buffer; frames that fit in it are
	// returned without a copy. 0 means DefaultBufferSize (4 KiB); values
	// below 64 are raised to 64.
	BufferSize int
	// MaxFrameSize bounds the Size field of every frame. A larger declared
	// size fails with ErrFrameTooLarge before any body byte is read.
	// 0 means DefaultMaxFrameSize (16 MiB). It also bounds the memory a
	// Reader keeps: the buffer for frames larger than BufferSize grows to
	// the largest frame read (so up to MaxFrameSize) and is kept for the
	// Reader's lifetime.
	MaxFrameSize uint32
	// Side selects the accepted frame types; frames of the other direction
	// fail with ErrWrongDirection.
	Side Side
	// AcceptLegacyAck makes a server-side reader accept the undocumented
	// 6-byte ack (type, id, status) that some old clients send, besides the
	// documented 10-byte form. Only for servers that must serve such clients.
	AcceptLegacyAck bool
	// PoisonBorrowed, a debugging aid, overwrites the previous frame's
	// payload with 0xA5 bytes before reading the next frame, so that code
	// that wrongly keeps a borrowed payload sees garbage at once instead of
	// silently reading later bytes. Costs a memset per frame.
	PoisonBorrowed bool
}

// Frame is one frame as read: its type and its payload (the bytes after the
// 6-byte header). Payload is borrowed; see [Reader.ReadFrame].
type Frame struct {
	Type    Type
	Payload []byte
}

// String describes the frame without its payload bytes, which may hold a
// password.
func (f Frame) String() string {
	return f.Type.String() + "(" + strconv.Itoa(len(f.Payload)) + " bytes)"
}

// GoString is the same as String, so %#v cannot print payload bytes either.
func (f Frame) GoString() string { return "protocol.Frame{" + f.String() + "}" }

// Format makes every verb (%d and %x included, which would otherwise print
// the payload bytes) print String's form, or GoString's for %#v.
func (f Frame) Format(s fmt.State, verb rune) {
	if verb == 'v' && s.Flag('#') {
		io.WriteString(s, f.GoString())
		return
	}
	io.WriteString(s, f.String())
}

// MarshalText returns String's form, so that encoding/json (and log/slog's
// JSON handler) print no payload bytes either: it would otherwise print
// them as base64, a ConnectRequest's password included.
func (f Frame) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Reader reads frames from an io.Reader. It buffers like bufio.Reader and
// keeps all scratch space in itself, so reading a frame allocates nothing in
// steady state.
//
// Create Readers with NewReader: the zero value has no underlying reader
// and is not usable (its methods panic).
//
// A Reader is not safe for concurrent use. It owns its buffers; the payloads
// it returns are loans (see ReadFrame). Besides its read buffer it keeps,
// for its lifetime, the buffer grown for the largest frame it has read that
// did not fit in the read buffer: up to ReaderOptions.MaxFrameSize bytes.
type Reader struct {
	rd     io.Reader
	buf    []byte // fixed-size read buffer
	r, w   int    // buf[r:w] is buffered, unread data
	big    []byte // reused body buffer for frames larger than buf
	max    uint32
	side   Side
	legacy bool
	poison bool
	last   []byte // previous payload, for PoisonBorrowed
	frames uint64 // frames returned so far
	sticky error  // first error; every later call returns it
}

// NewReader returns a Reader over rd configured by opts.
func NewReader(rd io.Reader, opts ReaderOptions) *Reader {
	size := opts.BufferSize
	if size == 0 {
		size = DefaultBufferSize
	}
	size = max(size, 64)
	maxFrame := opts.MaxFrameSize
	if maxFrame == 0 {
		maxFrame = DefaultMaxFrameSize
	}
	// On 32-bit platforms a frame must also fit in an int.
	maxFrame = uint32(min(uint64(maxFrame), uint64(math.MaxInt-HeaderSize)))
	return &Reader{
		rd:     rd,
		buf:    make([]byte, size),
		max:    maxFrame,
		side:   opts.Side,
		legacy: opts.AcceptLegacyAck,
		poison: opts.PoisonBorrowed,
	}
}

// Buffered returns the number of bytes already read from the underlying
// reader but not yet returned in a frame.
func (r *Reader) Buffered() int { return r.w - r.r }

// SetBuffer makes buf the read buffer, moving into it the bytes buffered
// and not yet returned, and returns the previous buffer, which the Reader
// no longer uses. buf must hold those bytes and at least 64; otherwise
// SetBuffer changes nothing and returns nil. Payloads returned earlier are
// invalid afterwards, as after the next ReadFrame. It lets a caller read
// bursts of frames through a large pooled buffer and wait for the next
// frame with a small one.
func (r *Reader) SetBuffer(buf []byte) []byte {
	n := r.w - r.r
	if len(buf) < max(n, 64) {
		return nil
	}
	if r.poison && r.last != nil {
		for i := range r.last {
			r.last[i] = 0xA5
		}
		r.last = nil
	}
	copy(buf, r.buf[r.r:r.w])
	old := r.buf
	r.buf, r.r, r.w = buf, 0, n
	return old
}

// NextFrameLen returns the length of the next frame, its 6-byte header
// included, as that header declares it, once the header is buffered; ok is
// false while fewer than 6 bytes of it are. It reads nothing and validates
// nothing (ReadFrame does), so a caller can tell, with Buffered, whether
// the next ReadFrame can complete without reading from the underlying
// reader. (A legacy 6-byte ack, see AcceptLegacyAck, declares no length.)
func (r *Reader) NextFrameLen() (n int, ok bool) {
	if r.w-r.r < HeaderSize {
		return 0, false
	}
	return HeaderSize + int(binary.BigEndian.Uint32(r.buf[r.r+2:])), true
}

// Frames returns how many frames the Reader has returned.
func (r *Reader) Frames() uint64 { return r.frames }

// Await blocks until at least one byte of the next frame is buffered and
// returns at once if one already is. A caller that bounds the time to read a
// frame calls Await with no deadline (a quiet connection is healthy), then
// sets a deadline and calls ReadFrame. Await returns io.EOF when the stream
// ends cleanly at a frame boundary.
func (r *Reader) Await() error {
	if r.sticky != nil {
		return r.sticky
	}
	if r.w > r.r {
		return nil
	}
	r.r, r.w = 0, 0
	n, err := r.read(r.buf)
	r.w = n
	if n > 0 {
		return nil
	}
	r.sticky = err
	return err
}

// maxEmptyReads is how many successive reads that return neither data nor
// an error a Reader tolerates before it fails with io.ErrNoProgress, so that
// a broken io.Reader cannot make it spin forever.
const maxEmptyReads = 100

// read reads into p (not empty) from the underlying reader until a read
// returns data or an error; after maxEmptyReads reads that return neither,
// one more empty read fails with io.ErrNoProgress.
func (r *Reader) read(p []byte) (int, error) {
	for empty := 0; ; empty++ {
		n, err := r.rd.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
		if empty >= maxEmptyReads {
			return 0, io.ErrNoProgress
		}
	}
}

// ReadFrame reads the next frame.
//
// The returned Payload is borrowed from the Reader: it is valid only until
// the next call to ReadFrame or Await on this Reader, which may overwrite
// it. Copy what must outlive that. (ReaderOptions.PoisonBorrowed makes
// misuse visible in tests.)
//
// At a clean end of stream between frames ReadFrame returns io.EOF; inside a
// frame it returns an error matching ErrTruncated and io.ErrUnexpectedEOF.
// Malformed frames return a *FrameError. After a protocol error the stream
// cannot be resynchronised. Errors of the underlying reader (a deadline
// included) are returned as they are; an underlying reader that keeps
// returning neither bytes nor an error yields io.ErrNoProgress. Every error
// is final: later calls return it again, and the connection should be
// closed.
func (r *Reader) ReadFrame() (Frame, error) {
	if r.sticky != nil {
		return Frame{}, r.sticky
	}
	if r.poison && r.last != nil {
		for i := range r.last {
			r.last[i] = 0xA5
		}
		r.last = nil
	}
	if r.w-r.r < HeaderSize {
		if err := r.fill(0, 0, HeaderSize); err != nil {
			return Frame{}, err
		}
	}
	hdr := r.buf[r.r : r.r+HeaderSize]
	t := Type(binary.BigEndian.Uint16(hdr))
	size := binary.BigEndian.Uint32(hdr[2:])
	// The common frame, a PublishMessage at a client, is checked inline.
	common := t == TypePublishMessage && r.side == ClientSide && size >= PublishHeaderSize && size <= r.max
	if !common {
		if err := r.check(t, size, hdr); err != nil {
			if errors.Is(err, errLegacyAck) {
				f := Frame{Type: t, Payload: hdr[2:6:6]}
				r.r += HeaderSize
				return r.loan(f), nil
			}
			r.sticky = err
			return Frame{}, err
		}
	}
	if uint64(size) <= uint64(len(r.buf)-HeaderSize) {
		total := HeaderSize + int(size)
		if r.w-r.r < total {
			if err := r.fill(t, size, total); err != nil {
				return Frame{}, err
			}
		}
		f := Frame{Type: t, Payload: r.buf[r.r+HeaderSize : r.r+total : r.r+total]}
		r.r += total
		return r.loan(f), nil
	}
	body, err := r.readBig(t, int(size))
	if err != nil {
		return Frame{}, err
	}
	return r.loan(Frame{Type: t, Payload: body}), nil
}

func (r *Reader) loan(f Frame) Frame {
	r.frames++
	if r.poison {
		r.last = f.Payload
	}
	return f
}

var errLegacyAck = errors.New("legacy ack")

// check validates a header before any body byte is read.
func (r *Reader) check(t Type, size uint32, hdr []byte) error {
	if !t.Valid() {
		if r.frames == 0 {
			if err := sniff(hdr); err != nil {
				return err
			}
		}
		return frameErr(t, size, ErrUnknownType, "")
	}
	if t.FromServer() != (r.side == ClientSide) {
		return frameErr(t, size, ErrWrongDirection, "")
	}
	switch t {
	case TypeConnectResponse:
		if size != 4 {
			return frameErr(t, size, ErrSizeMismatch, "a ConnectResponse payload is 4 bytes")
		}
	case TypePublishMessageReceived:
		if size != 4 {
			if r.legacy && size&0xFFFF == uint32(StatusOK) {
				return errLegacyAck
			}
			return frameErr(t, size, ErrSizeMismatch, "an ack payload is 4 bytes")
		}
	case TypePublishMessage:
		if size < PublishHeaderSize {
			return frameErr(t, size, ErrSizeMismatch, "shorter than the 10-byte sub-header")
		}
	case TypeConnectRequest:
		if size < 10 || size > 10+2*MaxCredentialLen {
			return frameErr(t, size, ErrSizeMismatch, "impossible ConnectRequest size")
		}
	}
	if size > r.max {
		return frameErr(t, size, ErrFrameTooLarge, "limit is "+strconv.FormatUint(uint64(r.max), 10))
	}
	return nil
}

// sniff recognises the first bytes of a TLS record or an HTTP message.
func sniff(hdr []byte) error {
	// TLS record: content type 20..24, version major 3.
	if hdr[0] >= 20 && hdr[0] <= 24 && hdr[1] == 3 && hdr[2] <= 4 {
		return &FrameError{Err: ErrLooksLikeTLS}
	}
	for _, p := range [...]string{"HTTP/", "GET ", "POST ", "PUT ", "HEAD ", "DELETE", "OPTION", "PATCH ", "CONNEC"} {
		n := min(len(p), len(hdr))
		if bytes.Equal(hdr[:n], []byte(p)[:n]) {
			return &FrameError{Err: ErrLooksLikeHTTP}
		}
	}
	return nil
}

// fill makes buf[r.r:r.r+n] valid, n ≤ len(buf), reading more of the frame
// of type t and declared size size (both 0 while its header is incomplete).
// Callers call it only when fewer than n bytes are buffered.
func (r *Reader) fill(t Type, size uint32, n int) error {
	if r.r+n > len(r.buf) {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	for r.w-r.r < n {
		m, err := r.read(r.buf[r.w:])
		r.w += m
		if r.w-r.r < n && err != nil {
			return r.fail(t, size, err, r.w > r.r)
		}
	}
	return nil
}

// fail records err as the Reader's final error. io.EOF inside a frame
// becomes ErrTruncated.
func (r *Reader) fail(t Type, size uint32, err error, inFrame bool) error {
	if inFrame && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		err = &FrameError{Type: t, Size: size, Err: truncatedError{io.ErrUnexpectedEOF}}
	}
	r.sticky = err
	return err
}

// readBig reads a body larger than buf into the reused big buffer, growing
// it only as bytes arrive, so a lying Size cannot force a large allocation.
func (r *Reader) readBig(t Type, size int) ([]byte, error) {
	r.r += HeaderSize
	n := min(size, r.w-r.r)
	b := append(r.big[:0], r.buf[r.r:r.r+n]...)
	r.r += n
	for len(b) < size {
		// Grow when less room is left than the body still needs and than
		// one buffer's worth, so that no read is needlessly small.
		if room := cap(b) - len(b); room < size-len(b) && room < len(r.buf) {
			nb := make([]byte, len(b), min(size, max(2*cap(b), len(b)+2*len(r.buf))))
			copy(nb, b)
			b = nb
		}
		m, err := r.read(b[len(b):min(cap(b), size)])
		b = b[:len(b)+m]
		if len(b) < size && err != nil {
			r.big = b
			return nil, r.fail(t, uint32(size), err, true)
		}
	}
	r.big = b
	return b[:size:size], nil
}
