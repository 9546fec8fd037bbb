package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A redirect to another origin is server text too: a hostile server (or
// an echoing proxy) may spell the request's password, in any case, as the
// host it redirects to. The refused redirect's error must not carry it,
// lower-cased as an origin is or not.
func TestRedirectErrorHostEchoesPassword(t *testing.T) {
	for _, pw := range []string{"pwtestsecretlower", "Pw-TEST-Secret-Mixed"} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "http://"+pw+".example.invalid/ws/Monitor/7")
			w.WriteHeader(http.StatusTemporaryRedirect)
		})
		c := NewClient(fs.URL, WithHTTPClient(fs.Client()), WithBasicAuth("tester", pw), WithRetry(0, 0))
		err := c.Reset(context.Background(), 7)
		var re *RedirectError
		if !errors.As(err, &re) || !errors.Is(err, ErrRedirectRefused) {
			t.Fatalf("%s: err = %v, want a *RedirectError", pw, err)
		}
		low := strings.ToLower(pw)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", re), re.To} {
			if strings.Contains(strings.ToLower(s), low) {
				t.Errorf("%s: leaks: %s", pw, s)
			}
		}
		if !strings.HasPrefix(re.To, "http://") {
			t.Errorf("%s: To = %q, want the scheme kept", pw, re.To)
		}
	}
}
