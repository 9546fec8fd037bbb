package stream

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/monitor"
)

// What a careless user's hooks return must not crash the program from a
// library goroutine, where nobody can recover it: a NewBackOff that
// returns nil is refused by Subscribe and NewPoller (ErrInvalidConfig), a
// Dialer that returns neither a connection nor an error ends the
// subscription with a permanent error matching ErrInvalidConfig, and so
// does a nil or zero ProxyDialer (a struct literal instead of
// HTTPProxyDialer).

// nilConnDialer returns neither a connection nor an error.
type nilConnDialer struct{}

func (nilConnDialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, nil
}

func TestNewBackOffReturningNilIsInvalidConfig(t *testing.T) {
	nilPolicy := func() backoff.BackOff { return nil }
	cfg := testConfig(nilConnDialer{})
	cfg.NewBackOff = nilPolicy
	if sub, err := Subscribe(t.Context(), cfg); !errors.Is(err, ErrInvalidConfig) {
		if sub != nil {
			sub.Close()
		}
		t.Errorf("Subscribe with a NewBackOff returning nil = %v, want ErrInvalidConfig", err)
	}
	if sub, err := SubscribeBatches(t.Context(), cfg, AckManual); !errors.Is(err, ErrInvalidConfig) {
		if sub != nil {
			sub.Close()
		}
		t.Errorf("SubscribeBatches with a NewBackOff returning nil = %v, want ErrInvalidConfig", err)
	}
	pcfg := PollerConfig{Client: monitor.NewClient("http://127.0.0.1:1"), MonitorID: 1, NewBackOff: nilPolicy}
	if p, err := NewPoller(t.Context(), pcfg); !errors.Is(err, ErrInvalidConfig) {
		if p != nil {
			p.Close()
		}
		t.Errorf("NewPoller with a NewBackOff returning nil = %v, want ErrInvalidConfig", err)
	}
}

func TestDialerReturningNoConnEndsSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		direct := testConfig(nilConnDialer{})
		proxied := testConfig(nil)
		d, err := HTTPProxyDialer("http://proxy.test:3128", nilConnDialer{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		proxied.Dialer = d
		zeroProxy, nilProxy := testConfig(&ProxyDialer{}), testConfig((*ProxyDialer)(nil))
		for name, cfg := range map[string]Config{"direct": direct, "proxy": proxied,
			"zero ProxyDialer": zeroProxy, "nil ProxyDialer": nilProxy} {
			sub, err := Subscribe(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			waitDone(t, sub)
			if err := sub.Err(); !errors.Is(err, ErrInvalidConfig) || !IsPermanent(err) {
				t.Errorf("%s: Err = %v, want a permanent ErrInvalidConfig", name, err)
			}
			if n := sub.Stats().Dials; n != 1 {
				t.Errorf("%s: %d dials, want 1 (not retried)", name, n)
			}
		}
	})
}
