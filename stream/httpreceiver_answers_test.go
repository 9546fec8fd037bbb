package stream

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// A push whose request ends (its context cancelled: the client went away,
// or a middleware or the server's BaseContext cancelled it) before its
// events were handed over must not be answered 200. A handler that
// returns without writing an answer makes net/http answer 200 for it,
// which the server takes for delivered: the events are lost.

// TestHTTPReceiverEndedRequestIsNot200: the request's context is
// cancelled while it waits for the consumer, and while it waits for its
// turn behind another request: neither is answered 200, nor delivers.
func TestHTTPReceiverEndedRequestIsNot200(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestReceiver(t, HTTPConfig{})
		withContext := func(ctx context.Context) func(*http.Request) {
			return func(req *http.Request) { *req = *req.WithContext(ctx) }
		}
		// The first request waits for the consumer, the second for its
		// turn.
		ctx1, cancel1 := context.WithCancel(t.Context())
		first := pushAsync(r, "PUT", twoMsgs, withContext(ctx1))
		synctest.Wait()
		ctx2, cancel2 := context.WithCancel(t.Context())
		second := pushAsync(r, "PUT", jsonDoc(jsonMsg("1/DataPoint/d/t", "INSERTION", "2025-01-01T00:00:09.000Z", "DataPoint", dpBody("z", 9), false)), withContext(ctx2))
		synctest.Wait()
		cancel2()
		if w := <-second; w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("request ended while waiting for its turn: answered %d", w.Code)
		}
		cancel1()
		if w := <-first; w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
			t.Errorf("request ended while waiting for the consumer: answered %d", w.Code)
		}
		expectNoEvent(t, r.Events())
		if st := r.Stats(); st.Delivered != 0 || st.Events != 0 || st.Unavailable != 2 || st.Undelivered != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestHTTPReceiverHalfClosedClientIsNot200: a client that sends its push
// and then closes its side for writing (a half-close, as some HTTP
// clients and proxies do) still reads the answer, but its request context
// ends at once. The consumer takes one of the push's two events and no
// more: the answer the client reads must not be 2xx.
func TestHTTPReceiverHalfClosedClientIsNot200(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	srv := httptest.NewServer(r)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/push", strings.NewReader(twoMsgs))
	req.SetBasicAuth("hook", SentinelPassword)
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	takeReal(t, r.Events(), 1) // the request now waits for the consumer to take the second
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return // no answer at all: the server retries
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		t.Errorf("answered %s, the consumer has taken one event of two", resp.Status)
	}
	if st := r.Stats(); st.Events != 1 || st.Delivered != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestHTTPReceiverEmptyBodyIsAKeepAliveWhateverItsEncoding: an empty body
// is a keep-alive (200), as documented, also when the request names a
// Content-Encoding — a sender that labels every request of a compressed
// monitor — since there is nothing to inflate. Refusing it (400 for
// deflate, 415 for an unknown coding) makes the server retry the
// keep-alive and, after a day of refusals, disable the monitor.
func TestHTTPReceiverEmptyBodyIsAKeepAliveWhateverItsEncoding(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	for _, enc := range []string{"deflate", "zlib", "gzip", "br", "identity"} {
		if w := push(r, "PUT", "", func(req *http.Request) { req.Header.Set("Content-Encoding", enc) }); w.Code != http.StatusOK {
			t.Errorf("empty body, Content-Encoding %s: %d %s", enc, w.Code, w.Body)
		}
	}
	expectNoEvent(t, r.Events())
	if st := r.Stats(); st.KeepAlives != 5 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
	// A body labelled gzip that is not gzip is a corrupt body (400), not
	// one in a coding the receiver cannot inflate (415).
	if w := push(r, "PUT", twoMsgs, func(req *http.Request) { req.Header.Set("Content-Encoding", "gzip") }); w.Code != http.StatusBadRequest {
		t.Errorf("labelled gzip, not gzip: %d %s", w.Code, w.Body)
	}
	expectNoEvent(t, r.Events())
}
