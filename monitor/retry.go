package monitor

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

const (
	defaultMaxRetries = 5
	defaultInitial    = 500 * time.Millisecond
	// maxBackOffInterval caps one computed (not server-requested) wait.
	maxBackOffInterval = 30 * time.Second
	// maxRetryWait is the longest single wait the client accepts; a
	// Retry-After beyond it ends the call with the 429/503 *APIError (whose
	// RetryAfter says how long the server asked for).
	maxRetryWait = 2 * time.Minute
)

// retryPolicy is immutable once the Client is built; each call derives its
// own backoff state from it, so concurrent calls do not share state.
type retryPolicy struct {
	maxRetries int
	initial    time.Duration
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{maxRetries: defaultMaxRetries, initial: defaultInitial}
}

// newBackOff returns a fresh exponential backoff (×1.5, ±50 % jitter) that
// never gives up on elapsed time: the attempt count and the context bound
// the retries instead.
func (p retryPolicy) newBackOff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.initial),
		backoff.WithMaxInterval(max(maxBackOffInterval, p.initial)),
		backoff.WithMaxElapsedTime(0),
	)
}

// retryable reports whether an answer with this status is worth repeating.
func retryable(method string, status int) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable:
		return method != http.MethodPost
	}
	return false
}

// maxRetryAfter caps a parsed Retry-After, far beyond maxRetryWait: a
// value of seconds that would overflow, or a date years ahead, must not
// give a caller that honours APIError.RetryAfter a wait of centuries.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value, delay-seconds or HTTP-date
// (RFC 9110 §10.2.3), at most maxRetryAfter: delay-seconds too long for
// an int64 are a wait longer than any, maxRetryAfter too. It returns 0
// when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || isDigits(v) {
		// Digits that do not parse overflow an int64.
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// sleep waits for d or until ctx ends, whichever is first; it returns
// ctx.Err() in the second case. It never outlives ctx.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
