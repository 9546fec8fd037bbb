package protocol_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pushmon/pushmon/protocol"
)

// A frame that declares 4 GiB fails before any body byte is read and costs
// no more than the Reader itself.
func TestFrameTooLarge(t *testing.T) {
	hdr := protocol.AppendHeader(nil, protocol.TypePublishMessage, 0xFFFFFFFF)
	src := &countingReader{r: io.MultiReader(bytes.NewReader(hdr), zeros{})}
	var err error
	alloc := allocated(func() {
		r := protocol.NewReader(src, protocol.ReaderOptions{})
		_, err = r.ReadFrame()
	})
	if !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	var fe *protocol.FrameError
	if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage || fe.Size != 0xFFFFFFFF {
		t.Fatalf("FrameError = %+v", fe)
	}
	if alloc > 64<<10 {
		t.Fatalf("allocated %d bytes for a rejected header, want ≤ 64 KiB", alloc)
	}
	if src.bytes > protocol.DefaultBufferSize {
		t.Fatalf("read %d bytes of a frame that was rejected by its header", src.bytes)
	}

	// The limit is configurable and inclusive.
	for _, limit := range []uint32{100, 5000, 1 << 20} {
		for _, size := range []uint32{limit, limit + 1} {
			frame := rawPublish(size, 1, 1, 0, 1, size-10, make([]byte, size-10))
			r := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{MaxFrameSize: limit})
			_, err := r.ReadFrame()
			if tooLarge := errors.Is(err, protocol.ErrFrameTooLarge); tooLarge != (size > limit) || (!tooLarge && err != nil) {
				t.Errorf("limit %d, size %d: %v", limit, size, err)
			}
		}
	}
	// The default limit is 16 MiB.
	frame := protocol.AppendHeader(nil, protocol.TypePublishMessage, protocol.DefaultMaxFrameSize+1)
	if _, err := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{}).ReadFrame(); !errors.Is(err, protocol.ErrFrameTooLarge) {
		t.Fatalf("16 MiB + 1: %v", err)
	}
}

// A frame that declares a large size and then ends costs memory in
// proportion to the bytes that arrived, not to the size it declared.
func TestTruncatedLargeFrame(t *testing.T) {
	const declared = 512 << 20
	for _, arrived := range []int{0, 10, 5000, 100 << 10, 1 << 20} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"half":     iotest.HalfReader,
			"data+EOF": iotest.DataErrReader,
		} {
			t.Run(fmt.Sprintf("%d/%s", arrived, name), func(t *testing.T) {
				stream := rawPublish(declared, 1, 1, 0, 1, declared-10, make([]byte, arrived))
				var err error
				alloc := allocated(func() {
					r := protocol.NewReader(wrap(bytes.NewReader(stream)), protocol.ReaderOptions{MaxFrameSize: 1 << 30})
					_, err = r.ReadFrame()
				})
				if !errors.Is(err, protocol.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("got %v, want ErrTruncated and io.ErrUnexpectedEOF", err)
				}
				var fe *protocol.FrameError
				if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage || fe.Size != declared {
					t.Fatalf("FrameError = %+v", fe)
				}
				// Reader buffer, the growing body buffer (at most about four
				// times what arrived, counting the copies made while growing)
				// and the error.
				if bound := uint64(4*len(stream) + 2*protocol.DefaultBufferSize + 16<<10); alloc > bound {
					t.Fatalf("allocated %d bytes for %d arrived bytes (declared %d), want ≤ %d", alloc, len(stream), declared, bound)
				}
			})
		}
	}
}

// A stream cut anywhere inside a frame is truncated; cut at a frame
// boundary it ends cleanly.
func TestTruncatedEverywhere(t *testing.T) {
	stream, want := syntheticStream(t, nil)
	stream, want = stream[:firstFramesLen(want, 6)], want[:6]
	if haveVectors() {
		stream, want = captureStream(t)
	}
	boundaries := map[int]int{0: 0}
	off := 0
	for i, f := range want {
		off += protocol.HeaderSize + len(f.Payload)
		boundaries[off] = i + 1
	}
	for _, bufSize := range []int{0, 64} {
		for cut := 0; cut < len(stream); cut++ {
			got, err := readAll(protocol.NewReader(bytes.NewReader(stream[:cut]), protocol.ReaderOptions{BufferSize: bufSize}))
			if n, ok := boundaries[cut]; ok {
				if err != io.EOF || len(got) != n {
					t.Fatalf("cut at boundary %d: %d frames, %v; want %d frames, io.EOF", cut, len(got), err, n)
				}
				continue
			}
			if !errors.Is(err, protocol.ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d: %v, want ErrTruncated", cut, err)
			}
			var fe *protocol.FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("cut at %d: %T is not a *FrameError", cut, err)
			}
			// Once the header is complete the error names the frame.
			if start := firstFramesLen(want, len(got)); cut-start >= protocol.HeaderSize &&
				(fe.Type != want[len(got)].Type || int(fe.Size) != len(want[len(got)].Payload)) {
				t.Fatalf("cut at %d: error names %v size %d, want %v size %d", cut, fe.Type, fe.Size,
					want[len(got)].Type, len(want[len(got)].Payload))
			}
		}
	}
}

func TestSizeMismatch(t *testing.T) {
	doc := []byte(`{"Document":{}}`)
	n := uint32(len(doc))
	cases := map[string][]byte{
		"PayloadSize one more":      rawPublish(n+10, 1, 1, 0, 1, n+1, doc),
		"PayloadSize one less":      rawPublish(n+10, 1, 1, 0, 1, n-1, doc),
		"PayloadSize zero":          rawPublish(n+10, 1, 1, 0, 1, 0, doc),
		"PayloadSize counts header": rawPublish(n+10, 1, 1, 0, 1, n+10, doc), // the docs' own mistake
		"PayloadSize 4 GiB":         rawPublish(n+10, 1, 1, 0, 1, 0xFFFFFFFF, doc),
		"Size below sub-header":     protocol.AppendHeader(nil, protocol.TypePublishMessage, 9),
		"ConnectResponse of 5":      append(protocol.AppendHeader(nil, protocol.TypeConnectResponse, 5), 0, 200, 0, 1, 0),
		"ConnectResponse of 3":      append(protocol.AppendHeader(nil, protocol.TypeConnectResponse, 3), 0, 200, 0),
	}
	for name, stream := range cases {
		t.Run(name, func(t *testing.T) {
			r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{})
			f, err := r.ReadFrame()
			if err == nil && f.Type == protocol.TypePublishMessage {
				_, err = protocol.ParsePublishMessage(f.Payload)
			}
			if !errors.Is(err, protocol.ErrSizeMismatch) {
				t.Fatalf("got %v, want ErrSizeMismatch", err)
			}
			var fe *protocol.FrameError
			if !errors.As(err, &fe) || fe.Type != protocol.Type(stream[1]) {
				t.Fatalf("FrameError = %+v", fe)
			}
		})
	}

	serverCases := map[string][]byte{
		"ack of 3":               append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 3), 1, 0, 200),
		"ack of 8":               append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 8), make([]byte, 8)...),
		"ConnectRequest of 9":    append(protocol.AppendHeader(nil, protocol.TypeConnectRequest, 9), make([]byte, 9)...),
		"ConnectRequest of 200K": protocol.AppendHeader(nil, protocol.TypeConnectRequest, 200000),
		"user length overruns":   append(protocol.AppendHeader(nil, protocol.TypeConnectRequest, 12), 0, 1, 0, 9, 'a', 'b', 0, 0, 0, 0, 0, 0),
		"password too short":     append(protocol.AppendHeader(nil, protocol.TypeConnectRequest, 12), 0, 1, 0, 1, 'a', 0, 2, 'b', 0, 0, 0, 0),
		"password too long":      append(protocol.AppendHeader(nil, protocol.TypeConnectRequest, 12), 0, 1, 0, 1, 'a', 0, 0, 'b', 0, 0, 0, 0),
	}
	for name, stream := range serverCases {
		t.Run(name, func(t *testing.T) {
			r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{Side: protocol.ServerSide})
			f, err := r.ReadFrame()
			if err == nil && f.Type == protocol.TypeConnectRequest {
				_, err = protocol.ParseConnectRequest(f.Payload)
			}
			if !errors.Is(err, protocol.ErrSizeMismatch) {
				t.Fatalf("got %v, want ErrSizeMismatch", err)
			}
		})
	}

	// The Parse functions check lengths on their own too.
	for name, err := range map[string]error{
		"ParsePublishMessage short": second(protocol.ParsePublishMessage(make([]byte, 9))),
		"ParseConnectResponse":      second(protocol.ParseConnectResponse(make([]byte, 5))),
		"ParseAck":                  second(protocol.ParseAck(make([]byte, 3))),
		"ParseConnectRequest short": second(protocol.ParseConnectRequest(make([]byte, 9))),
	} {
		if !errors.Is(err, protocol.ErrSizeMismatch) {
			t.Errorf("%s: %v, want ErrSizeMismatch", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// Count is the server's claim; it is reported but sizes nothing.
func TestCountIsNotTrusted(t *testing.T) {
	frame := rawPublish(11, 7, 65535, 0, 1, 1, []byte("x"))
	r := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{})
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.ParsePublishMessage(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != 65535 || string(m.Payload) != "x" || m.DataBlockID != 7 {
		t.Fatalf("parsed %+v", m)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if _, err := protocol.ParsePublishMessage(f.Payload); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("ParsePublishMessage with Count 65535 allocates %v times", allocs)
	}
}

func TestUnknownEnums(t *testing.T) {
	doc := []byte("{}")
	for v := 2; v < 256; v++ {
		frame := rawPublish(12, 1, 1, byte(v), 1, 2, doc)
		_, err := protocol.ParsePublishMessage(frame[protocol.HeaderSize:])
		if !errors.Is(err, protocol.ErrUnknownCompression) {
			t.Fatalf("compression %d: %v", v, err)
		}
		frame = rawPublish(12, 1, 1, 1, byte(v), 2, doc)
		_, err = protocol.ParsePublishMessage(frame[protocol.HeaderSize:])
		if !errors.Is(err, protocol.ErrUnknownFormat) {
			t.Fatalf("format %d: %v", v, err)
		}
		var fe *protocol.FrameError
		if !errors.As(err, &fe) || !strings.Contains(fe.Error(), fmt.Sprintf("Format(%d)", v)) {
			t.Fatalf("format %d: error %q should name the value", v, err)
		}
	}
}

func TestUnknownType(t *testing.T) {
	for _, typ := range []uint16{0, 5, 6, 0x0100, 0x7FFF, 0xFFFF} {
		for _, side := range []protocol.Side{protocol.ClientSide, protocol.ServerSide} {
			frame := append(protocol.AppendHeader(nil, protocol.Type(typ), 4), 1, 2, 3, 4)
			var first []byte
			if side == protocol.ClientSide {
				first = protocol.AppendConnectResponse(nil, protocol.StatusOK)
			} else {
				first = protocol.AppendAck(nil, 1)
			}
			for _, stream := range [][]byte{frame, append(first, frame...)} {
				got, err := readAll(protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{Side: side}))
				if !errors.Is(err, protocol.ErrUnknownType) {
					t.Fatalf("type %#x side %d after %d frames: %v", typ, side, len(got), err)
				}
				var fe *protocol.FrameError
				if !errors.As(err, &fe) || fe.Type != protocol.Type(typ) || fe.Size != 4 {
					t.Fatalf("FrameError = %+v", fe)
				}
			}
		}
	}
}

// Connecting to the wrong port (TLS on a plaintext reader, or a web server)
// is reported as such rather than as an absurd frame.
func TestWrongEndpoint(t *testing.T) {
	cases := []struct {
		name  string
		bytes string
		want  error
	}{
		{"TLS alert", "\x15\x03\x03\x00\x02\x02\x28", protocol.ErrLooksLikeTLS},
		{"TLS 1.0 ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", protocol.ErrLooksLikeTLS},
		{"TLS 1.2 ServerHello", "\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03", protocol.ErrLooksLikeTLS},
		{"TLS application data", "\x17\x03\x03\x01\x00" + strings.Repeat("\x99", 256), protocol.ErrLooksLikeTLS},
		{"SSL 3.0 handshake", "\x16\x03\x00\x00\x10" + strings.Repeat("\x00", 16), protocol.ErrLooksLikeTLS},
		{"HTTP response", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", protocol.ErrLooksLikeHTTP},
		{"HTTP/1.0 response", "HTTP/1.0 200 OK\r\n\r\n", protocol.ErrLooksLikeHTTP},
		{"HTTP GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", protocol.ErrLooksLikeHTTP},
		{"HTTP POST", "POST /ws/Monitor HTTP/1.1\r\n\r\n", protocol.ErrLooksLikeHTTP},
	}
	for _, c := range cases {
		for _, side := range []protocol.Side{protocol.ClientSide, protocol.ServerSide} {
			t.Run(fmt.Sprintf("%s/side%d", c.name, side), func(t *testing.T) {
				var err error
				alloc := allocated(func() {
					_, err = protocol.NewReader(strings.NewReader(c.bytes), protocol.ReaderOptions{Side: side}).ReadFrame()
				})
				if !errors.Is(err, c.want) {
					t.Fatalf("got %v, want %v", err, c.want)
				}
				if !strings.Contains(err.Error(), "wrong port, or plaintext vs TLS?") {
					t.Fatalf("message %q does not say what to check", err)
				}
				var fe *protocol.FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("%T is not a *FrameError", err)
				}
				if alloc > 64<<10 {
					t.Fatalf("allocated %d bytes", alloc)
				}
			})
		}
	}
	// Only the first frame is sniffed: later, the same bytes are an unknown
	// type, never a claim about the endpoint.
	stream := append(protocol.AppendConnectResponse(nil, protocol.StatusOK), "HTTP/1.1 400 Bad Request\r\n\r\n"...)
	_, err := readAll(protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{}))
	if !errors.Is(err, protocol.ErrUnknownType) || errors.Is(err, protocol.ErrLooksLikeHTTP) {
		t.Fatalf("HTTP after a frame: %v, want ErrUnknownType", err)
	}
	// Push frames are never mistaken for either.
	for _, f := range [][]byte{unhex(t, goldenConnectRequest), unhex(t, goldenAck)} {
		if _, err := protocol.NewReader(bytes.NewReader(f), protocol.ReaderOptions{Side: protocol.ServerSide}).ReadFrame(); err != nil {
			t.Fatalf("% x: %v", f, err)
		}
	}
}

func TestCorruptZlib(t *testing.T) {
	doc := dataPointBatch(20)
	good := deflate(t, doc)
	inf := protocol.NewInflater(0)
	check := func(name string, in []byte) {
		t.Helper()
		out, err := inf.Inflate(in)
		if !errors.Is(err, protocol.ErrCorruptPayload) {
			t.Fatalf("%s: got %d bytes, %v; want ErrCorruptPayload", name, len(out), err)
		}
		var fe *protocol.FrameError
		if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage {
			t.Fatalf("%s: FrameError = %+v", name, fe)
		}
		if out != nil {
			t.Fatalf("%s: output returned with an error", name)
		}
		// The Inflater recovers for the next, valid payload.
		if out, err := inf.Inflate(good); err != nil || !bytes.Equal(out, doc) {
			t.Fatalf("%s: next valid payload: %v", name, err)
		}
	}
	for n := range len(good) {
		check(fmt.Sprintf("truncated to %d", n), good[:n])
	}
	check("garbage", []byte("this is not zlib at all, just text"))
	check("gzip instead of zlib", []byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	check("preset dictionary", []byte{0x78, 0xbb, 0xde, 0xad, 0xbe, 0xef, 3, 0, 0, 0, 0, 1})
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	check("bad checksum", bad)
	bad = bytes.Clone(good)
	bad[len(bad)/2] ^= 0xFF
	check("bad data", bad)
	// A truncated stream matches io.ErrUnexpectedEOF as well.
	if _, err := inf.Inflate(good[:len(good)/2]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	// Bytes after the end of the stream are ignored.
	if out, err := inf.Inflate(append(bytes.Clone(good), "trailing"...)); err != nil || !bytes.Equal(out, doc) {
		t.Fatalf("trailing bytes: %v", err)
	}
}

// A compression bomb (about 1 MiB that inflates to 1 GiB) stops at the
// limit with an error, having allocated well under 1.25 × the limit.
func TestZlibBomb(t *testing.T) {
	// The shortcut that builds the bomb must give the compressor's own
	// bytes, and they must inflate to zeros.
	small := zlibBomb(t, 6)
	if real := deflateFlushed(t, 6); !bytes.Equal(small, real) {
		t.Fatalf("zlibBomb(6) differs from a real compression (%d vs %d bytes)", len(small), len(real))
	}
	zr, err := zlib.NewReader(bytes.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(&zeroChecker{}, zr); err != nil || n != 6<<20 {
		t.Fatalf("zlibBomb(6) inflates to %d bytes, %v", n, err)
	}
	bomb := zlibBomb(t, 1024)
	t.Logf("bomb: %d bytes → 1 GiB", len(bomb))
	if len(bomb) > 1200<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	const limit = 64 << 20
	inf := protocol.NewInflater(limit)
	var out []byte
	alloc := allocated(func() { out, err = inf.Inflate(bomb) })
	if produced := protocol.InflatePeak(inf); produced > limit+1 {
		t.Fatalf("the decompressor produced %d bytes, want ≤ limit+1 = %d", produced, limit+1)
	}
	if !errors.Is(err, protocol.ErrDecompressedTooLarge) || out != nil {
		t.Fatalf("got %d bytes, %v; want ErrDecompressedTooLarge", len(out), err)
	}
	var fe *protocol.FrameError
	if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage {
		t.Fatalf("FrameError = %+v", fe)
	}
	t.Logf("allocated %.1f MiB for a %d MiB limit", float64(alloc)/(1<<20), limit>>20)
	if alloc > limit*5/4 {
		t.Fatalf("allocated %d bytes, want ≤ 1.25 × %d", alloc, limit)
	}
	// The Inflater still works afterwards.
	doc := dataPointBatch(3)
	if got, err := inf.Inflate(deflate(t, doc)); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("after the bomb: %v", err)
	}
}

// deflateFlushed compresses mib MiB of zeros for real, flushing after each
// MiB as zlibBomb's segments assume.
func deflateFlushed(t *testing.T, mib int) []byte {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range mib {
		w.Write(chunk)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zeroChecker is a writer that accepts only zero bytes.
type zeroChecker struct{}

func (zeroChecker) Write(p []byte) (int, error) {
	for i, b := range p {
		if b != 0 {
			return i, errors.New("non-zero byte")
		}
	}
	return len(p), nil
}

// The limit is exact: limit bytes inflate, limit+1 do not, whichever way
// the output buffer grew to get there.
func TestInflateLimitExact(t *testing.T) {
	for _, limit := range []int{1, 511, 512, 4096, 100000, 1 << 20} {
		if l := protocol.NewInflater(limit).Limit(); l != limit {
			t.Fatalf("Limit() = %d, want %d", l, limit)
		}
		for _, n := range []int{0, limit / 9, limit / 8, limit/8 + 1, limit/2 + 3, limit - 1, limit, limit + 1, 2*limit + 5} {
			doc := jsonDoc(n)[:n]
			if n == 0 {
				doc = nil
			}
			compressed := deflate(t, doc)
			inf := protocol.NewInflater(limit) // fresh, so that its growth is measured
			var out []byte
			var err error
			alloc := allocated(func() { out, err = inf.Inflate(compressed) })
			if n > limit {
				if !errors.Is(err, protocol.ErrDecompressedTooLarge) {
					t.Fatalf("limit %d, %d bytes: %v", limit, n, err)
				}
				if produced := protocol.InflatePeak(inf); produced > limit+1 {
					t.Fatalf("limit %d, %d bytes: produced %d bytes", limit, n, produced)
				}
			} else if err != nil || !bytes.Equal(out, doc) {
				t.Fatalf("limit %d, %d bytes: got %d bytes, %v", limit, n, len(out), err)
			}
			// Allocation: the output, at most a quarter of the limit for
			// growing (at least 128 KiB) and the 96 KiB counting window.
			if bound := uint64(min(n, limit+1)+limit/4) + 256<<10; alloc > bound {
				t.Fatalf("limit %d, %d bytes: allocated %d, want ≤ %d", limit, n, alloc, bound)
			}
			// Inflating the same payload again allocates nothing new.
			// The Go runtime may allocate on its own during a run: it
			// builds the cache of an interface conversion (zlib's Read
			// makes one at the end of every stream) at a random call, 1
			// in 1024, once per type seen there — 48 or 80 bytes, seen
			// under the race detector. That happens once in a process,
			// so the least of three runs is Inflate's own figure, and it
			// is exactly zero.
			if n <= limit {
				again := allocatedMin(3, func() { out, err = inf.Inflate(compressed) })
				if err != nil || !bytes.Equal(out, doc) || again != 0 {
					t.Fatalf("limit %d, %d bytes again: %v, allocated %d", limit, n, err, again)
				}
			}
		}
	}
	if protocol.NewInflater(0).Limit() != protocol.DefaultMaxDecompressed || protocol.NewInflater(-5).Limit() != protocol.DefaultMaxDecompressed {
		t.Fatal("NewInflater(0) and NewInflater(-5) must use DefaultMaxDecompressed")
	}
}

func TestCredentialTooLong(t *testing.T) {
	long := "SECRET" + strings.Repeat("x", protocol.MaxCredentialLen-6) + "!" // 65 536 bytes
	for _, c := range []struct{ user, pass string }{{long, "cola"}, {"pepsi", long}, {long, long}} {
		dst := []byte("keep")
		out, err := protocol.AppendConnectRequest(dst, c.user, c.pass, 1)
		if !errors.Is(err, protocol.ErrCredentialTooLong) {
			t.Fatalf("got %v, want ErrCredentialTooLong", err)
		}
		if string(out) != "keep" || len(out) != 4 {
			t.Fatalf("dst changed to %d bytes", len(out))
		}
		if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "xxxx") {
			t.Fatalf("error text contains the credential: %.80s…", err)
		}
	}
	// 65 535 bytes of multi-byte runes fit exactly; one more byte does not.
	fits := strings.Repeat("€", protocol.MaxCredentialLen/3) // 3 bytes each: 65 535 bytes
	if _, err := protocol.AppendConnectRequest(nil, "u", fits, 1); err != nil {
		t.Fatalf("%d bytes: %v", len(fits), err)
	}
	if _, err := protocol.AppendConnectRequest(nil, fits+"a", "p", 1); !errors.Is(err, protocol.ErrCredentialTooLong) {
		t.Fatalf("%d bytes: %v", len(fits)+1, err)
	}
}

// A FrameError never carries ConnectRequest bytes, so a malformed request
// cannot leak its password through the error.
func TestFrameErrorHoldsNoCredential(t *testing.T) {
	const secret = "hunter2-pässwörd"
	frame, err := protocol.AppendConnectRequest(nil, "pepsi", secret, 260)
	if err != nil {
		t.Fatal(err)
	}
	frame[protocol.HeaderSize+3]++ // user name length one too long
	r := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{Side: protocol.ServerSide})
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	_, err = protocol.ParseConnectRequest(f.Payload)
	var fe *protocol.FrameError
	if !errors.As(err, &fe) || !errors.Is(err, protocol.ErrSizeMismatch) {
		t.Fatalf("got %v", err)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", fe)} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "pepsi") {
			t.Fatalf("error reveals credentials: %s", s)
		}
	}
}

// errors.As finds a *FrameError with the frame's type and size for every
// malformed frame.
func TestFrameErrorAs(t *testing.T) {
	var fe *protocol.FrameError
	f, err := protocol.NewReader(bytes.NewReader(rawPublish(12, 1, 1, 9, 1, 2, []byte("{}"))), protocol.ReaderOptions{}).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	_, err = protocol.ParsePublishMessage(f.Payload)
	if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage || fe.Size != 12 || fe.Err != protocol.ErrUnknownCompression {
		t.Fatalf("FrameError = %+v", fe)
	}
	if want := "protocol: unknown compression (PublishMessage, size 12): Compression(9)"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err, want)
	}
	if fe.Unwrap() != protocol.ErrUnknownCompression {
		t.Fatal("Unwrap")
	}
}

// Every error is final: later calls return it again without reading more.
func TestStickyErrors(t *testing.T) {
	deadline := fmt.Errorf("read: %w", os.ErrDeadlineExceeded)
	cases := map[string]struct {
		src  io.Reader
		want error
	}{
		"EOF":           {bytes.NewReader(nil), io.EOF},
		"truncated":     {bytes.NewReader([]byte{0, 3, 0}), protocol.ErrTruncated},
		"too large":     {bytes.NewReader(protocol.AppendHeader(nil, protocol.TypePublishMessage, 0xFFFFFFFF)), protocol.ErrFrameTooLarge},
		"unknown type":  {bytes.NewReader(protocol.AppendHeader(nil, 9, 0)), protocol.ErrUnknownType},
		"direction":     {bytes.NewReader(protocol.AppendAck(nil, 1)), protocol.ErrWrongDirection},
		"TLS":           {strings.NewReader("\x15\x03\x03\x00\x02\x02\x28"), protocol.ErrLooksLikeTLS},
		"deadline":      {io.MultiReader(bytes.NewReader([]byte{0, 3, 0, 0}), iotest.ErrReader(deadline)), os.ErrDeadlineExceeded},
		"deadline body": {io.MultiReader(bytes.NewReader(rawPublish(5000, 1, 1, 0, 1, 4990, nil)), iotest.ErrReader(deadline)), os.ErrDeadlineExceeded},
		"no progress":   {emptyReader{}, io.ErrNoProgress},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			src := &countingReader{r: c.src}
			r := protocol.NewReader(src, protocol.ReaderOptions{})
			_, err := r.ReadFrame()
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !typedErr(err) && c.want != os.ErrDeadlineExceeded && c.want != io.ErrNoProgress {
				t.Fatalf("untyped error %v", err)
			}
			calls := src.calls
			for range 3 {
				if _, again := r.ReadFrame(); again != err {
					t.Fatalf("ReadFrame again: %v, want the same %v", again, err)
				}
				if again := r.Await(); again != err {
					t.Fatalf("Await again: %v, want the same %v", again, err)
				}
			}
			if src.calls != calls {
				t.Fatalf("the Reader read again after a final error")
			}
		})
	}
	// Errors of the underlying reader pass through unchanged, never as
	// truncation: a deadline inside a frame is a deadline.
	r := protocol.NewReader(io.MultiReader(bytes.NewReader([]byte{0, 3, 0, 0, 0, 20, 1}), iotest.ErrReader(deadline)), protocol.ReaderOptions{})
	if _, err := r.ReadFrame(); err != deadline {
		t.Fatalf("got %v, want the reader's own error", err)
	}
}

// emptyReader returns neither bytes nor an error, forever: a broken reader
// must not make the Reader spin.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	prefixes := map[string][]byte{
		"before a frame":     nil,
		"inside a header":    {0, 3},
		"inside a body":      rawPublish(100, 1, 1, 0, 1, 90, []byte("abc")),
		"inside a big body":  rawPublish(100000, 1, 1, 0, 1, 99990, make([]byte, 5000)),
		"after a full frame": protocol.AppendConnectResponse(nil, 200),
	}
	for name, prefix := range prefixes {
		t.Run(name, func(t *testing.T) {
			r := protocol.NewReader(io.MultiReader(bytes.NewReader(prefix), emptyReader{}), protocol.ReaderOptions{})
			var err error
			for err == nil {
				_, err = r.ReadFrame()
			}
			if err != io.ErrNoProgress {
				t.Fatalf("got %v, want io.ErrNoProgress", err)
			}
			r = protocol.NewReader(emptyReader{}, protocol.ReaderOptions{})
			if err := r.Await(); err != io.ErrNoProgress {
				t.Fatalf("Await: %v", err)
			}
		})
	}
}

// TestInflaterTrailing: Trailing tells how many bytes followed the end of
// the zlib stream, whether its output was measured in two passes or not.
func TestInflaterTrailing(t *testing.T) {
	for _, size := range []int{10, 1 << 20} {
		doc := bytes.Repeat([]byte("x"), size)
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write(doc)
		w.Close()
		good := b.Bytes()
		inf := protocol.NewInflater(4 << 20)
		for _, tail := range []string{"", "\n", "trailing", string(good)} {
			out, err := inf.Inflate(append(bytes.Clone(good), tail...))
			if err != nil || !bytes.Equal(out, doc) {
				t.Fatalf("size %d, tail %d bytes: %v", size, len(tail), err)
			}
			if got := inf.Trailing(); got != len(tail) {
				t.Errorf("size %d: Trailing() = %d, want %d", size, got, len(tail))
			}
		}
	}
}
