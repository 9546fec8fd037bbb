package protocol

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strconv"

	"github.com/klauspost/compress/zlib"
)

// Inflater decompresses zlib payloads (RFC 1950) of successive
// PublishMessages into one reused output buffer, and refuses output beyond a
// limit. The decoding itself is github.com/klauspost/compress/zlib's, through
// one reader that is Reset for every payload, so that a payload whose output
// fits the buffer costs no allocation.
//
// An Inflater is not safe for concurrent use. Its output is borrowed; see
// Inflate.
type Inflater struct {
	limit  int
	direct int    // largest output buffer grown on the fly; beyond it, count first
	out    []byte // reused output buffer
	src    bytes.Reader
	zr     io.Reader // the zlib reader, Reset for every payload
	one    [1]byte   // where a byte past the limit or past the measured size lands

	peak    int  // most output produced during the last Inflate (for tests)
	counted bool // the last Inflate measured its output before keeping it (for tests)
}

// NewInflater returns an Inflater whose output is limited to limit bytes;
// 0 (or a negative value) means DefaultMaxDecompressed (64 MiB).
func NewInflater(limit int) *Inflater {
	if limit <= 0 {
		limit = DefaultMaxDecompressed
	}
	limit = min(limit, math.MaxInt/2)
	f := &Inflater{limit: limit, direct: min(limit, max(limit/8, minDirect))}
	// The reader's state (its window and tables) is made here, once, on an
	// empty stream, rather than in the first Inflate.
	f.src.Reset(emptyZlib)
	f.zr, _ = zlib.NewReader(&f.src)
	return f
}

// emptyZlib is a valid zlib stream of no bytes.
var emptyZlib = []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}

// Limit returns the largest output Inflate accepts.
func (f *Inflater) Limit() int { return f.limit }

// Trailing returns, after an Inflate that succeeded, how many bytes of
// its input followed the end of the zlib stream: bytes Inflate ignores,
// which a caller that must not lose data (another stream concatenated to
// the first) can refuse.
func (f *Inflater) Trailing() int { return f.src.Len() }

// Inflate decompresses one zlib stream and returns the inflated bytes.
//
// The result is borrowed: it is valid until the next call to Inflate on
// this Inflater. A bad header, a preset dictionary, bad data, a bad
// checksum or a truncated stream return an error matching
// ErrCorruptPayload. Bytes after the end of the zlib stream are ignored.
//
// Output beyond the limit is never kept: Inflate reads at most one byte
// past the limit, to learn that there is one, and returns an error matching
// ErrDecompressedTooLarge. Memory is bounded too: the output buffer grows
// geometrically as output arrives (from four times the compressed size) up
// to exactly an eighth of the limit (at least 64 KiB), so an output up to
// that size is inflated in one pass. The rest of a larger output is
// measured (and its checksum verified) by inflating it over that same
// buffer, keeping nothing; the payload is then inflated a second time into
// a buffer of exactly its size. So a compression bomb, or any payload that
// fails, costs at most twice that eighth (a quarter of the limit), and an
// accepted output of n bytes at most n more (once: later payloads reuse
// the buffer). The decompressor's own state (about 40 KiB) is allocated
// once, by NewInflater. In steady state Inflate does not allocate.
func (f *Inflater) Inflate(compressed []byte) ([]byte, error) {
	return f.InflateContext(context.Background(), compressed)
}

// InflateContext is Inflate that gives up when ctx is done. It checks ctx
// before every read from the decompressor, which yields at most 32 KiB of
// output at a time, so that a cancelled caller does not wait for a large
// document to finish. It then returns ctx.Err().
func (f *Inflater) InflateContext(ctx context.Context, compressed []byte) ([]byte, error) {
	f.peak, f.counted = 0, false
	if err := f.reset(compressed); err != nil {
		return nil, err
	}
	buf := f.out[:cap(f.out)]
	n, total := 0, 0 // bytes in buf, bytes taken from the decompressor
	for stalls := 0; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n == len(buf) {
			if len(buf) < f.direct {
				buf = f.grow(buf, len(compressed))
				f.out = buf[:0] // keep what grew, even on error
			} else {
				// The output may pass direct growth: measure it through
				// the buffer, keeping nothing.
				n = 0
			}
		}
		var m int
		var err error
		if total < f.limit {
			m, err = f.zr.Read(buf[n : n+min(len(buf)-n, f.limit-total)])
		} else if m, err = f.zr.Read(f.one[:]); m > 0 {
			// One byte past the limit, discarded.
			return nil, tooLarge(f.limit)
		}
		n, total = n+m, total+m
		f.peak = total
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt(err)
		}
		if stalls = stalls + 1; m > 0 {
			stalls = 0
		} else if stalls > maxStalls {
			return nil, corrupt(io.ErrNoProgress)
		}
	}
	if total <= len(buf) {
		// Inflated in one pass (counting may have begun, but found the
		// end of the stream at once).
		return buf[:total:total], nil
	}
	f.counted = true
	// total is the exact size, within the limit: inflate again, into a
	// buffer of that size.
	out := make([]byte, total)
	if err := f.reset(compressed); err != nil {
		return nil, err
	}
	for n, stalls := 0, 0; ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dst := out[n:]
		if n == len(out) {
			dst = f.one[:] // only the end of the stream (and its checksum) may follow
		}
		m, err := f.zr.Read(dst)
		if n += m; n > len(out) {
			return nil, corrupt(errSizeChanged)
		}
		if err == io.EOF {
			if n != len(out) {
				return nil, corrupt(errSizeChanged)
			}
			break
		}
		if err != nil {
			return nil, corrupt(err)
		}
		if stalls = stalls + 1; m > 0 {
			stalls = 0
		} else if stalls > maxStalls {
			return nil, corrupt(io.ErrNoProgress)
		}
	}
	f.out = out
	return out, nil
}

const (
	// minDirect: direct growth is always allowed up to this size.
	minDirect = 64 << 10
	// maxStalls: reads in a row that may return nothing and no error
	// before the decompressor is deemed stuck.
	maxStalls = 100
)

// errSizeChanged: the second pass of a measured output did not give the
// size the first one measured.
var errSizeChanged = errors.New("inflate: output size changed between passes")

// reset points the zlib reader at compressed and reads its header.
func (f *Inflater) reset(compressed []byte) error {
	f.src.Reset(compressed)
	if err := f.zr.(zlib.Resetter).Reset(&f.src, nil); err != nil {
		return corrupt(err)
	}
	return nil
}

// grow returns buf (full) with its contents and a larger capacity: the
// smallest of direct, direct/2, direct/4, … that is at least twice buf and
// at least a hint of four times the compressed size (at least 512 bytes).
// The sizes then end exactly at direct, so that every output up to direct
// is inflated in one pass, and the buffers allocated on the way add up to
// less than twice direct.
func (f *Inflater) grow(buf []byte, compressed int) []byte {
	start := max(2*len(buf), min(max(4*compressed, 512), f.direct))
	c := f.direct
	for c/2 >= start {
		c /= 2
	}
	bigger := make([]byte, c)
	copy(bigger, buf)
	return bigger
}

// tooLarge and corrupt return the Inflater's errors: a FrameError of a
// PublishMessage whose size the Inflater does not know.
func tooLarge(limit int) error {
	return &FrameError{Type: TypePublishMessage, Err: ErrDecompressedTooLarge,
		Detail: "limit is " + strconv.Itoa(limit) + " bytes", noSize: true}
}

func corrupt(err error) error {
	return &FrameError{Type: TypePublishMessage, Err: corruptError{err}, Detail: err.Error(), noSize: true}
}

type corruptError struct{ cause error }

func (e corruptError) Error() string   { return ErrCorruptPayload.Error() }
func (e corruptError) Unwrap() []error { return []error{ErrCorruptPayload, e.cause} }
