package monitor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// A same-origin 301 or 302 answering a DELETE, PUT or POST: net/http
// would follow it with a GET (dropping the body), whose 200 — the
// monitor — would then read as the change's success although nothing was
// deleted, updated or reset. The client must not follow a redirect that
// changes the method; the call fails with the redirect's status instead,
// and no GET is sent. A 303 (the server's answer to a request it served)
// is still followed.
func TestRedirectChangingMethodNotFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/") {
				// A trailing-slash normalisation, as many front ends do.
				w.Header().Set("Location", r.URL.Path+"/")
				w.WriteHeader(status)
				return
			}
			if r.Method != http.MethodGet {
				t.Errorf("%d: %s %s reached the server's target", status, r.Method, r.URL.Path)
			}
			writeList(w, []item{{"monId": "5", "monTopic": "DataPoint"}}, 0, 1, 1, false)
		})
		c := fs.client()
		ctx := context.Background()
		calls := map[string]func() error{
			"Delete":    func() error { return c.Delete(ctx, 5) },
			"Update":    func() error { return c.Update(ctx, 5, Spec{Topics: []string{"DataPoint"}}) },
			"Reset":     func() error { return c.Reset(ctx, 5) },
			"V1.Delete": func() error { return c.V1().Delete(ctx, 5) },
		}
		for name, call := range calls {
			err := call()
			if status == http.StatusSeeOther {
				if err != nil {
					t.Errorf("303: %s = %v, want the 303 followed", name, err)
				}
				continue
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != status {
				t.Errorf("%d: %s = %v, want an *APIError with status %d", status, name, err, status)
			}
		}
		gets := 0
		for _, r := range fs.requests() {
			if r.Method == http.MethodGet {
				gets++
			}
		}
		if want := map[bool]int{true: len(calls), false: 0}[status == http.StatusSeeOther]; gets != want {
			t.Errorf("%d: %d redirects followed with GET, want %d", status, gets, want)
		}
	}
}
