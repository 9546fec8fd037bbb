package pushserver

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"io"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// frames parses every frame of fs.
func frames(t *testing.T, fs *FrameSet) []protocol.PublishMessage {
	t.Helper()
	r := protocol.NewReader(bytes.NewReader(fs.Buf), protocol.ReaderOptions{})
	var ms []protocol.PublishMessage
	for range fs.Frames() {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		m.Payload = bytes.Clone(m.Payload)
		ms = append(ms, m)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after %d frames: %v, want EOF", fs.Frames(), err)
	}
	return ms
}

type doc struct {
	Document struct {
		Msg json.RawMessage
	}
}

// ids returns the DataPoint ids of a document.
func ids(t *testing.T, b []byte) []string {
	t.Helper()
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	type msg struct {
		Topic     string
		DataPoint struct{ ID string }
	}
	var ms []msg
	if d.Document.Msg[0] == '[' {
		if err := json.Unmarshal(d.Document.Msg, &ms); err != nil {
			t.Fatal(err)
		}
	} else {
		var m msg
		if err := json.Unmarshal(d.Document.Msg, &m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	var out []string
	for _, m := range ms {
		if m.Topic == "" || m.DataPoint.ID == "" {
			t.Fatalf("incomplete event in %s", b)
		}
		out = append(out, m.DataPoint.ID)
	}
	return out
}

func TestSingleEventFrameIs300Bytes(t *testing.T) {
	fs, err := BuildFrameSet(Dataset{Events: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range fs.Frames() {
		if n := fs.Starts[i+1] - fs.Starts[i]; n != SingleFrameSize {
			t.Fatalf("frame %d is %d bytes, want %d", i, n, SingleFrameSize)
		}
	}
	if fs.Frames()*SingleFrameSize < 64<<10 {
		t.Errorf("%d frames do not fill a 64 KiB write", fs.Frames())
	}
}

// TestPatchMakesEventsDistinct: patched frames carry the DataBlockIds and
// event ids the server streams, every event distinct, and still parse.
func TestPatchMakesEventsDistinct(t *testing.T) {
	for _, d := range []Dataset{{Events: 1}, {Events: 14}} {
		fs, err := BuildFrameSet(d)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var seq uint64 = 1 << 40
		for i := range fs.Frames() {
			fs.Patch(i, uint16(1000+i), seq)
			seq += uint64(d.Events)
		}
		for i, m := range frames(t, fs) {
			if m.DataBlockID != uint16(1000+i) || int(m.Count) != d.Events {
				t.Fatalf("%s frame %d: id %d count %d", d, i, m.DataBlockID, m.Count)
			}
			for _, id := range ids(t, m.Payload) {
				if seen[id] {
					t.Fatalf("%s: id %s twice", d, id)
				}
				seen[id] = true
			}
		}
		if len(seen) != fs.Frames()*d.Events {
			t.Errorf("%s: %d distinct ids, want %d", d, len(seen), fs.Frames()*d.Events)
		}
	}
}

// TestZlibSetCoversTheDedupWindow: compressed sets hold more distinct
// events than the client's default dedup window, and inflate to JSON.
func TestZlibSetCoversTheDedupWindow(t *testing.T) {
	fs, err := BuildFrameSet(Dataset{Events: 100, Zlib: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := fs.Frames() * 100; n <= 100_000 {
		t.Fatalf("%d distinct events", n)
	}
	ms := frames(t, fs)
	for _, i := range []int{0, len(ms) - 1} {
		zr, err := zlib.NewReader(bytes.NewReader(ms[i].Payload))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || len(b) != fs.DocBytes[i] {
			t.Fatalf("frame %d: %d bytes, %v", i, len(b), err)
		}
		if got := ids(t, b); len(got) != 100 {
			t.Fatalf("frame %d: %d events", i, len(got))
		}
	}
}

func TestDatasetIDRoundTrip(t *testing.T) {
	for _, d := range []Dataset{{Events: 1}, {Events: 14, Zlib: true}, {Events: 65535, StopAndWait: true}} {
		got, err := DatasetFromID(d.ID())
		if err != nil || got != d {
			t.Errorf("%v: %v, %v", d, got, err)
		}
	}
	for _, id := range []uint32{0, 1 << 18} {
		if _, err := DatasetFromID(id); err == nil {
			t.Errorf("id %#x accepted", id)
		}
	}
}
