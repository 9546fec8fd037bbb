package stream

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// recordingConn serves chunks, one read returning at most the rest of one
// chunk, as if each were a write of the server, and records the size of
// every read asked of it.
type recordingConn struct {
	net.Conn
	chunks [][]byte
	asked  []int
}

func (c *recordingConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
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

// TestBurst: the Reader waits for a frame in its own buffer; a frame not
// wholly buffered there makes it read through a pooled 64 KiB burst buffer
// (the frames read are those written); a drained burst buffer goes back to
// the pool when the reader goes idle, and the next wait reads into the
// Reader's own buffer again; one still holding data is kept; whatever it
// holds when the connection ends, drop gives it back. A Reader whose own
// buffer is half a burst or more never gets one.
func TestBurst(t *testing.T) {
	var stream []byte
	var docs []string
	var ends []int // frame boundaries
	for i := 0; len(stream) < 3*burstSize; i++ {
		doc := fmt.Sprintf(`{"Document":{"Msg":{"topic":"1/X/%d","X":{"pad":"%0200d"}}}}`, i, i)
		docs = append(docs, doc)
		stream, _ = protocol.AppendPublishMessage(stream, protocol.PublishMessage{DataBlockID: uint16(i), Count: 1, Format: protocol.FormatJSON, Payload: []byte(doc)})
		ends = append(ends, len(stream))
	}
	// A first write ending inside a frame after 6 000 bytes; a second
	// ending at a frame boundary after 40 000; the rest.
	b1, b2 := 0, 0
	for _, e := range ends {
		if b1 == 0 && e > 6000 {
			b1 = e - 100
		}
		if e > 40_000 {
			b2 = e
			break
		}
	}
	chunks := func() [][]byte {
		return [][]byte{bytes.Clone(stream[:b1]), bytes.Clone(stream[b1:b2]), bytes.Clone(stream[b2:])}
	}
	rc := &recordingConn{chunks: chunks()}
	r := protocol.NewReader(rc, protocol.ReaderOptions{BufferSize: 4096})
	b := newBurst(r, 4096)
	frameBuffered := func() bool { n, ok := r.NextFrameLen(); return ok && n <= r.Buffered() }
	next := 0
	read := func() {
		t.Helper()
		if !frameBuffered() {
			b.busy()
		}
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", next, err)
		}
		m, _ := protocol.ParsePublishMessage(f.Payload)
		if string(m.Payload) != docs[next] {
			t.Fatalf("frame %d is not the one written", next)
		}
		next++
	}

	if err := r.Await(); err != nil || len(rc.asked) != 1 || rc.asked[0] != 4096 || b.buf != nil {
		t.Fatalf("idle wait: %v, asked %v, burst buffer %v", err, rc.asked, b.buf != nil)
	}
	for frameBuffered() {
		read() // wholly buffered: no burst buffer, no read
	}
	if b.buf != nil || len(rc.asked) != 1 {
		t.Fatalf("buffered frames took a burst buffer (%v) or read (%v)", b.buf != nil, rc.asked)
	}
	read() // not wholly buffered: one read into the burst buffer
	if b.buf == nil || len(rc.asked) != 2 || rc.asked[1] < burstSize-4096 {
		t.Fatalf("a frame not wholly buffered: asked %v, burst buffer %v", rc.asked, b.buf != nil)
	}
	b.idle()
	if b.buf == nil {
		t.Fatal("going idle dropped a burst buffer that still held data")
	}
	for r.Buffered() > 0 {
		read()
	}
	b.idle()
	if b.buf != nil {
		t.Fatal("a drained burst buffer was kept while idle")
	}
	asked := len(rc.asked)
	if err := r.Await(); err != nil || len(rc.asked) != asked+1 || rc.asked[asked] != 4096 {
		t.Fatalf("the wait after a burst: %v, asked %v, want the Reader's own 4096", err, rc.asked[asked:])
	}
	for next < len(docs) {
		read()
	}
	if next != len(docs) {
		t.Fatalf("read %d frames of %d", next, len(docs))
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
	b.drop()
	if b.buf != nil {
		t.Fatal("drop kept the burst buffer")
	}

	rc = &recordingConn{chunks: chunks()}
	r = protocol.NewReader(rc, protocol.ReaderOptions{BufferSize: burstSize / 2})
	b = newBurst(r, burstSize/2)
	for range 100 {
		b.busy()
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	if b.buf != nil {
		t.Error("a Reader with a large buffer got a burst buffer")
	}
}
