package monitor

import (
	"testing"
	"time"
)

// TestParseRetryAfterCapsDates: an HTTP-date Retry-After years ahead is
// capped as a number of seconds is (at a day), not returned as the 292
// years a saturated time.Duration holds: a caller that honours
// APIError.RetryAfter must not wait centuries.
func TestParseRetryAfterCapsDates(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"Fri, 31 Dec 9999 23:59:59 GMT": 24 * time.Hour,
		"Sat, 04 Jan 2025 03:04:05 GMT": 24 * time.Hour, // two days ahead
		"Thu, 02 Jan 2025 04:04:05 GMT": time.Hour,
		"86401":                         24 * time.Hour,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
