package stream

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHTTPReceiverGzipBombCostsLittle: a gzip body that inflates beyond
// MaxDecompressed is refused (413) without its output being kept, as a
// zlib one is: the bomb costs the decompressor's window, not
// MaxDecompressed bytes and the growth of a buffer up to them. An accepted
// gzip body, its members concatenated, is inflated as before.
func TestHTTPReceiverGzipBombCostsLittle(t *testing.T) {
	const limit = 8 << 20
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 8 * limit >> 20 {
		w.Write(zero)
	}
	w.Close()
	bomb := b.Bytes()
	r := newTestReceiver(t, HTTPConfig{MaxDecompressed: limit})
	req := httptest.NewRequest("POST", "/push", nil)
	var status int
	n := allocated(func() { _, status, _ = r.inflate(req, bomb) })
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
	if n > limit/4 {
		t.Errorf("a gzip bomb allocated %d bytes; the limit is %d", n, limit)
	}
	// Within the limit, and exactly at it, with two members.
	gz := func(p []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(p)
		w.Close()
		return b.Bytes()
	}
	half := bytes.Repeat([]byte("x"), limit/2)
	for _, body := range [][]byte{gz([]byte(`{"a":1}`)), append(gz(half), gz(half)...)} {
		out, status, msg := r.inflate(req, body)
		if status != 0 || !bytes.HasPrefix(out, []byte(`{"a":1}`)) && len(out) != limit {
			t.Errorf("%d bytes, status %d %s", len(out), status, msg)
		}
	}
	if _, status, _ := r.inflate(req, append(gz(half), gz(append(half, 'x'))...)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("one byte past the limit: status %d", status)
	}
	bad := gz([]byte(`{"a":1}`))
	bad[len(bad)-5] ^= 1 // the CRC
	if _, status, _ := r.inflate(req, bad); status != http.StatusBadRequest {
		t.Errorf("bad checksum: status %d", status)
	}
}
