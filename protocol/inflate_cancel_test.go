package protocol

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// A cancelled InflateContext stops at its next read from the decompressor
// instead of inflating the whole document, and the Inflater stays usable.
// The document is 1 MiB (32 reads of the decompressor); with
// PUSHMON_LONG=1, 4 MiB.
func TestInflateContextStopsWhenCancelled(t *testing.T) {
	size := 1 << 20
	if os.Getenv("PUSHMON_LONG") == "1" {
		size = 4 << 20
	}
	var doc bytes.Buffer
	for i := 0; doc.Len() < size; i++ {
		fmt.Fprintf(&doc, `{"id":"%08d","streamId":"dev/%d","data":%d},`, i, i%97, i*7919%10007)
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(doc.Bytes())
	w.Close()

	f := NewInflater(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := f.InflateContext(ctx, z.Bytes())
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Fatalf("cancelled: %d bytes, err %v", len(out), err)
	}
	if f.peak >= doc.Len()/2 {
		t.Errorf("inflated %d of %d bytes before noticing the cancel", f.peak, doc.Len())
	}
	out, err = f.InflateContext(context.Background(), z.Bytes())
	if err != nil || !bytes.Equal(out, doc.Bytes()) {
		t.Fatalf("after a cancel: %d bytes, err %v", len(out), err)
	}
}
