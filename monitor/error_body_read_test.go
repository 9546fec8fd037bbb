package monitor

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// An error answer whose body breaks off (the connection closes before its
// Content-Length, a corrupt gzip body) is still that status: a 404 is
// ErrNotFound, a 503 is retried, and what was read of the body is the
// message, scrubbed like any other (a secret cut at the break goes too).
func TestErrorBodyThatBreaksOffKeepsItsStatus(t *testing.T) {
	var calls atomic.Int32
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		status := "404 Not Found"
		if r.Method == http.MethodPut && calls.Add(1) == 1 {
			status = "503 Service Unavailable"
		}
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		writeBroken(rw, status, "<result><error>no such monitor; you sent test-pass")
	})
	c := fs.client(WithRetry(1, 1))
	err := c.Delete(context.Background(), 7)
	var ae *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) {
		t.Fatalf("Delete = %v, want a 404 *APIError", err)
	}
	if strings.Contains(err.Error(), "test-pass") || !strings.Contains(ae.Message, "no such monitor") {
		t.Errorf("Message = %q", ae.Message)
	}
	if err := c.Reset(context.Background(), 7); !errors.Is(err, ErrNotFound) || calls.Load() != 2 {
		t.Errorf("Reset = %v after %d PUTs, want the 503 retried, then ErrNotFound", err, calls.Load())
	}
}

func writeBroken(rw *bufio.ReadWriter, status, body string) {
	_, _ = rw.WriteString("HTTP/1.1 " + status + "\r\nContent-Type: application/xml\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n" + body)
	_ = rw.Flush()
}
