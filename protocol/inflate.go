package protocol

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"strconv"
)

// Inflater decompresses zlib payloads (RFC 1950) of successive
// PublishMessages, reusing one decompressor and one output buffer, and
// refuses output beyond a limit.
//
// An Inflater is not safe for concurrent use. Its output is borrowed; see
// Inflate.
type Inflater struct {
	src   bytes.Reader
	zr    io.ReadCloser // zlib reader, created on first use and then Reset
	out   []byte
	limit int
}

// NewInflater returns an Inflater whose output is limited to limit bytes;
// 0 means DefaultMaxDecompressed (64 MiB).
func NewInflater(limit int) *Inflater {
	if limit <= 0 {
		limit = DefaultMaxDecompressed
	}
	return &Inflater{limit: limit}
}

// Limit returns the largest output Inflate accepts.
func (f *Inflater) Limit() int { return f.limit }

// Inflate decompresses one zlib stream and returns the inflated bytes.
//
// The result is borrowed: it is valid until the next call to Inflate on
// this Inflater. Output beyond the limit is never produced: Inflate stops
// and returns an error matching ErrDecompressedTooLarge, having grown its
// buffer to at most limit+1 bytes. A bad header, bad data, a bad checksum or
// a truncated stream return an error matching ErrCorruptPayload. Bytes after
// the end of the zlib stream are ignored.
func (f *Inflater) Inflate(compressed []byte) ([]byte, error) {
	f.src.Reset(compressed)
	if f.zr == nil {
		zr, err := zlib.NewReader(&f.src)
		if err != nil {
			return nil, corrupt(err)
		}
		f.zr = zr
	} else if err := f.zr.(zlib.Resetter).Reset(&f.src, nil); err != nil {
		return nil, corrupt(err)
	}
	out := f.out[:0]
	for {
		if len(out) == cap(out) {
			if len(out) > f.limit {
				f.out = out[:0]
				return nil, &FrameError{Type: TypePublishMessage, Err: ErrDecompressedTooLarge,
					Detail: "limit is " + strconv.Itoa(f.limit) + " bytes"}
			}
			// Grow geometrically, but never past limit+1: one byte beyond
			// the limit is enough to know the output is too large. Past
			// 1 MiB the factor is 8, so that all buffers allocated while
			// inflating a bomb add up to less than 1.25× the limit.
			factor := 2
			if cap(out) >= 1<<20 {
				factor = 8
			}
			c := min(max(factor*cap(out), 4*len(compressed), 512), f.limit+1)
			nb := make([]byte, len(out), c)
			copy(nb, out)
			out = nb
		}
		n, err := f.zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			f.out = out[:0]
			return nil, corrupt(err)
		}
	}
	f.out = out
	if len(out) > f.limit {
		return nil, &FrameError{Type: TypePublishMessage, Err: ErrDecompressedTooLarge,
			Detail: "limit is " + strconv.Itoa(f.limit) + " bytes"}
	}
	return out, nil
}

func corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &FrameError{Type: TypePublishMessage, Err: corruptError{err}, Detail: err.Error()}
}

type corruptError struct{ cause error }

func (e corruptError) Error() string   { return ErrCorruptPayload.Error() }
func (e corruptError) Unwrap() []error { return []error{ErrCorruptPayload, e.cause} }
