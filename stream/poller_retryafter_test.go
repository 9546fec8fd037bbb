package stream

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestPollerCapsTheServersRetryAfter: a 503 or 429 whose Retry-After asks
// for a day, or names a date thousands of years ahead, or a refused
// cursor with such a Retry-After, does not park the poller for that long
// (nor, for the date, 292 years): it asks again within
// maxPollRetryAfter, and delivers what the history holds.
func TestPollerCapsTheServersRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter string
		status           int
		cursor           bool // fail the request with a cursor (a refused cursor)
	}{
		{"503 a day", "86400", http.StatusServiceUnavailable, false},
		{"503 far date", "Fri, 31 Dec 9999 23:59:59 GMT", http.StatusServiceUnavailable, false},
		{"429 two days", "172800", http.StatusTooManyRequests, false},
		{"cursor refused far date", "Fri, 31 Dec 9999 23:59:59 GMT", http.StatusGone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeHistory{}
				for i := range 4 {
					f.add(i, pollBase.Add(time.Duration(i)*time.Second))
				}
				var mu sync.Mutex
				var at []time.Time
				failed := false
				f.hook = func(w http.ResponseWriter, r *http.Request) bool {
					mu.Lock()
					defer mu.Unlock()
					at = append(at, time.Now())
					if !failed && (r.URL.Query().Get("cursor") != "") == tc.cursor {
						failed = true
						w.Header().Set("Retry-After", tc.retryAfter)
						w.WriteHeader(tc.status)
						return true
					}
					return false
				}
				p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 2, Interval: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if got, want := dpIDs(t, takeWithin(t, p.Events(), 4, 3*maxPollRetryAfter)), wantIDs(0, 4); !slices.Equal(got, want) {
					t.Fatalf("got ids %v, want %v", got, want)
				}
				mu.Lock()
				defer mu.Unlock()
				for i := 1; i < len(at); i++ {
					if gap := at[i].Sub(at[i-1]); gap > maxPollRetryAfter {
						t.Errorf("request %d came %v after the one before (Retry-After %q), want at most %v", i, gap, tc.retryAfter, maxPollRetryAfter)
					}
				}
			})
		})
	}
}
