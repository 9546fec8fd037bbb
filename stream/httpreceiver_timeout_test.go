package stream

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// The HTTP receiver's own bound on reading a body (BodyTimeout), on the
// fake clock, behind net/http servers over net.Pipe.

// pipeServe serves r with hs over a pipe listener and returns a client
// connection to it; the server is closed at the end of the test.
func pipeServe(t *testing.T, hs *http.Server, r *HTTPReceiver) net.Conn {
	t.Helper()
	ln := newPipeListener()
	hs.Handler = r
	served := make(chan struct{})
	go func() {
		defer close(served)
		hs.Serve(ln)
	}()
	c, err := ln.DialContext(t.Context(), "tcp", "x")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		r.Close()
		hs.Close()
		<-served
	})
	return c
}

// readAnswer reads one response from c in the background; its channel
// gives the status code, or 0 when no response could be read.
func readAnswer(c net.Conn) <-chan int {
	got := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	return got
}

// answered returns the status read so far, 0 when none yet.
func answered(got <-chan int) int {
	select {
	case s := <-got:
		return s
	default:
		return 0
	}
}

// serveReceiver starts a receiver for hookToken behind hs over a pipe,
// sends it req, and returns the receiver and the channel of its answer.
func serveReceiver(t *testing.T, hs *http.Server, req string) (*HTTPReceiver, <-chan int) {
	t.Helper()
	r, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New(hookToken), MonitorID: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := pipeServe(t, hs, r)
	got := readAnswer(c)
	go io.WriteString(c, req)
	return r, got
}

// stalledRequest is a request whose sender stalls after its body's first
// bytes.
var stalledRequest = "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nAuthorization: Basic " +
	base64.StdEncoding.EncodeToString([]byte(hookToken)) + "\r\n\r\n{\"Document\":"

// answeredTimeoutAt checks that got has no answer until just before at
// (on the fake clock, from now) and 408 just after it.
func answeredTimeoutAt(t *testing.T, got <-chan int, at time.Duration) {
	t.Helper()
	time.Sleep(at - time.Second)
	synctest.Wait()
	if s := answered(got); s != 0 {
		t.Fatalf("answered %d before the timeout (%v)", s, at)
	}
	time.Sleep(2 * time.Second)
	synctest.Wait()
	if s := answered(got); s != http.StatusRequestTimeout {
		t.Fatalf("a body stalled beyond the timeout (%v) is answered %d; want 408", at, s)
	}
}

// TestHTTPReceiverBodyTimeout: behind a server without ReadTimeout, a
// sender that stalls mid-body is answered 408 once DefaultBodyTimeout has
// passed, not before, and nothing of it is delivered. Before, it held its
// slot for as long as the connection lived.
func TestHTTPReceiverBodyTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, got := serveReceiver(t, &http.Server{}, stalledRequest)
		answeredTimeoutAt(t, got, DefaultBodyTimeout)
		if st := r.Stats(); st.Delivered != 0 || st.Events != 0 {
			t.Errorf("stats after the timeout: %+v", st)
		}
	})
}

// TestHTTPReceiverBodyTimeoutSparesTheHandoff: the bound covers reading
// the body only. A request whose body was read waits for the consumer
// (HandoffTimeout 0: as long as it takes), here five times the body
// timeout, and is then answered 200 with its event delivered.
func TestHTTPReceiverBodyTimeoutSparesTheHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc := `{"Document":{"Msg":{"topic":"1/DataPoint/a","DataPoint":{"data":"1"}}}}`
		r, got := serveReceiver(t, &http.Server{}, "PUT / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "+
			base64.StdEncoding.EncodeToString([]byte(hookToken))+"\r\nContent-Length: "+strconv.Itoa(len(doc))+"\r\n\r\n"+doc)
		time.Sleep(5 * DefaultBodyTimeout)
		synctest.Wait()
		if s := answered(got); s != 0 {
			t.Fatalf("answered %d before the consumer took the event", s)
		}
		ev := <-r.Events()
		if ev.Topic != "1/DataPoint/a" {
			t.Errorf("delivered %v", ev)
		}
		synctest.Wait()
		if s := answered(got); s != http.StatusOK {
			t.Errorf("answered %d once the event was taken; want 200", s)
		}
	})
}

// TestHTTPReceiverServerReadTimeoutWins: when the http.Server has a
// ReadTimeout, the receiver does not replace the deadline the server set
// from it: a stalled body is answered 408 at the server's bound, here
// three minutes, not at the receiver's default one.
func TestHTTPReceiverServerReadTimeoutWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, got := serveReceiver(t, &http.Server{ReadTimeout: 3 * time.Minute}, stalledRequest)
		answeredTimeoutAt(t, got, 3*time.Minute)
	})
}
