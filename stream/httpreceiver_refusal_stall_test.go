package stream

import (
	"encoding/base64"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// TestHTTPReceiverRefusalDoesNotWaitForTheBody: behind an http.Server
// without timeouts of its own, a request the receiver refuses before
// reading its body (wrong token, wrong method, a declared length over
// MaxBodySize, the receiver stopped, no free slot) and whose sender then
// stalls mid-body is answered at once, and its connection closed. Before,
// net/http read the rest of the unread body (to reuse the connection)
// before sending the answer, with no deadline: the sender never got it and
// held the connection for as long as it liked; an admitted request is cut
// at BodyTimeout.
func TestHTTPReceiverRefusalDoesNotWaitForTheBody(t *testing.T) {
	auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(hookToken)) + "\r\n"
	stalled := func(method, auth string) string {
		return method + " / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n" + auth + "\r\n{\"Document\":"
	}
	for _, tc := range []struct {
		name    string
		req     string
		prepare func(r *HTTPReceiver) // before the request
		want    int
	}{
		{"wrong token", stalled("PUT", "Authorization: Basic eDp5\r\n"), nil, http.StatusUnauthorized},
		{"no token", stalled("POST", ""), nil, http.StatusUnauthorized},
		{"wrong method", stalled("PATCH", auth), nil, http.StatusMethodNotAllowed},
		{"declared length over MaxBodySize", stalled("PUT", auth), nil, http.StatusRequestEntityTooLarge},
		{"receiver stopped", stalled("PUT", auth), func(r *HTTPReceiver) { r.Close() }, http.StatusServiceUnavailable},
		{"no free slot", stalled("PUT", auth), func(r *HTTPReceiver) {
			for range cap(r.slots) {
				r.slots <- struct{}{}
			}
		}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New(hookToken), MonitorID: 1, MaxBodySize: 100})
				if err != nil {
					t.Fatal(err)
				}
				if tc.name != "declared length over MaxBodySize" {
					r.cfg.MaxBodySize = 1 << 20
				}
				if tc.prepare != nil {
					tc.prepare(r)
				}
				c := pipeServe(t, &http.Server{}, r)
				got := readAnswer(c)
				go io.WriteString(c, tc.req)
				time.Sleep(time.Second)
				synctest.Wait()
				if s := answered(got); s != tc.want {
					t.Fatalf("a refused request whose body stalls is answered %d after a second; want %d at once", s, tc.want)
				}
				// The connection is closed: the stalled body is not read
				// as the next request.
				c.SetReadDeadline(time.Now().Add(time.Minute))
				if n, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Errorf("after the answer the connection gave %d bytes, %v; want EOF", n, err)
				}
				if tc.name == "no free slot" {
					for range cap(r.slots) {
						<-r.slots
					}
				}
			})
		})
	}
}
