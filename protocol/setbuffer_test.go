package protocol_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// TestSetBuffer: the bytes buffered move into the new buffer, frames read
// on across any number of swaps are those written, the old buffer is
// returned; a buffer too small for what is buffered (or for 64 bytes)
// changes nothing.
func TestSetBuffer(t *testing.T) {
	var stream []byte
	var docs []string
	for i := range 200 {
		doc := fmt.Sprintf("document %d %0100d", i, i)
		docs = append(docs, doc)
		stream, _ = protocol.AppendPublishMessage(stream, protocol.PublishMessage{DataBlockID: uint16(i), Count: 1, Payload: []byte(doc)})
	}
	r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{BufferSize: 512})
	small := make([]byte, 300)
	big := make([]byte, 8192)
	for i := range docs {
		switch i % 3 {
		case 1:
			if r.SetBuffer(big) == nil {
				t.Fatalf("frame %d: SetBuffer of 8 KiB refused", i)
			}
		case 2:
			if n := r.Buffered(); n > len(small) {
				if r.SetBuffer(small) != nil {
					t.Fatalf("frame %d: SetBuffer took a buffer smaller than the %d bytes buffered", i, n)
				}
			} else if old := r.SetBuffer(small); len(old) != 8192 {
				t.Fatalf("frame %d: SetBuffer returned a buffer of %d bytes, want the 8 KiB one", i, len(old))
			}
			small = make([]byte, 300) // the Reader owns the one it took
		}
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil || string(m.Payload) != docs[i] {
			t.Fatalf("frame %d: %q, %v", i, m.Payload, err)
		}
	}
	if r.SetBuffer(make([]byte, 63)) != nil {
		t.Error("SetBuffer took a buffer of 63 bytes")
	}
}
