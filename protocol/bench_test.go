package protocol_test

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// decodeSizes are the document sizes of the decode benchmarks.
var decodeSizes = []struct {
	name string
	size int
}{{"300B", 300}, {"4KiB", 4 << 10}, {"64KiB", 64 << 10}}

// publishStream returns a stream of whole PublishMessage frames carrying
// documents of the given size, at least 1 MiB and 16 frames long, and the
// size of one frame.
func publishStream(tb testing.TB, size int) ([]byte, int) {
	doc := jsonDoc(size)
	var stream []byte
	for i := 0; i < 16 || len(stream) < 1<<20; i++ {
		stream = append(stream, publish(tb, protocol.PublishMessage{DataBlockID: uint16(i), Count: 1,
			Format: protocol.FormatJSON, Payload: doc})...)
	}
	return stream, protocol.HeaderSize + protocol.PublishHeaderSize + size
}

// BenchmarkDecode reads and parses PublishMessages from an in-memory stream
// that loops forever. "baseline" reads the same bytes the cheapest way a
// hand-written client would (bufio.Reader, the 6-byte header, io.ReadFull
// of Size bytes into a reused buffer; nothing more), with the same 4 KiB
// buffer as the Reader's default: the codec's cost is the difference.
func BenchmarkDecode(b *testing.B) {
	for _, s := range decodeSizes {
		stream, frameLen := publishStream(b, s.size)
		b.Run(s.name+"/protocol", func(b *testing.B) {
			r := protocol.NewReader(&loopReader{data: stream}, protocol.ReaderOptions{})
			b.SetBytes(int64(frameLen))
			b.ReportAllocs()
			for b.Loop() {
				f, err := r.ReadFrame()
				if err != nil {
					b.Fatal(err)
				}
				m, err := protocol.ParsePublishMessage(f.Payload)
				if err != nil || len(m.Payload) != s.size {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/baseline", func(b *testing.B) {
			br := bufio.NewReaderSize(&loopReader{data: stream}, protocol.DefaultBufferSize)
			hdr := make([]byte, protocol.HeaderSize)
			var body []byte
			b.SetBytes(int64(frameLen))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.ReadFull(br, hdr); err != nil {
					b.Fatal(err)
				}
				size := int(binary.BigEndian.Uint32(hdr[2:]))
				if cap(body) < size {
					body = make([]byte, size)
				}
				if _, err := io.ReadFull(br, body[:size]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendAck encodes an ack into a reused slice.
func BenchmarkAppendAck(b *testing.B) {
	buf := make([]byte, 0, 64)
	var id uint16
	b.ReportAllocs()
	for b.Loop() {
		buf = protocol.AppendAck(buf[:0], id)
		id++
	}
	if len(buf) != protocol.AckSize {
		b.Fatal(len(buf))
	}
}

// BenchmarkAppendConnectRequest encodes a ConnectRequest into a reused slice.
func BenchmarkAppendConnectRequest(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = protocol.AppendConnectRequest(buf[:0], "pepsi", "cola", 260); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInflate inflates zlib batches of realistic DataPoint events with
// a reused Inflater, and for comparison with a new zlib.NewReader per frame
// (reading into a reused buffer, so that only the reader's cost differs).
func BenchmarkInflate(b *testing.B) {
	for _, events := range []int{1, 100} {
		doc := dataPointBatch(events)
		compressed := deflate(b, doc)
		name := fmt.Sprintf("%devents", events)
		b.Run(name+"/Inflater", func(b *testing.B) {
			inf := protocol.NewInflater(0)
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				out, err := inf.Inflate(compressed)
				if err != nil || len(out) != len(doc) {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/zlib.NewReader", func(b *testing.B) {
			var out bytes.Buffer
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				zr, err := zlib.NewReader(bytes.NewReader(compressed))
				if err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if _, err := out.ReadFrom(zr); err != nil || out.Len() != len(doc) {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/zlib.Resetter", func(b *testing.B) {
			// compress/zlib at its best: one reader, Reset per frame.
			var out bytes.Buffer
			src := bytes.NewReader(compressed)
			zr, err := zlib.NewReader(src)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(compressed)
				if err := zr.(zlib.Resetter).Reset(src, nil); err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if _, err := out.ReadFrom(zr); err != nil || out.Len() != len(doc) {
					b.Fatal(err)
				}
			}
		})
	}
}

// The allocation goals, checked on every test run (not timed).
func TestSteadyStateAllocs(t *testing.T) {
	for _, s := range decodeSizes {
		stream, _ := publishStream(t, s.size)
		r := protocol.NewReader(&loopReader{data: stream}, protocol.ReaderOptions{})
		read := func() {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := protocol.ParsePublishMessage(f.Payload); err != nil {
				t.Fatal(err)
			}
		}
		read() // the first large frame grows the Reader's body buffer
		if allocs := testing.AllocsPerRun(200, read); allocs != 0 {
			t.Errorf("ReadFrame+ParsePublishMessage, %s: %v allocs per frame, want 0", s.name, allocs)
		}
	}

	buf := make([]byte, 0, 64)
	if allocs := testing.AllocsPerRun(200, func() { buf = protocol.AppendAck(buf[:0], 0x01A7) }); allocs != 0 {
		t.Errorf("AppendAck: %v allocs, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(200, func() {
		buf, _ = protocol.AppendConnectRequest(buf[:0], "pepsi", "cola", 260)
	}); allocs != 0 {
		t.Errorf("AppendConnectRequest: %v allocs, want 0", allocs)
	}

	for _, events := range []int{1, 100, 1000} {
		compressed := deflate(t, dataPointBatch(events))
		inf := protocol.NewInflater(0)
		if _, err := inf.Inflate(compressed); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := inf.Inflate(compressed); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("Inflate of %d events: %v allocs per frame, want ≤ 1", events, allocs)
		}
	}
}
