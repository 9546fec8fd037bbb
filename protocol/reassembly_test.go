package protocol_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/pushmon/pushmon/protocol"
)

// syntheticStream returns a server → client stream of many frames of mixed
// sizes (empty documents, sizes around the 64-byte and 4 KiB buffer edges,
// frames far larger than either buffer, compressed and not) together with
// the frames a correct reader must return, built from the encoder's inputs
// rather than from any reader.
func syntheticStream(t testing.TB, bigSizes []int) ([]byte, []owned) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want []owned
	add := func(frame []byte) {
		stream = append(stream, frame...)
		want = append(want, owned{protocol.Type(frame[1]), bytes.Clone(frame[protocol.HeaderSize:])})
	}
	add(protocol.AppendConnectResponse(nil, protocol.StatusOK))
	sizes := []int{0, 1, 2, 17, 47, 48, 49, 53, 54, 55, 64, 300, 4079, 4080, 4081, 4085, 4086, 4087, 4096, 5000}
	sizes = append(sizes, bigSizes...)
	for i := range 3 * len(sizes) {
		n := sizes[rng.IntN(len(sizes))]
		if i < len(sizes) {
			n = sizes[i]
		}
		doc := make([]byte, n)
		for j := range doc {
			doc[j] = byte(rng.Uint32())
		}
		m := protocol.PublishMessage{DataBlockID: uint16(i), Count: uint16(rng.Uint32()),
			Format: protocol.Format(i % 2), Payload: doc}
		if i%5 == 4 {
			m.Compression, m.Payload = protocol.CompressionZlib, deflate(t, doc)
		}
		add(publish(t, m))
	}
	return stream, want
}

// captureStream returns the two real captures concatenated, as a server
// sends them on one connection.
func captureStream(t testing.TB) ([]byte, []owned) {
	resp := readVector(t, "connect-response-2012.bin")
	pub := readVector(t, "publish-message-2012.bin")
	want := []owned{
		{protocol.TypeConnectResponse, resp[6:]},
		{protocol.TypePublishMessage, pub[6:524]},
		{protocol.TypePublishMessage, pub[530:]},
	}
	return append(bytes.Clone(resp), pub...), want
}

// checkFrames reads src to the end with a fresh Reader and compares the
// frames with want.
func checkFrames(t *testing.T, src io.Reader, opts protocol.ReaderOptions, want []owned) {
	t.Helper()
	got, err := readAll(protocol.NewReader(src, opts))
	if err != io.EOF {
		t.Fatalf("after %d frames: %v, want io.EOF", len(got), err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("frames differ (-want +got):\n%s", diff)
	}
}

// The same frames come out however the bytes are split into reads.
func TestReassembly(t *testing.T) {
	type streamCase struct {
		name   string
		stream []byte
		want   []owned
	}
	synth, synthWant := syntheticStream(t, []int{10000, 70000, 150000})
	streams := []streamCase{{"synthetic", synth, synthWant}}
	if haveVectors() {
		s, w := captureStream(t)
		streams = append(streams, streamCase{"capture", s, w})
	} else {
		t.Log("captures absent: synthetic stream only")
	}
	readers := map[string]func([]byte) io.Reader{
		"whole":        func(b []byte) io.Reader { return bytes.NewReader(b) },
		"one byte":     func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
		"half":         func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
		"data+EOF":     func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
		"one byte+EOF": func(b []byte) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(b))) },
		"half+EOF":     func(b []byte) io.Reader { return iotest.DataErrReader(iotest.HalfReader(bytes.NewReader(b))) },
		"coalesced":    func(b []byte) io.Reader { return &chunkReader{[][]byte{bytes.Clone(b)}} },
		"prime chunks": func(b []byte) io.Reader { return &chunkReader{splitEvery(b, 4099)} },
		"tiny chunks":  func(b []byte) io.Reader { return &chunkReader{splitEvery(b, 7)} },
	}
	for _, s := range streams {
		for name, mk := range readers {
			for _, opts := range []protocol.ReaderOptions{
				{},
				{BufferSize: 64},
				{BufferSize: 4096 + 128, PoisonBorrowed: true},
				{BufferSize: len(s.stream)}, // the whole stream fits: every frame in one read
			} {
				t.Run(fmt.Sprintf("%s/%s/buf%d", s.name, name, opts.BufferSize), func(t *testing.T) {
					checkFrames(t, mk(s.stream), opts, s.want)
				})
			}
		}
	}
}

// haveVectors reports whether the captures are available.
func haveVectors() bool {
	return vectorOrNil("connect-response-2012.bin") != nil && vectorOrNil("publish-message-2012.bin") != nil
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, bytes.Clone(b[:n]))
		b = b[n:]
	}
	return append(out, bytes.Clone(b))
}

// Every split of a stream into two reads gives the same frames.
func TestReassemblyEverySplit(t *testing.T) {
	type streamCase struct {
		name   string
		stream []byte
		want   []owned
	}
	// A smaller synthetic stream keeps this quadratic test quick; with a
	// 64-byte buffer its frames are still mostly larger than the buffer.
	synth, synthWant := syntheticStream(t, nil)
	synth, synthWant = synth[:firstFramesLen(synthWant, 12)], synthWant[:12]
	cases := []streamCase{{"synthetic", synth, synthWant}}
	if haveVectors() {
		s, w := captureStream(t)
		cases = append(cases, streamCase{"capture", s, w})
	}
	for _, c := range cases {
		for _, bufSize := range []int{0, 64} {
			t.Run(fmt.Sprintf("%s/buf%d", c.name, bufSize), func(t *testing.T) {
				t.Logf("%d bytes, %d frames", len(c.stream), len(c.want))
				for cut := 0; cut <= len(c.stream); cut++ {
					src := &chunkReader{[][]byte{bytes.Clone(c.stream[:cut]), bytes.Clone(c.stream[cut:])}}
					got, err := readAll(protocol.NewReader(src, protocol.ReaderOptions{BufferSize: bufSize}))
					if err != io.EOF {
						t.Fatalf("cut at %d: after %d frames: %v", cut, len(got), err)
					}
					if diff := cmp.Diff(c.want, got, cmpOpts); diff != "" {
						t.Fatalf("cut at %d (-want +got):\n%s", cut, diff)
					}
				}
			})
		}
	}
}

func firstFramesLen(frames []owned, n int) int {
	total := 0
	for _, f := range frames[:n] {
		total += protocol.HeaderSize + len(f.Payload)
	}
	return total
}

// Await + ReadFrame, the pattern of a reader that arms a deadline only once
// a frame has started, sees the same frames, and Await reports the clean
// end of the stream. NextFrameLen tells each frame's length once its header
// is buffered.
func TestAwait(t *testing.T) {
	stream, want := syntheticStream(t, []int{70000})
	for _, bufSize := range []int{0, 64} {
		r := protocol.NewReader(iotest.HalfReader(bytes.NewReader(stream)), protocol.ReaderOptions{BufferSize: bufSize})
		var got []owned
		for {
			if err := r.Await(); err != nil {
				if err != io.EOF {
					t.Fatalf("Await: %v", err)
				}
				break
			}
			if r.Buffered() == 0 {
				t.Fatal("Await returned with nothing buffered")
			}
			n, known := r.NextFrameLen()
			if known != (r.Buffered() >= protocol.HeaderSize) {
				t.Fatalf("NextFrameLen known = %t with %d bytes buffered", known, r.Buffered())
			}
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatalf("ReadFrame after Await: %v", err)
			}
			if known && n != protocol.HeaderSize+len(f.Payload) {
				t.Fatalf("NextFrameLen = %d for a frame of %d bytes", n, protocol.HeaderSize+len(f.Payload))
			}
			if n, known := r.NextFrameLen(); known && r.Buffered() < protocol.HeaderSize || !known && r.Buffered() >= protocol.HeaderSize || known && n < protocol.HeaderSize {
				t.Fatalf("NextFrameLen = %d, %t with %d bytes buffered", n, known, r.Buffered())
			}
			got = append(got, owned{f.Type, bytes.Clone(f.Payload)})
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Fatalf("buffer %d (-want +got):\n%s", bufSize, diff)
		}
		if r.Frames() != uint64(len(want)) {
			t.Fatalf("Frames() = %d, want %d", r.Frames(), len(want))
		}
		if _, err := r.ReadFrame(); err != io.EOF {
			t.Fatalf("ReadFrame after Await's EOF: %v", err)
		}
	}
}

// PoisonBorrowed makes code that keeps a borrowed payload past the next
// ReadFrame see garbage at once: this is how the tests of the packages above
// catch such misuse.
func TestPoisonBorrowedDetectsRetention(t *testing.T) {
	first := protocol.PublishMessage{DataBlockID: 1, Format: protocol.FormatJSON, Payload: dataPointBatch(1)}
	second := protocol.PublishMessage{DataBlockID: 2, Format: protocol.FormatJSON, Payload: dataPointBatch(2)}
	big := protocol.PublishMessage{DataBlockID: 3, Format: protocol.FormatJSON, Payload: jsonDoc(20000)}
	stream := append(publish(t, first), publish(t, second)...)
	stream = append(stream, publish(t, big)...)
	stream = append(stream, publish(t, second)...)

	read := func(r *protocol.Reader) protocol.PublishMessage {
		t.Helper()
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	poisoned := func(b []byte) bool { return len(b) > 0 && len(bytes.Trim(b, "\xa5")) == 0 }

	// Misuse without the option goes unnoticed: both small frames sit in the
	// buffer, so a retained payload still reads as valid.
	r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{})
	kept := read(r).Payload // wrongly retained, not copied
	read(r)
	if !bytes.Equal(kept, first.Payload) {
		t.Fatal("without PoisonBorrowed the retained payload was expected to survive (the misuse is silent)")
	}

	// With the option the same misuse is visible after the next ReadFrame,
	// for a payload in the read buffer and for one in the large-frame buffer.
	r = protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{PoisonBorrowed: true})
	kept = read(r).Payload
	if !bytes.Equal(kept, first.Payload) {
		t.Fatal("payload wrong before the next ReadFrame")
	}
	keptSecond := read(r).Payload
	if !poisoned(kept) {
		t.Fatalf("retained payload after the next ReadFrame = %.40q…, want 0xA5 garbage", kept)
	}
	keptBig := read(r).Payload
	if !poisoned(keptSecond) {
		t.Fatal("second retained payload not poisoned")
	}
	if !bytes.Equal(keptBig, big.Payload) {
		t.Fatal("large payload wrong before the next ReadFrame")
	}
	read(r)
	if !poisoned(keptBig) {
		t.Fatal("retained large payload not poisoned")
	}

	// Used correctly (copy before the next read), the option changes nothing.
	r = protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{PoisonBorrowed: true})
	var got [][]byte
	for range 4 {
		got = append(got, bytes.Clone(read(r).Payload))
	}
	want := [][]byte{first.Payload, second.Payload, big.Payload, second.Payload}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("copied payloads (-want +got):\n%s", diff)
	}
}

// Inflate's result is borrowed too: the next Inflate reuses its buffer.
func TestInflaterOutputIsBorrowed(t *testing.T) {
	inf := protocol.NewInflater(0)
	a, err := inf.Inflate(deflate(t, []byte("first document")))
	if err != nil {
		t.Fatal(err)
	}
	kept := a
	b, err := inf.Inflate(deflate(t, []byte("SECOND DOCUMENT")))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "SECOND DOCUMENT" {
		t.Fatalf("second = %q", b)
	}
	if string(kept) == "first document" {
		t.Fatal("the first result survived the next Inflate: the buffer is not reused")
	}
}
