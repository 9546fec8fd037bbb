package protocol

import (
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"io"
	"math"
	"math/bits"
	"strconv"
)

// Inflater decompresses zlib payloads (RFC 1950) of successive
// PublishMessages into one reused output buffer, and refuses output beyond a
// limit. It decodes DEFLATE (RFC 1951) itself, straight from the compressed
// bytes into the output buffer, with its Huffman tables held in the struct,
// so that a payload whose output fits the buffer costs no allocation at all
// (compress/flate allocates tables for every dynamic block).
//
// An Inflater is not safe for concurrent use. Its output is borrowed; see
// Inflate.
type Inflater struct {
	limit  int
	direct int    // largest output buffer grown on the fly; beyond it, count first
	out    []byte // reused output buffer
	window []byte // sliding window of the counting pass, allocated on first use
	d      decoder
	lit    huffman // dynamic tables of the current block
	dist   huffman
	clen   huffman
	lens   [maxLit + maxDist]uint8
	peak   int             // most output held at once during the last Inflate (for tests)
	ctx    context.Context // of the running InflateContext (Background for Inflate); nil between calls
}

// NewInflater returns an Inflater whose output is limited to limit bytes;
// 0 (or a negative value) means DefaultMaxDecompressed (64 MiB).
func NewInflater(limit int) *Inflater {
	if limit <= 0 {
		limit = DefaultMaxDecompressed
	}
	limit = min(limit, math.MaxInt/2)
	return &Inflater{limit: limit, direct: min(limit, max(limit/8, minDirect))}
}

// Limit returns the largest output Inflate accepts.
func (f *Inflater) Limit() int { return f.limit }

// Inflate decompresses one zlib stream and returns the inflated bytes.
//
// The result is borrowed: it is valid until the next call to Inflate on
// this Inflater. A bad header, a preset dictionary, bad data, a bad
// checksum or a truncated stream return an error matching
// ErrCorruptPayload. Bytes after the end of the zlib stream are ignored.
//
// Output beyond the limit is never produced: Inflate stops before the byte
// that would exceed it and returns an error matching
// ErrDecompressedTooLarge. Memory is bounded too: the output buffer grows
// geometrically up to exactly an eighth of the limit (at least 64 KiB), so
// an output up to that size is inflated in one pass; a larger output is
// first measured (and its checksum verified) by inflating through a 96 KiB
// sliding window, and then inflated a second time into a buffer of exactly
// its size. So a compression bomb, or any payload that fails, costs at most
// twice that eighth (a quarter of the limit) plus about 100 KiB of
// allocation, and an accepted output of n bytes at most n more (once: later
// payloads reuse the buffer). In steady state Inflate does not allocate.
func (f *Inflater) Inflate(compressed []byte) ([]byte, error) {
	return f.InflateContext(context.Background(), compressed)
}

// InflateContext is Inflate that gives up when ctx is done, checking
// between DEFLATE blocks and whenever its buffer fills, so that a
// cancelled caller does not wait for a large document to finish. It then
// returns ctx.Err().
func (f *Inflater) InflateContext(ctx context.Context, compressed []byte) ([]byte, error) {
	f.ctx = ctx
	defer func() { f.ctx = nil }()
	f.peak = 0
	n, err := f.run(compressed, f.out[:cap(f.out)], false)
	if err == errCounted {
		// The output is larger than direct growth allows and within the
		// limit: n is its exact size.
		buf := make([]byte, n)
		m, err := f.run(compressed, buf, true)
		if err != nil {
			return nil, err
		}
		if m != n {
			return nil, corrupt(errSizeChanged)
		}
		f.out = buf
		return buf, nil
	}
	if err != nil {
		return nil, err
	}
	return f.out[:n:n], nil
}

// Limits and sizes of DEFLATE and of the decoder.
const (
	maxLit     = 286      // literal/length symbols a dynamic block may define
	maxDist    = 30       // distance symbols a dynamic block may define
	maxCodeLen = 15       // longest Huffman code
	maxMatch   = 258      // longest back-reference
	histSize   = 32 << 10 // farthest back-reference
	windowSize = 96 << 10 // sliding window of the counting pass
	minDirect  = 64 << 10 // direct growth is always allowed up to this size
	rootBits   = 10       // most bits resolved by one table lookup
)

var (
	// errCounted ends a first pass that only measured the output.
	errCounted = errors.New("inflate: counted")
	// errSizeChanged: the second pass of a counted output did not give
	// the size the first one measured.
	errSizeChanged = errors.New("inflate: output size changed between passes")
)

// decoder is the state of one pass over one zlib stream.
type decoder struct {
	in       []byte
	pos      int    // next byte of in to load into bits
	bits     uint64 // bit buffer, least significant bit first
	nbits    uint   // valid bits in bits
	buf      []byte // output buffer or sliding window (its length is its capacity)
	w        int    // bytes written to buf
	end      int    // writes at or beyond end need room()
	base     int    // bytes slid out of the window before buf[0]
	counting bool   // buf is the sliding window: output is measured, not kept
	sum      uint32 // Adler-32 of the output slid out of the window
	fixed    bool   // buf has the exact size; it must not grow
}

// run inflates in into buf (growing it, or switching to counting, as
// needed) and returns the output size. When it had to count, it returns
// errCounted with the exact size.
func (f *Inflater) run(in, buf []byte, fixed bool) (int, error) {
	d := &f.d
	*d = decoder{in: in, buf: buf, end: min(len(buf), f.limit), fixed: fixed}
	if len(in) < 2 {
		return 0, corrupt(io.ErrUnexpectedEOF)
	}
	cmf, flg := in[0], in[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return 0, corrupt(zlib.ErrHeader)
	}
	d.pos = 2
	if flg&0x20 != 0 {
		// A preset dictionary: none is agreed on, so only the empty one
		// (whose Adler-32 is 1) can be satisfied.
		if len(in) < 6 {
			return 0, corrupt(io.ErrUnexpectedEOF)
		}
		if binary.BigEndian.Uint32(in[2:]) != 1 {
			return 0, corrupt(zlib.ErrDictionary)
		}
		d.pos = 6
	}
	err := f.blocks()
	f.peak = max(f.peak, d.base+d.w)
	if !d.counting && !fixed {
		f.out = d.buf // keep what grew, even on error
	}
	if err != nil {
		return 0, err
	}
	// The Adler-32 trailer follows at the next byte boundary.
	d.nbits &^= 7
	p := d.pos - int(d.nbits>>3)
	if len(in)-p < 4 {
		return 0, corrupt(io.ErrUnexpectedEOF)
	}
	sum := d.sum
	if d.counting {
		sum = adlerUpdate(sum, d.buf[:d.w])
	} else {
		sum = adler32.Checksum(d.buf[:d.w])
	}
	if sum != binary.BigEndian.Uint32(in[p:]) {
		return 0, corrupt(zlib.ErrChecksum)
	}
	if d.counting {
		return d.base + d.w, errCounted
	}
	return d.w, nil
}

// room makes room to write n more bytes (n ≤ maxMatch unless the buffer is
// empty), or fails when that would pass the limit.
func (f *Inflater) room(n int) error {
	d := &f.d
	if err := f.cancelled(); err != nil {
		return err
	}
	if d.base+d.w+n > f.limit {
		return tooLarge(f.limit)
	}
	switch {
	case d.counting:
		if d.w+n > len(d.buf) {
			keep := min(d.w, histSize)
			d.sum = adlerUpdate(d.sum, d.buf[:d.w-keep])
			copy(d.buf, d.buf[d.w-keep:d.w])
			d.base += d.w - keep
			d.w = keep
		}
	case d.fixed:
		return corrupt(errSizeChanged)
	default:
		// Grow to the smallest of direct, direct/2, direct/4, … that is at
		// least double the buffer (and, up to direct, 4×len(in) and 512):
		// the sizes then end exactly at direct, so every output up to
		// direct is inflated in one pass, and the buffers allocated on the
		// way add up to less than 2×direct.
		hint := min(max(4*len(d.in), 512), f.direct)
		if start := max(2*len(d.buf), d.w+n, hint); start <= f.direct {
			c := f.direct
			for c/2 >= start {
				c /= 2
			}
			nb := make([]byte, c)
			copy(nb, d.buf[:d.w])
			d.buf = nb
			break
		}
		// Too large to grow on the fly: measure through the window.
		f.peak = max(f.peak, d.w)
		if f.window == nil {
			f.window = make([]byte, windowSize)
		}
		keep := min(d.w, histSize)
		d.sum = adlerUpdate(1, d.buf[:d.w-keep])
		copy(f.window, d.buf[d.w-keep:d.w])
		f.out = d.buf
		d.base += d.w - keep
		d.w = keep
		d.buf = f.window
		d.counting = true
	}
	d.end = min(len(d.buf), f.limit-d.base)
	return nil
}

// blocks decodes DEFLATE blocks up to and including the final one.
func (f *Inflater) blocks() error {
	d := &f.d
	for {
		d.refill()
		if d.nbits < 3 {
			return corrupt(io.ErrUnexpectedEOF)
		}
		final := d.bits&1 == 1
		typ := d.bits >> 1 & 3
		d.bits >>= 3
		d.nbits -= 3
		var err error
		switch typ {
		case 0:
			err = f.stored()
		case 1:
			err = f.huffmanBlock(&fixedLit, &fixedDist)
		case 2:
			if err = f.readTables(); err == nil {
				err = f.huffmanBlock(&f.lit, &f.dist)
			}
		default:
			err = d.corrupt()
		}
		if err != nil {
			return err
		}
		if final {
			return nil
		}
		if err := f.cancelled(); err != nil {
			return err
		}
	}
}

// cancelled returns the error of InflateContext's ctx once it is done.
func (f *Inflater) cancelled() error {
	if f.ctx == nil {
		return nil
	}
	return f.ctx.Err()
}

// stored copies a stored (uncompressed) block.
func (f *Inflater) stored() error {
	d := &f.d
	// Go back to the byte boundary: whole bytes in the bit buffer are
	// unread input.
	d.nbits &^= 7
	d.pos -= int(d.nbits >> 3)
	d.bits, d.nbits = 0, 0
	if len(d.in)-d.pos < 4 {
		return corrupt(io.ErrUnexpectedEOF)
	}
	n := int(binary.LittleEndian.Uint16(d.in[d.pos:]))
	if binary.LittleEndian.Uint16(d.in[d.pos+2:]) != ^uint16(n) {
		return d.corrupt()
	}
	d.pos += 4
	for n > 0 {
		if d.pos == len(d.in) {
			return corrupt(io.ErrUnexpectedEOF)
		}
		if d.w == d.end {
			if err := f.room(1); err != nil {
				return err
			}
		}
		k := copy(d.buf[d.w:d.end], d.in[d.pos:d.pos+min(n, len(d.in)-d.pos)])
		d.w += k
		d.pos += k
		n -= k
	}
	return nil
}

// Code length code order (RFC 1951 §3.2.7).
var clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// readTables reads the code lengths of a dynamic block and builds its
// literal/length and distance tables.
func (f *Inflater) readTables() error {
	d := &f.d
	d.refill()
	if d.nbits < 14 {
		return corrupt(io.ErrUnexpectedEOF)
	}
	nlit := int(d.bits&31) + 257
	ndist := int(d.bits>>5&31) + 1
	nclen := int(d.bits>>10&15) + 4
	d.bits >>= 14
	d.nbits -= 14
	if nlit > maxLit || ndist > maxDist {
		return d.corrupt()
	}
	var cl [19]uint8
	for i := range nclen {
		d.refill()
		if d.nbits < 3 {
			return corrupt(io.ErrUnexpectedEOF)
		}
		cl[clenOrder[i]] = uint8(d.bits & 7)
		d.bits >>= 3
		d.nbits -= 3
	}
	if !f.clen.build(cl[:]) {
		return d.corrupt()
	}
	lens := f.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		d.refill()
		sym, err := d.decode(&f.clen)
		if err != nil {
			return err
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		var nb uint
		switch sym {
		case 16:
			if i == 0 {
				return d.corrupt()
			}
			rep, nb, val = 3, 2, lens[i-1]
		case 17:
			rep, nb = 3, 3
		default: // 18
			rep, nb = 11, 7
		}
		if d.nbits < nb {
			return corrupt(io.ErrUnexpectedEOF)
		}
		rep += int(d.bits & (1<<nb - 1))
		d.bits >>= nb
		d.nbits -= nb
		if i+rep > len(lens) {
			return d.corrupt()
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if !f.lit.build(lens[:nlit]) || !f.dist.build(lens[nlit:]) {
		return d.corrupt()
	}
	return nil
}

// Base values and extra bits of length symbols 257…285 and distance
// symbols 0…29 (RFC 1951 §3.2.5).
var (
	lenBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// huffmanBlock decodes the symbols of one compressed block.
func (f *Inflater) huffmanBlock(lit, dist *huffman) error {
	d := &f.d
	for {
		d.refill()
		// Literal/length symbol, inlined fast path.
		var sym int
		if e := lit.table[d.bits&lit.mask]; e&15 != 0 && uint(e&15) <= d.nbits {
			d.bits >>= e & 15
			d.nbits -= uint(e & 15)
			sym = int(e >> 4)
		} else {
			var err error
			if sym, err = d.decode(lit); err != nil {
				return err
			}
		}
		if sym < 256 {
			if d.w >= d.end {
				if err := f.room(1); err != nil {
					return err
				}
			}
			d.buf[d.w] = byte(sym)
			d.w++
			continue
		}
		if sym == 256 {
			return nil
		}
		sym -= 257
		if sym >= len(lenBase) {
			return d.corrupt()
		}
		length := int(lenBase[sym])
		if nb := uint(lenExtra[sym]); nb > 0 {
			if d.nbits < nb {
				return corrupt(io.ErrUnexpectedEOF)
			}
			length += int(d.bits & (1<<nb - 1))
			d.bits >>= nb
			d.nbits -= nb
		}
		ds, err := d.decode(dist)
		if err != nil {
			return err
		}
		if ds >= len(distBase) {
			return d.corrupt()
		}
		distance := int(distBase[ds])
		if nb := uint(distExtra[ds]); nb > 0 {
			if d.nbits < nb {
				return corrupt(io.ErrUnexpectedEOF)
			}
			distance += int(d.bits & (1<<nb - 1))
			d.bits >>= nb
			d.nbits -= nb
		}
		// In the counting window at least histSize bytes of history are
		// kept once any have slid out, so d.w bounds the distance.
		if distance > d.w {
			return d.corrupt()
		}
		if d.w+length > d.end {
			if err := f.room(length); err != nil {
				return err
			}
		}
		w, buf := d.w, d.buf
		if distance >= length {
			copy(buf[w:w+length], buf[w-distance:w])
		} else {
			// Overlapping: the output repeats with period distance, so
			// copying from w-distance onwards doubles the span each time.
			for n := 0; n < length; {
				n += copy(buf[w+n:w+length], buf[w-distance:w+n])
			}
		}
		d.w = w + length
	}
}

// refill loads whole bytes into the bit buffer, up to at least 56 valid
// bits while input remains. Bits above nbits may hold the next input bits;
// they are never counted before they are loaded.
func (d *decoder) refill() {
	if d.pos+8 <= len(d.in) {
		d.bits |= binary.LittleEndian.Uint64(d.in[d.pos:]) << d.nbits
		d.pos += int((63 - d.nbits) >> 3)
		d.nbits |= 56
		return
	}
	for d.nbits < 56 && d.pos < len(d.in) {
		d.bits |= uint64(d.in[d.pos]) << d.nbits
		d.pos++
		d.nbits += 8
	}
}

// decode reads one symbol with h. Codes up to rootBits long take one table
// lookup; longer ones (rare by construction) are decoded bit by bit.
func (d *decoder) decode(h *huffman) (int, error) {
	e := h.table[d.bits&h.mask]
	if n := uint(e & 15); n != 0 {
		if n > d.nbits {
			return 0, corrupt(io.ErrUnexpectedEOF)
		}
		d.bits >>= n
		d.nbits -= n
		return int(e >> 4), nil
	}
	code, first, index := 0, 0, 0
	for l := uint(1); l <= maxCodeLen; l++ {
		if l > d.nbits {
			return 0, corrupt(io.ErrUnexpectedEOF)
		}
		code |= int(d.bits >> (l - 1) & 1)
		count := int(h.count[l])
		if code-first < count {
			d.bits >>= l
			d.nbits -= l
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, d.corrupt()
}

func (d *decoder) corrupt() error {
	return corrupt(flate.CorruptInputError(int64(d.pos - int(d.nbits>>3))))
}

// huffman is a canonical Huffman decoding table.
type huffman struct {
	mask   uint64                // 1<<root − 1: the table resolves root bits
	table  [1 << rootBits]uint16 // symbol<<4 | length for codes ≤ root bits; 0 otherwise
	count  [maxCodeLen + 1]uint16
	symbol [288]uint16 // symbols in canonical order
}

// build makes h decode the code with the given code lengths. It refuses
// over-subscribed and incomplete codes, except the two that DEFLATE
// streams legitimately carry: an empty code (a block without
// back-references) and a single code of length 1.
func (h *huffman) build(lengths []uint8) bool {
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	left, maxLen := 1, 0
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return false
		}
		if h.count[l] != 0 {
			maxLen = l
		}
		offs[l+1] = offs[l] + h.count[l]
	}
	if left > 0 && maxLen != 0 && !(maxLen == 1 && h.count[1] == 1) {
		return false
	}
	// The table resolves min(maxLen, rootBits) bits: small codes (code
	// length codes, the distance codes of short documents) get small tables
	// that are quick to build.
	root := uint(min(max(maxLen, 1), rootBits))
	h.mask = 1<<root - 1
	table := h.table[:1<<root]
	clear(table)
	var next [maxCodeLen + 1]int
	code := 0
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + int(h.count[l-1])) << 1
		next[l] = code
	}
	for s, l := range lengths {
		if l == 0 {
			continue
		}
		h.symbol[offs[l]] = uint16(s)
		offs[l]++
		c := next[l]
		next[l]++
		if uint(l) > root {
			continue
		}
		// Codes are sent most significant bit first; the bit buffer
		// delivers them least significant first, so index by the reversal.
		e := uint16(s)<<4 | uint16(l)
		for i := int(bits.Reverse16(uint16(c)) >> (16 - l)); i < len(table); i += 1 << l {
			table[i] = e
		}
	}
	return true
}

// The fixed Huffman codes (RFC 1951 §3.2.6), built once.
var fixedLit, fixedDist = func() (lit, dist huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var dl [32]uint8
	for i := range dl {
		dl[i] = 5
	}
	lit.build(l[:])
	dist.build(dl[:])
	return lit, dist
}()

// adlerUpdate continues the Adler-32 checksum adler (RFC 1950 §8.2) over p.
func adlerUpdate(adler uint32, p []byte) uint32 {
	const mod = 65521
	const nmax = 5552 // most bytes before b can overflow 32 bits
	a, b := adler&0xffff, adler>>16
	for len(p) > 0 {
		q := p[:min(len(p), nmax)]
		p = p[len(q):]
		for _, x := range q {
			a += uint32(x)
			b += a
		}
		a %= mod
		b %= mod
	}
	return b<<16 | a
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
