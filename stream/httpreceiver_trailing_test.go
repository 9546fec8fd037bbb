package stream

import (
	"errors"
	"net/http"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// TestHTTPReceiverRefusesDataAfterTheZlibStream: a zlib body that goes on
// after the end of its stream (a second stream concatenated to the first,
// or anything else) is refused with 400, as a gzip body with trailing
// garbage is, and nothing is delivered: answering 200 for the first
// stream's events alone would lose the rest without a trace, since the
// server does not send an answered body again. Whatever the limit (the
// pooled inflaters and a receiver's own).
func TestHTTPReceiverRefusesDataAfterTheZlibStream(t *testing.T) {
	one := `{"Document":{"Msg":{"topic":"1/DataPoint/d/t","operation":"INSERTION","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"one"}}}}`
	two := `{"Document":{"Msg":{"topic":"1/DataPoint/d/u","operation":"INSERTION","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"two"}}}}`
	zl := func(s string) string { return string(zlibOf([]byte(s))) }
	deflate := func(r *http.Request) { r.Header.Set("Content-Encoding", "deflate") }
	for _, limit := range []int{0, 1 << 20} {
		for name, body := range map[string]string{
			"two streams":   zl(one) + zl(two),
			"a plain doc":   zl(one) + two,
			"one more byte": zl(one) + "\n",
		} {
			r := newTestReceiver(t, HTTPConfig{DedupWindow: -1, MaxDecompressed: limit})
			for _, mod := range [][]func(*http.Request){nil, {deflate}} {
				done := pushAsync(r, "POST", body, mod...)
				select {
				case ev := <-r.Events():
					t.Errorf("limit %d, %s: event %v delivered", limit, name, ev)
					<-done
				case w := <-done:
					if w.Code != http.StatusBadRequest {
						t.Errorf("limit %d, %s: status %d, want 400", limit, name, w.Code)
					}
				}
			}
		}
		// The stream alone is still delivered.
		r := newTestReceiver(t, HTTPConfig{DedupWindow: -1, MaxDecompressed: limit})
		done := pushAsync(r, "POST", zl(one))
		if evs := takeReal(t, r.Events(), 1); evs[0].Topic != "1/DataPoint/d/t" {
			t.Errorf("limit %d: event %v", limit, evs[0])
		}
		if w := <-done; w.Code != 200 {
			t.Errorf("limit %d: status %d", limit, w.Code)
		}
	}
}

// TestZlibTrailingDataIsCorruptPayload: the HTTP receiver's refusal of a
// zlib body with bytes after its stream matches protocol.ErrCorruptPayload,
// as every other corrupt compressed payload does.
func TestZlibTrailingDataIsCorruptPayload(t *testing.T) {
	body := append(zlibOf([]byte(`{"Document":{"Msg":[]}}`)), "garbage"...)
	_, err := inflateOwned(body, 0)
	if !errors.Is(err, protocol.ErrCorruptPayload) {
		t.Fatalf("inflateOwned with trailing bytes: %v, want protocol.ErrCorruptPayload", err)
	}
}
