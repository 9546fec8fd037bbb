package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestRetryAfterBeyondInt64IsCapped: delay-seconds is any run of digits
// (RFC 9110 §10.2.3). One too long for an int64 asks for a longer wait
// than any shorter one, so it is capped at a day like "99999999999999" —
// not taken for no Retry-After at all, which would have the client retry
// at once and tell its caller to.
func TestRetryAfterBeyondInt64IsCapped(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, in := range []string{"9223372036854775808", "99999999999999999999999999"} {
		if got := parseRetryAfter(in, now); got != maxRetryAfter {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, maxRetryAfter)
		}
	}

	// A 429 asking for that long is handed to the caller, not retried.
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "99999999999999999999")
		writeXML(w, http.StatusTooManyRequests, "<result><error>slow down</error></result>")
	})
	err := fs.client(WithRetry(3, time.Millisecond)).Delete(context.Background(), 3)
	var ae *APIError
	if !errors.As(err, &ae) || !errors.Is(err, ErrThrottled) || ae.RetryAfter != maxRetryAfter {
		t.Errorf("Delete = %v; want a 429 *APIError with RetryAfter %v", err, maxRetryAfter)
	}
	if n := len(fs.requests()); n != 1 {
		t.Errorf("%d requests, want 1: the server asked for a wait beyond what the client sleeps", n)
	}
}
