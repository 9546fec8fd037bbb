package monitor

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// handlerTransport runs an http.Handler in-process: no sockets, so it works
// inside a synctest bubble where time is fake.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// scripted answers each request with the next status of a script (the
// last one repeats), setting Retry-After when given.
type scripted struct {
	statuses   []int
	retryAfter string
	calls      atomic.Int32
	at         []time.Time // when each request arrived (fake clock)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.calls.Add(1)) - 1
	s.at = append(s.at, time.Now())
	status := s.statuses[min(n, len(s.statuses)-1)]
	if status == http.StatusOK {
		writeList(w, []item{{"monId": "1", "monTopic": "A"}}, 0, 1000, 1, false)
		return
	}
	if s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	writeXML(w, status, "<result><error>busy</error></result>")
}

func inMemoryClient(h http.Handler, opts ...Option) *Client {
	base := []Option{WithHTTPClient(&http.Client{Transport: handlerTransport{h}}), WithBasicAuth("u", "p")}
	return NewClient("https://rm.example.com", append(base, opts...)...)
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429, 429, 200}, retryAfter: "3"}
		c := inMemoryClient(s)
		start := time.Now()
		if _, err := c.Get(t.Context(), 1); err != nil {
			t.Fatalf("Get: %v", err)
		}
		if n := s.calls.Load(); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		// Fake time: exactly the server's 3 s before each retry.
		if got := time.Since(start); got != 6*time.Second {
			t.Errorf("took %v, want 6s", got)
		}
		if gap := s.at[1].Sub(s.at[0]); gap != 3*time.Second {
			t.Errorf("first wait %v, want 3s", gap)
		}
	})
}

func TestRetryHTTPDateRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at a fixed instant; put the date 10 s later.
		s := &scripted{statuses: []int{503, 200}, retryAfter: time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)}
		start := time.Now()
		if _, err := inMemoryClient(s).Get(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Errorf("took %v, want 10s", got)
		}
	})
}

// TestRetryHTTPDateOnTheServersClock: an HTTP-date Retry-After is a time
// on the server's clock, which its Date header gives: a server an hour
// behind the client that asks for 10 s is waited for 10 s, not at once.
func TestRetryHTTPDateOnTheServersClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) > 1 {
				writeList(w, []item{{"monId": "1", "monTopic": "A"}}, 0, 1000, 1, false)
				return
			}
			server := time.Now().Add(-time.Hour)
			w.Header().Set("Date", server.UTC().Format(http.TimeFormat))
			w.Header().Set("Retry-After", server.Add(10*time.Second).UTC().Format(http.TimeFormat))
			writeXML(w, http.StatusServiceUnavailable, "<result><error>busy</error></result>")
		})
		start := time.Now()
		if _, err := inMemoryClient(h).Get(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 10*time.Second {
			t.Errorf("took %v, want 10s", got)
		}
	})
}

func TestRetryBackoffWithoutRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429, 429, 200}}
		c := inMemoryClient(s, WithRetry(5, time.Second))
		if _, err := c.Get(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		// ×1.5 growth with ±50 % jitter: first wait in [0.5 s, 1.5 s],
		// second in [0.75 s, 2.25 s].
		w1, w2 := s.at[1].Sub(s.at[0]), s.at[2].Sub(s.at[1])
		if w1 < 500*time.Millisecond || w1 > 1500*time.Millisecond {
			t.Errorf("first wait %v outside [0.5s, 1.5s]", w1)
		}
		if w2 < 750*time.Millisecond || w2 > 2250*time.Millisecond {
			t.Errorf("second wait %v outside [0.75s, 2.25s]", w2)
		}
	})
}

func TestRetryExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429}, retryAfter: "1"}
		_, err := inMemoryClient(s, WithRetry(2, 0)).Get(t.Context(), 1)
		var ae *APIError
		if !errors.Is(err, ErrThrottled) || !errors.As(err, &ae) || ae.RetryAfter != time.Second {
			t.Fatalf("err = %v, want throttled APIError with RetryAfter 1s", err)
		}
		if n := s.calls.Load(); n != 3 {
			t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
		}
	})
}

func TestRetryDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429, 200}}
		_, err := inMemoryClient(s, WithRetry(0, 0)).Get(t.Context(), 1)
		if !errors.Is(err, ErrThrottled) || s.calls.Load() != 1 {
			t.Fatalf("err = %v after %d requests; want ErrThrottled after 1", err, s.calls.Load())
		}
	})
}

func TestRetryWhichStatuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 503 on POST: not retried (the monitor might exist).
		s := &scripted{statuses: []int{503, 200}}
		_, err := inMemoryClient(s).Create(t.Context(), Spec{Topics: []string{"A"}})
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != 503 || s.calls.Load() != 1 {
			t.Errorf("POST 503: err = %v after %d requests", err, s.calls.Load())
		}
		// 429 on POST: retried.
		s = &scripted{statuses: []int{429, 201}}
		s2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.calls.Load() == 0 {
				s.ServeHTTP(w, r)
				return
			}
			s.calls.Add(1)
			writeXML(w, 201, "<result><location>Monitor/8</location></result>")
		})
		id, err := inMemoryClient(s2).Create(t.Context(), Spec{Topics: []string{"A"}})
		if err != nil || id != 8 || s.calls.Load() != 2 {
			t.Errorf("POST 429: id %d err %v after %d requests", id, err, s.calls.Load())
		}
		// 500 is not retried.
		s = &scripted{statuses: []int{500, 200}}
		if _, err := inMemoryClient(s).Get(t.Context(), 1); err == nil || s.calls.Load() != 1 {
			t.Errorf("GET 500: err = %v after %d requests", err, s.calls.Load())
		}
	})
}

func TestRetryCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429}, retryAfter: "30"}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := inMemoryClient(s).Get(ctx, 1)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("returned after %v, want 1s (at cancel, not after the 30s wait)", got)
		}
		if s.calls.Load() != 1 {
			t.Errorf("%d requests, want 1", s.calls.Load())
		}
	})
}

func TestRetryDeadlineBeforeWaitEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429}, retryAfter: "30"}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err := inMemoryClient(s).Get(ctx, 1)
		if !errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want ErrThrottled", err)
		}
		if got := time.Since(start); got != 0 {
			t.Errorf("returned after %v, want at once: the deadline ends before the retry", got)
		}
	})
}

func TestRetryAfterTooLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{statuses: []int{429, 200}, retryAfter: "3600"}
		start := time.Now()
		_, err := inMemoryClient(s).Get(t.Context(), 1)
		var ae *APIError
		if !errors.As(err, &ae) || ae.RetryAfter != time.Hour || !errors.Is(err, ErrThrottled) {
			t.Fatalf("err = %v, want throttled APIError with RetryAfter 1h", err)
		}
		if time.Since(start) != 0 || s.calls.Load() != 1 {
			t.Errorf("slept %v, %d requests; want no sleep, 1 request", time.Since(start), s.calls.Load())
		}
	})
}

func TestRetryAgainstRealServer(t *testing.T) {
	var calls atomic.Int32
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeXML(w, 429, "<result><error>throttled</error></result>")
			return
		}
		writeXML(w, 200, "<result/>")
	})
	if err := fs.client(WithRetry(3, time.Millisecond)).Delete(context.Background(), 3); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := len(fs.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 2 ":                           2 * time.Second,
		"-1":                            0,
		"0":                             0,
		"soon":                          0,
		"99999999999999":                24 * time.Hour,
		"Thu, 02 Jan 2025 03:04:15 GMT": 10 * time.Second,
		"Thu, 02 Jan 2025 03:04:00 GMT": 0, // in the past
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
