package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// stallTransport answers nothing: a server that stalls mid-exchange.
type stallTransport struct{}

func (stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// TestHTTPClientWithoutTimeoutIsBounded: an http.Client given without a
// Timeout (http.Client's zero, "none") gets DefaultTimeout per exchange,
// so that a stalling server cannot hold a call whose context has no
// deadline for good; the caller's client is left as it was. A negative
// Timeout keeps no bound but the context.
func TestHTTPClientWithoutTimeoutIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &http.Client{Transport: stallTransport{}}
		c := NewClient("https://rm.example.com", WithHTTPClient(hc), WithRetry(0, 0))
		start := time.Now()
		if _, err := c.Create(context.Background(), Spec{Topics: []string{"A"}}); err == nil {
			t.Fatal("a stalled exchange succeeded")
		}
		if waited := time.Since(start); waited != DefaultTimeout {
			t.Errorf("a stalled exchange ended after %v, want DefaultTimeout (%v)", waited, DefaultTimeout)
		}
		if hc.Timeout != 0 {
			t.Errorf("the caller's client was modified: Timeout %v", hc.Timeout)
		}

		c = NewClient("https://rm.example.com", WithHTTPClient(&http.Client{Transport: stallTransport{}, Timeout: -1}), WithRetry(0, 0))
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start = time.Now()
		if _, err := c.Create(ctx, Spec{Topics: []string{"A"}}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want the context's deadline", err)
		}
		if waited := time.Since(start); waited != time.Hour {
			t.Errorf("with a negative Timeout the exchange ended after %v, want the context's hour", waited)
		}
	})
}
