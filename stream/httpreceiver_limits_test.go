package stream

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/secret"
)

// Authentication, admission, body sniffing and memory of the HTTP
// receiver under hostile or careless use.

// recordingHandler keeps the messages of the records it handles.
type recordingHandler struct {
	mu   sync.Mutex
	recs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Level.String()+" "+r.Message)
	h.mu.Unlock()
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) records() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.recs...)
}

// TestHTTPReceiverRequiresAuthentication: no Token is a configuration
// error unless AllowUnauthenticated says so; then the receiver warns once
// at start, accepts requests without credentials and still checks Headers.
func TestHTTPReceiverRequiresAuthentication(t *testing.T) {
	for _, cfg := range []HTTPConfig{{}, {MonitorID: 1}, {Headers: []secret.String{secret.New("X-Key: k")}}} {
		if _, err := NewHTTPReceiver(t.Context(), cfg); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "AllowUnauthenticated") {
			t.Errorf("%v: %v", cfg, err)
		}
	}
	h := &recordingHandler{}
	r, err := NewHTTPReceiver(t.Context(), HTTPConfig{AllowUnauthenticated: true, Headers: []secret.String{secret.New("X-Key: k")}, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if recs := h.records(); len(recs) != 1 || !strings.HasPrefix(recs[0], "WARN ") || !strings.Contains(recs[0], "unauthenticated") {
		t.Errorf("start logs %q, want one warning", recs)
	}
	anon := func(key string) int {
		req := httptest.NewRequest("PUT", "/", strings.NewReader(`{"Document":null}`))
		if key != "" {
			req.Header.Set("X-Key", key)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	if c := anon("k"); c != 200 {
		t.Errorf("no credentials, right header: %d", c)
	}
	if c := anon(""); c != 401 {
		t.Errorf("no credentials, no header: %d", c)
	}
	// A header or a password left empty (an unset environment variable)
	// would let anyone in: refused.
	for _, cfg := range []HTTPConfig{
		{AllowUnauthenticated: true, Headers: []secret.String{secret.New("X-Key: ")}},
		{AllowUnauthenticated: true, Headers: []secret.String{secret.New("X-Key:")}},
		{Token: secret.New("hook:")},
		{Token: secret.New(":")},
	} {
		if r, err := NewHTTPReceiver(t.Context(), cfg); !errors.Is(err, ErrInvalidConfig) {
			if err == nil {
				w := httptest.NewRecorder()
				req := httptest.NewRequest("PUT", "/", strings.NewReader(`{"Document":null}`))
				req.SetBasicAuth("hook", "")
				r.ServeHTTP(w, req)
				r.Close()
				t.Errorf("%+v accepted; a request without the header or password: %d", cfg, w.Code)
				continue
			}
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	// With a Token, nothing is logged at start.
	h2 := &recordingHandler{}
	r2, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New(hookToken), Logger: slog.New(h2)})
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if recs := h2.records(); len(recs) != 0 {
		t.Errorf("authenticated receiver logged %q", recs)
	}
}

// countingBody is a request body that counts the reads made on it.
type countingBody struct {
	r     io.Reader
	reads atomic.Int32
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.reads.Add(1)
	return b.r.Read(p)
}

// TestHTTPReceiverAdmission: with MaxConcurrent requests being served (one
// handing over, one waiting for its turn), the next is answered 503 with
// Retry-After and Connection: close without a byte of its body read; once
// the consumer takes the events, the first two are answered 200 and a
// retry is served.
func TestHTTPReceiverAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestReceiver(t, HTTPConfig{MaxConcurrent: 2, DedupWindow: -1})
		first := pushAsync(r, "PUT", twoMsgs)
		second := pushAsync(r, "PUT", twoMsgs)
		synctest.Wait() // both admitted, neither answered: nobody reads Events
		body := &countingBody{r: strings.NewReader(twoMsgs)}
		req := httptest.NewRequest("PUT", "/", body)
		req.SetBasicAuth("hook", SentinelPassword)
		w := httptest.NewRecorder()
		third := make(chan struct{})
		go func() {
			defer close(third)
			r.ServeHTTP(w, req)
		}()
		synctest.Wait()
		select {
		case <-third:
		default:
			take(t, r.Events(), 6) // let the three go
			<-third
			t.Fatal("the third request waits instead of being refused")
		}
		if w.Code != 503 || w.Header().Get("Retry-After") == "" || w.Header().Get("Connection") != "close" {
			t.Errorf("third request: %d, headers %v", w.Code, w.Header())
		}
		if n := body.reads.Load(); n != 0 {
			t.Errorf("the refused request's body was read %d times", n)
		}
		take(t, r.Events(), 4)
		if a, b := <-first, <-second; a.Code != 200 || b.Code != 200 {
			t.Errorf("admitted requests: %d, %d", a.Code, b.Code)
		}
		retry := pushAsync(r, "PUT", twoMsgs)
		take(t, r.Events(), 2)
		if w := <-retry; w.Code != 200 {
			t.Errorf("retry: %d", w.Code)
		}
		if st := r.Stats(); st.Busy != 1 || st.Unavailable != 1 || st.Delivered != 3 {
			t.Errorf("stats %+v", st)
		}
	})
	// Refused before authentication is checked? No: an unauthenticated
	// request is 401 even when the receiver is full.
	synctest.Test(t, func(t *testing.T) {
		r := newTestReceiver(t, HTTPConfig{MaxConcurrent: 1})
		busy := pushAsync(r, "PUT", twoMsgs)
		synctest.Wait()
		if w := push(r, "PUT", twoMsgs, func(req *http.Request) { req.SetBasicAuth("hook", "wrong") }); w.Code != 401 {
			t.Errorf("wrong token while full: %d", w.Code)
		}
		take(t, r.Events(), 2)
		<-busy
	})
}

// bigZlibDocument returns a zlib-compressed JSON document of n events with
// bodies of about 1 KiB, and its inflated size.
func bigZlibDocument(n int) (string, int) {
	var doc bytes.Buffer
	doc.WriteString(`{"Document":{"Msg":[`)
	for i := range n {
		if i > 0 {
			doc.WriteByte(',')
		}
		fmt.Fprintf(&doc, `{"topic":"1/DataPoint/d/%d","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"id":"%d","data":"%s"}}`,
			i, i, strings.Repeat("x", 1000))
	}
	doc.WriteString(`]}}`)
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	w.Write(doc.Bytes())
	w.Close()
	return z.String(), doc.Len()
}

// TestHTTPReceiverWaitingRequestsHoldOnlyTheirBodies: four authenticated
// requests, each a small zlib body inflating to 2.2 MiB of events, arrive
// while the consumer takes nothing. Only the one whose turn it is inflates
// and splits: the live heap grows by less than two inflated documents,
// not four (the figure is measured here, while all four wait).
func TestHTTPReceiverWaitingRequestsHoldOnlyTheirBodies(t *testing.T) {
	body, size := bigZlibDocument(2000)
	synctest.Test(t, func(t *testing.T) {
		// A non-default MaxDecompressed bypasses the inflater pool, whose
		// buffers would blur the figure.
		r := newTestReceiver(t, HTTPConfig{MaxDecompressed: 32 << 20, DedupWindow: -1})
		before := liveHeap()
		var answers []<-chan *httptest.ResponseRecorder
		for range 4 {
			answers = append(answers, pushAsync(r, "POST", body))
		}
		synctest.Wait() // one hands over its first event, three wait for their turn
		grown := int64(liveHeap()) - int64(before)
		t.Logf("compressed %d B, inflated %d B; live heap grew by %d B (%.2f inflated documents) with 4 requests waiting",
			len(body), size, grown, float64(grown)/float64(size))
		if grown > int64(2*size) {
			t.Errorf("live heap grew by %d B with 4 requests waiting, want < %d (two inflated documents)", grown, 2*size)
		}
		for range 4 {
			take(t, r.Events(), 2000)
		}
		for _, a := range answers {
			if w := <-a; w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		}
	})
}

// TestHTTPReceiverSniffsZlibByItsHeader: a body is inflated without
// Content-Encoding only when it starts with a zlib header that can be
// inflated (or the gzip magic); a well-formed JSON document never does,
// so "800", "80" or "[]" are delivered as JSON documents.
func TestHTTPReceiverSniffsZlibByItsHeader(t *testing.T) {
	// Every 2-byte start of a well-formed JSON document (a first byte, and
	// a second byte after which the document can still be completed), and
	// of an XML one: none is a zlib header.
	firsts := []byte(" \t\r\n{[\"-0123456789tfn<")
	for _, c0 := range firsts {
		for c1 := range 256 {
			prefix := []byte{c0, byte(c1)}
			if !zlibHeader(prefix) {
				continue
			}
			for _, tail := range []string{"", "0", "}", "]", "\"", "\"}", "\"]", "e", "/>"} {
				if doc := string(prefix) + tail; json.Valid([]byte(doc)) || wellFormed([]byte(doc), sniffFormat([]byte(doc))) {
					t.Errorf("%q is a well-formed document and starts with a zlib header", doc)
				}
			}
		}
	}
	// The headers zlib writers produce, at every level, are recognised.
	for level := zlib.HuffmanOnly; level <= zlib.BestCompression; level++ {
		var b bytes.Buffer
		w, _ := zlib.NewWriterLevel(&b, level)
		w.Write([]byte(twoMsgs))
		w.Close()
		if !zlibHeader(b.Bytes()) {
			t.Errorf("level %d: header % x not recognised", level, b.Bytes()[:2])
		}
	}
	r := newTestReceiver(t, HTTPConfig{DedupWindow: -1})
	for _, doc := range []string{"800", "80", "8", "[]", "0", `"x"`} {
		// Not an envelope: delivered as a raw document (or, for an empty
		// one, taken as a keep-alive), never refused.
		done := pushAsync(r, "POST", doc)
		select {
		case ev := <-r.Events():
			if !ev.Raw || string(ev.Body) != doc {
				t.Errorf("%q: event %+v", doc, ev)
			}
			if w := <-done; w.Code != 200 {
				t.Errorf("%q: status %d", doc, w.Code)
			}
		case w := <-done:
			if w.Code != 200 {
				t.Errorf("%q: status %d %s", doc, w.Code, w.Body)
			}
		}
	}
	if w := push(r, "POST", "\x78\x9c not zlib"); w.Code != 400 {
		t.Errorf("a zlib header before garbage: %d, want 400", w.Code)
	}
}

// TestHTTPReceiverCloseCutsAStalledBody: Close, with an admitted request
// whose sender stalls mid-body behind a server without read timeouts,
// returns at once on the fake clock, and that request is answered 503
// (the server keeps the block), not 400.
func TestHTTPReceiverCloseCutsAStalledBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New(hookToken), MonitorID: 1})
		if err != nil {
			t.Fatal(err)
		}
		ln := newPipeListener()
		hs := &http.Server{Handler: r}
		served := make(chan struct{})
		go func() {
			defer close(served)
			hs.Serve(ln)
		}()
		c, _ := ln.DialContext(t.Context(), "tcp", "x")
		go io.WriteString(c, "PUT / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "+
			base64.StdEncoding.EncodeToString([]byte(hookToken))+"\r\nContent-Length: 1000\r\n\r\n{\"Document\":")
		synctest.Wait() // the request is admitted and reads its body
		closed := make(chan struct{})
		go func() {
			r.Close()
			close(closed)
		}()
		synctest.Wait()
		select {
		case <-closed:
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("the stalled request is answered %v, %v; want 503", resp.Status, err)
			}
		default:
			t.Error("Close waits for a stalled request body")
		}
		c.Close()
		<-closed
		hs.Close()
		<-served
	})
}
