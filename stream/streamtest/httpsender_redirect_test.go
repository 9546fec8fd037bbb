package streamtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHTTPSenderRedirectIsNotDelivered: a push answered with a redirect
// was not received by the monitor's URL. Following a 301, 302 or 303
// turns the PUT or POST into a GET without the document, whose 200 the
// sender must not count as the block delivered: the events would be
// lost. Like any answer other than 2xx, a redirect is a failed push, and
// the block is retried (Remote Manager's rule: only 2xx is delivered).
func TestHTTPSenderRedirectIsNotDelivered(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			opts := fastHTTP()
			opts.HTTPRetryInterval = time.Hour // one attempt is enough
			s := NewServer(opts)
			defer s.Close()
			got := make(chan string, 10)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- r.Method + " " + r.URL.Path + " " + string(body)
				if r.URL.Path == "/push" {
					http.Redirect(w, r, "/moved", code)
					return
				}
				w.WriteHeader(http.StatusOK) // whatever arrives there
			}))
			defer hook.Close()
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: hook.URL + "/push",
				TransportMethod: "POST", BatchDuration: -1})
			s.Publish(dp("d1", "t", 1))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only turns a hang into a failure
			defer cancel()
			for len(s.HTTPAttempts(id)) == 0 {
				select {
				case <-ctx.Done():
					t.Fatal("no attempt recorded")
				case <-time.After(5 * time.Millisecond):
				}
			}
			atts := s.HTTPAttempts(id)
			if atts[0].Delivered || atts[0].Status/100 == 2 {
				t.Errorf("a redirected push counted as delivered: %+v (requests: %d)", atts[0], len(got))
			}
			if st := s.Stats(id); st.EventsAcked != 0 || st.BlocksAcked != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
