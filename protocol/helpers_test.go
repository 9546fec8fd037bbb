package protocol_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// vectorsDir is the folder of bytes captured from the real server (the
// protocol package documentation, §2.2 and §2.3, describes them).
const vectorsDir = "testdata/vectors"

// readVector returns the bytes of one capture.
func readVector(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// vectorOrNil returns a capture's bytes, or nil when the captures are absent.
// It serves fuzz seed corpora, which use the captures when they can.
func vectorOrNil(name string) []byte {
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		return nil
	}
	return b
}

// long reports whether the long, full-size variants of the tests run
// (PUSHMON_LONG=1); by default they run at a size that tests the same
// code in less time.
func long() bool { return os.Getenv("PUSHMON_LONG") == "1" }

// allocated returns the bytes allocated on the heap while fn ran
// (runtime.MemStats.TotalAlloc delta). No test in this package runs in
// parallel, so the figure belongs to fn (plus a little runtime noise).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// allocatedMin runs fn n times and returns the least it allocated. Fuzzing
// runs other goroutines (the engine's own) that allocate now and then; they
// can only add to a measurement, so the least of a few runs of a
// repeatable fn is its own figure.
func allocatedMin(n int, fn func()) uint64 {
	least := allocated(fn)
	for range n - 1 {
		least = min(least, allocated(fn))
	}
	return least
}

// sentinels are all the package's sentinel errors.
var sentinels = []error{
	protocol.ErrFrameTooLarge, protocol.ErrUnknownType, protocol.ErrWrongDirection,
	protocol.ErrSizeMismatch, protocol.ErrTruncated, protocol.ErrUnknownCompression,
	protocol.ErrUnknownFormat, protocol.ErrCorruptPayload, protocol.ErrDecompressedTooLarge,
	protocol.ErrCredentialTooLong, protocol.ErrPayloadTooLarge, protocol.ErrLooksLikeTLS,
	protocol.ErrLooksLikeHTTP,
}

// typedErr reports whether err is io.EOF or matches one of the sentinels.
func typedErr(err error) bool {
	if err == io.EOF {
		return true
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// owned is a frame whose payload the test owns (copied out of the Reader).
type owned struct {
	Type    protocol.Type
	Payload []byte
}

// readAll reads frames until the first error, copying every payload, and
// returns them with that error (io.EOF at a clean end).
func readAll(r *protocol.Reader) ([]owned, error) {
	var out []owned
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return out, err
		}
		out = append(out, owned{f.Type, bytes.Clone(f.Payload)})
	}
}

// publish encodes a PublishMessage frame or fails the test.
func publish(tb testing.TB, m protocol.PublishMessage) []byte {
	tb.Helper()
	b, err := protocol.AppendPublishMessage(nil, m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// rawPublish builds a PublishMessage frame field by field, so that tests
// can lie in any field (Size, PayloadSize, Count, the enum bytes).
func rawPublish(size uint32, id, count uint16, comp, format byte, payloadSize uint32, doc []byte) []byte {
	b := protocol.AppendHeader(nil, protocol.TypePublishMessage, size)
	b = binary.BigEndian.AppendUint16(b, id)
	b = binary.BigEndian.AppendUint16(b, count)
	b = append(b, comp, format)
	b = binary.BigEndian.AppendUint32(b, payloadSize)
	return append(b, doc...)
}

// deflate returns b as a zlib stream.
func deflate(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// mustDeflate is deflate for seed corpora built outside a test.
func mustDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// dataPointBatch returns a realistic JSON event document (package documentation §4)
// holding n DataPoint events: Msg is an object for one event and an array
// for several. Values vary with a fixed seed, so the document is the same
// on every run but compresses like real traffic rather than like a
// repeated string.
func dataPointBatch(n int) []byte {
	rng := rand.New(rand.NewPCG(7603, uint64(n)))
	var b strings.Builder
	b.WriteString(`{"Document":{"Msg":`)
	if n != 1 {
		b.WriteByte('[')
	}
	ts := int64(1434307047694)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ts += int64(rng.IntN(5000))
		stream := [...]string{"test", "metrics/cellular/rssi", "temperature", "gps/lat"}[rng.IntN(4)]
		fmt.Fprintf(&b, `{"topic":"7603/DataPoint/%s","operation":"INSERTION","timestamp":"2015-06-14T18:%02d:%02d.%03dZ","group":"*",`+
			`"DataPoint":{"cstId":7603,"data":%.4f,"description":"","id":"%08x-%04x-11e5-%04x-fa163ed4cf14",`+
			`"quality":0,"serverTimestamp":%d,"streamId":"%s","streamUnits":"","timestamp":%d}}`,
			stream, rng.IntN(60), rng.IntN(60), rng.IntN(1000), rng.Float64()*100,
			rng.Uint32(), rng.IntN(0x10000), rng.IntN(0x10000), ts+int64(rng.IntN(300)), stream, ts)
	}
	if n != 1 {
		b.WriteByte(']')
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// jsonDoc returns a JSON-looking document of exactly n bytes.
func jsonDoc(n int) []byte {
	doc := dataPointBatch(max(1, n/300+1))
	if len(doc) >= n {
		return doc[:n]
	}
	return append(doc, bytes.Repeat([]byte{' '}, n-len(doc))...)
}

// loopReader serves data over and over, never ending; a stream of whole
// frames therefore loops seamlessly. Each Read stops at the end of data.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.off == len(l.data) {
		l.off = 0
	}
	n := copy(p, l.data[l.off:])
	l.off += n
	return n, nil
}

// chunkReader returns its chunks one Read at a time (a chunk larger than
// the caller's buffer takes several Reads), then io.EOF.
type chunkReader struct{ chunks [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	return n, nil
}

// countingReader counts the bytes and calls that pass through it.
type countingReader struct {
	r            io.Reader
	bytes, calls int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.calls++
	n, err := c.r.Read(p)
	c.bytes += n
	return n, err
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// zlibBomb returns a zlib stream of mib MiB of zeros. Compressing a GiB
// takes seconds (minutes under the race detector), so it compresses a few
// MiB for real, with a Flush after each MiB so that every MiB becomes a
// byte-aligned segment, and repeats the steady-state segment: once the
// window holds only zeros, each MiB of zeros compresses to the same bytes.
// The stream ends with the compressor's own final block and the Adler-32 of
// the whole output. The test that uses it checks the construction against a
// real compression of the same size.
func zlibBomb(tb testing.TB, mib int) []byte {
	tb.Helper()
	if mib < 4 {
		return deflate(tb, make([]byte, mib<<20))
	}
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	var segs [][]byte
	for range 3 {
		w.Write(chunk)
		if err := w.Flush(); err != nil {
			tb.Fatal(err)
		}
		segs = append(segs, bytes.Clone(buf.Bytes()))
		buf.Reset()
	}
	if !bytes.Equal(segs[1], segs[2]) {
		tb.Fatal("zlibBomb: the compressor's output for a MiB of zeros is not periodic; build the bomb for real")
	}
	w.Close()
	final := buf.Bytes()[:buf.Len()-4] // the last empty block, without the checksum

	out := make([]byte, 0, len(segs[0])+(mib-1)*len(segs[1])+len(final)+4)
	out = append(out, segs[0]...)
	for range mib - 1 {
		out = append(out, segs[1]...)
	}
	out = append(out, final...)
	// Adler-32 of n zero bytes: A = 1, B = n·1 mod 65521.
	b := uint32((uint64(mib) << 20) % 65521)
	return binary.BigEndian.AppendUint32(out, b<<16|1)
}
