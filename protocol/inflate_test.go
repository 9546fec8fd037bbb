package protocol_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// inflateRef inflates with the standard library, reading at most limit+1
// bytes: the reference that Inflater must agree with.
func inflateRef(compressed []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, int64(limit)+1))
}

// checkAgainstRef inflates compressed with inf and with the standard
// library and reports any disagreement: same bytes when both succeed,
// ErrDecompressedTooLarge exactly when the reference passes the limit,
// ErrCorruptPayload exactly when the reference fails within it.
func checkAgainstRef(inf *protocol.Inflater, compressed []byte) error {
	limit := inf.Limit()
	want, refErr := inflateRef(compressed, limit)
	got, err := inf.Inflate(compressed)
	switch {
	case len(want) > limit:
		if !errors.Is(err, protocol.ErrDecompressedTooLarge) {
			return fmt.Errorf("reference passes the limit %d, Inflate: %d bytes, %v", limit, len(got), err)
		}
	case refErr != nil:
		if !errors.Is(err, protocol.ErrCorruptPayload) {
			return fmt.Errorf("reference fails (%v) after %d bytes, Inflate: %d bytes, %v", refErr, len(want), len(got), err)
		}
	default:
		if err != nil {
			return fmt.Errorf("reference gives %d bytes, Inflate fails: %v", len(want), err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("Inflate gives %d bytes that differ from the reference's %d", len(got), len(want))
		}
	}
	if err != nil && got != nil {
		return errors.New("Inflate returned output with an error")
	}
	if err != nil && !errors.Is(err, protocol.ErrDecompressedTooLarge) && !errors.Is(err, protocol.ErrCorruptPayload) {
		return fmt.Errorf("untyped error %v", err)
	}
	if p := protocol.InflatePeak(inf); p > limit {
		return fmt.Errorf("produced %d bytes at once, limit %d", p, limit)
	}
	return nil
}

// inflateCorpus returns documents of many kinds and sizes, compressed at
// every level (stored blocks, Huffman-only, fixed and dynamic codes) and
// with flushes that add empty stored blocks between compressed ones.
func inflateCorpus(tb testing.TB) [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	random := func(n int, alphabet int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(alphabet))
		}
		return b
	}
	docs := [][]byte{
		nil, {0}, []byte("a"), []byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		dataPointBatch(1), dataPointBatch(100), dataPointBatch(700),
		make([]byte, 200000), random(1000, 256), random(40000, 256), random(50000, 4),
		bytes.Repeat([]byte("0123456789abcdefghij"), 5000),
	}
	// Text with a skewed alphabet gives long (> 10-bit) Huffman codes.
	skew := make([]byte, 100000)
	for i := range skew {
		skew[i] = byte(min(255, int(rng.ExpFloat64()*6)))
	}
	docs = append(docs, skew)

	var out [][]byte
	for _, doc := range docs {
		for _, level := range []int{zlib.HuffmanOnly, zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression} {
			for _, flushEvery := range []int{0, 5000} {
				if flushEvery > 0 && level != zlib.DefaultCompression {
					continue
				}
				var buf bytes.Buffer
				w, err := zlib.NewWriterLevel(&buf, level)
				if err != nil {
					tb.Fatal(err)
				}
				rest := doc
				for len(rest) > 0 {
					n := len(rest)
					if flushEvery > 0 {
						n = min(n, flushEvery)
					}
					w.Write(rest[:n])
					rest = rest[n:]
					if flushEvery > 0 {
						w.Flush()
					}
				}
				w.Close()
				out = append(out, buf.Bytes())
			}
		}
	}
	return out
}

// The Inflater agrees with compress/zlib on every kind of valid stream,
// on every truncation and on corrupted copies, whatever the limit.
func TestInflateMatchesZlib(t *testing.T) {
	corpus := inflateCorpus(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, limit := range []int{1000, 100000, 0} {
		inf := protocol.NewInflater(limit) // one Inflater for all: reuse is part of the test
		for i, c := range corpus {
			if err := checkAgainstRef(inf, c); err != nil {
				t.Fatalf("limit %d, stream %d (%d bytes): %v", limit, i, len(c), err)
			}
			// A few truncations and corruptions of each.
			for range 2 {
				if err := checkAgainstRef(inf, c[:rng.IntN(len(c))]); err != nil {
					t.Fatalf("limit %d, stream %d truncated: %v", limit, i, err)
				}
				bad := bytes.Clone(c)
				bad[2+rng.IntN(len(bad)-2)] ^= byte(1 << rng.IntN(8))
				if err := checkAgainstRef(inf, bad); err != nil {
					t.Fatalf("limit %d, stream %d corrupted: %v", limit, i, err)
				}
			}
		}
	}
}

// Hand-made DEFLATE edge cases.
func TestInflateEdgeCases(t *testing.T) {
	z := func(deflate ...byte) []byte {
		return append([]byte{0x78, 0x01}, deflate...)
	}
	withSum := func(b []byte, out string) []byte {
		a, s := uint32(1), uint32(0)
		for i := range len(out) {
			a = (a + uint32(out[i])) % 65521
			s = (s + a) % 65521
		}
		return append(b, byte(s>>8), byte(s), byte(a>>8), byte(a))
	}
	cases := []struct {
		name string
		in   []byte
		want string // "" with err
		err  error
	}{
		{"empty fixed block", withSum(z(0x03, 0x00), ""), "", nil},
		{"stored block", withSum(z(0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'), "abc"), "abc", nil},
		{"stored LEN/NLEN mismatch", withSum(z(0x01, 0x03, 0x00, 0xfc, 0xfe, 'a', 'b', 'c'), "abc"), "", protocol.ErrCorruptPayload},
		{"stored block truncated", z(0x01, 0x03, 0x00, 0xfc, 0xff, 'a'), "", protocol.ErrCorruptPayload},
		{"reserved block type", withSum(z(0x07), ""), "", protocol.ErrCorruptPayload},
		{"no final block", z(0x00, 0x00, 0x00, 0xff, 0xff), "", protocol.ErrCorruptPayload},
		{"missing checksum", z(0x03, 0x00), "", protocol.ErrCorruptPayload},
		{"short checksum", z(0x03, 0x00, 0x00, 0x00, 0x00), "", protocol.ErrCorruptPayload},
		{"header only", []byte{0x78, 0x01}, "", protocol.ErrCorruptPayload},
		{"one byte", []byte{0x78}, "", protocol.ErrCorruptPayload},
		{"nothing", nil, "", protocol.ErrCorruptPayload},
		{"window too large", withSum([]byte{0x88, 0x1c, 0x03, 0x00}, ""), "", protocol.ErrCorruptPayload},
		{"not deflate", withSum([]byte{0x79, 0x1c, 0x03, 0x00}, ""), "", protocol.ErrCorruptPayload},
		{"empty preset dictionary", withSum([]byte{0x78, 0xbb, 0, 0, 0, 1, 0x03, 0x00}, ""), "", nil},
		{"fixed literals and match", withSum(z(fixedBlock(sym('a'), sym('b'), match(3, 2), sym(256))...), "ababa"), "ababa", nil},
		{"overlapping match", withSum(z(fixedBlock(sym('x'), match(258, 1), sym(256))...), string(bytes.Repeat([]byte{'x'}, 259))), string(bytes.Repeat([]byte{'x'}, 259)), nil},
		{"distance too far", withSum(z(fixedBlock(sym('a'), match(3, 2), sym(256))...), "aaaa"), "", protocol.ErrCorruptPayload},
		{"match first", withSum(z(fixedBlock(match(3, 1), sym(256))...), ""), "", protocol.ErrCorruptPayload},
		{"literal/length 286", withSum(z(fixedBlock(sym('a'), sym(286), sym(256))...), "a"), "", protocol.ErrCorruptPayload},
		{"literal/length 287", withSum(z(fixedBlock(sym('a'), sym(287), sym(256))...), "a"), "", protocol.ErrCorruptPayload},
		{"distance symbol 30", withSum(z(fixedBlock(sym('a'), sym(257), bitsOf(0b01111, 5), sym(256))...), "a"), "", protocol.ErrCorruptPayload},
		{"no end of block", z(fixedBlock(sym('a'))...), "", protocol.ErrCorruptPayload},
	}
	inf := protocol.NewInflater(0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := inf.Inflate(c.in)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %q, %v; want %v", got, err, c.err)
				}
			} else if err != nil || string(got) != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
			if err := checkAgainstRef(protocol.NewInflater(0), c.in); err != nil {
				t.Fatalf("differs from compress/zlib: %v", err)
			}
		})
	}
}

// A tiny DEFLATE writer for hand-made fixed-code blocks.
type bitSeq []struct {
	v uint32
	n uint
}

func bitsOf(v uint32, n uint) bitSeq { return bitSeq{{v, n}} }

// sym is the fixed Huffman code of literal/length symbol s (RFC 1951
// §3.2.6), most significant bit first.
func sym(s int) bitSeq {
	var code uint32
	var n uint
	switch {
	case s < 144:
		code, n = uint32(0x30+s), 8
	case s < 256:
		code, n = uint32(0x190+s-144), 9
	case s < 280:
		code, n = uint32(s-256), 7
	default:
		code, n = uint32(0xc0+s-280), 8
	}
	return bitSeq{{reverse(code, n), n}}
}

// match encodes a back-reference with a length of 3…10 or 258 and a
// distance of 1…4 (the symbols without extra bits).
func match(length, distance int) bitSeq {
	s := 257 + length - 3
	if length == 258 {
		s = 285
	}
	return append(sym(s), bitSeq{{reverse(uint32(distance-1), 5), 5}}...)
}

func reverse(v uint32, n uint) uint32 {
	var r uint32
	for range n {
		r = r<<1 | v&1
		v >>= 1
	}
	return r
}

// fixedBlock returns a final fixed-code block holding parts, padded to a
// byte.
func fixedBlock(parts ...bitSeq) []byte {
	all := bitSeq{{1, 1}, {1, 2}} // BFINAL, BTYPE=01
	for _, p := range parts {
		all = append(all, p...)
	}
	var out []byte
	var acc uint64
	var nacc uint
	for _, b := range all {
		acc |= uint64(b.v) << nacc
		nacc += b.n
		for nacc >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nacc -= 8
		}
	}
	if nacc > 0 {
		out = append(out, byte(acc))
	}
	return out
}

// The output buffer grows on the fly up to exactly an eighth of the limit:
// every output up to that size is inflated in one pass, without the
// counting pass, and the growth costs less than twice that size. Only a
// larger output is counted first. The limit is 8 MiB (an eighth: 1 MiB);
// with PUSHMON_LONG=1, the default limit (64 MiB, an eighth: 8 MiB).
func TestInflateDirectUpToAnEighth(t *testing.T) {
	limit := 8 << 20
	if long() {
		limit = protocol.DefaultMaxDecompressed
	}
	direct := limit / 8
	for _, n := range []int{100 << 10, direct * 3 / 4, direct - 1, direct, direct + 1} {
		doc := jsonDoc(n)
		compressed := deflate(t, doc)
		inf := protocol.NewInflater(limit) // fresh, so that its growth is measured
		var out []byte
		var err error
		alloc := allocated(func() { out, err = inf.Inflate(compressed) })
		if err != nil || !bytes.Equal(out, doc) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(out), err)
		}
		if counted := protocol.InflateCounted(inf); counted != (n > direct) {
			t.Errorf("%d bytes (%d compressed): counted first = %v, want %v", n, len(compressed), counted, n > direct)
		}
		if n <= direct && alloc >= uint64(2*direct) {
			t.Errorf("%d bytes: allocated %d, want < %d", n, alloc, 2*direct)
		}
	}
}

// The Inflater's errors name the PublishMessage but no size, which it
// does not know.
func TestInflateErrorMessages(t *testing.T) {
	inf := protocol.NewInflater(1000)
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{deflate(t, make([]byte, 2000)), "protocol: decompressed payload too large (PublishMessage): limit is 1000 bytes"},
		{[]byte{0x78}, "protocol: corrupt compressed payload (PublishMessage): unexpected EOF"},
	} {
		_, err := inf.Inflate(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
