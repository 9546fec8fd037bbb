package stream

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/internal/faultnet"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Transient failures are retried forever with the default backoff. (EOF
// before the ConnectResponse is TestTransientErrorsBackOffWithJitter in
// modes_test.go.)

// timedDialer records the time of every dial before passing it on.
type timedDialer struct {
	inner Dialer
	mu    sync.Mutex
	at    []time.Time
}

func (d *timedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.at = append(d.at, time.Now())
	d.mu.Unlock()
	return d.inner.DialContext(ctx, network, addr)
}

func (d *timedDialer) times() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.at)
}

// checkBackoffBand checks that each gap between dials lies within ±50 % of
// 500 ms × 1.5^k, capped at 60 s, and that the delays are not all nominal
// (jitter is applied).
func checkBackoffBand(t *testing.T, at []time.Time) {
	t.Helper()
	want := 500 * time.Millisecond
	jittered := 0
	for k := 1; k < len(at); k++ {
		gap := at[k].Sub(at[k-1])
		lo, hi := time.Duration(float64(want)*0.5), time.Duration(float64(want)*1.5)
		if gap < lo || gap > hi+time.Millisecond {
			t.Errorf("delay %d = %v, want within [%v, %v]", k, gap, lo, hi)
		}
		if gap != want {
			jittered++
		}
		want = min(time.Duration(float64(want)*1.5), 60*time.Second)
	}
	if jittered < len(at)/2 {
		t.Errorf("only %d of %d delays differ from the nominal one: no jitter", jittered, len(at)-1)
	}
}

func TestTransientErrorsRetryForever(t *testing.T) {
	ca, err := certs.NewCA("stream backoff test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf([]string{"rm.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		setup func(srv *streamtest.Server, cfg *Config) Dialer
	}{
		{"connection refused", func(srv *streamtest.Server, cfg *Config) Dialer {
			return dialFunc(func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
			})
		}},
		{"reset in the ConnectRequest", func(srv *streamtest.Server, cfg *Config) Dialer {
			return simDialer(srv, func(int) faultnet.Script {
				return faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(11, faultnet.RST)}}
			})
		}},
		{"reset in the TLS handshake", func(srv *streamtest.Server, cfg *Config) Dialer {
			cfg.Plaintext = false
			cfg.TLSConfig = &tls.Config{RootCAs: ca.Pool(), ServerName: "rm.test"}
			return &faultnet.Dialer{
				Dial: func(context.Context, string, string) (net.Conn, error) {
					c, s := net.Pipe()
					srv.ServeConn(tls.Server(s, &tls.Config{Certificates: []tls.Certificate{leaf}}))
					return c, nil
				},
				// Cut inside the server's first flight.
				Script: func(int) faultnet.Script {
					return faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(60, faultnet.RST)}}
				},
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newSim(t, streamtest.Options{})
				defer srv.Close()
				id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
				cfg := simConfig(t, nil, id)
				d := &timedDialer{inner: tc.setup(srv, &cfg)}
				cfg.Dialer = d
				ctx, cancel := context.WithCancel(t.Context())
				sub, _ := Subscribe(ctx, cfg)
				states := watchStates(sub)
				time.Sleep(time.Hour)
				synctest.Wait()
				at := d.times()
				if st := sub.State(); st != StateBackoff && st != StateConnecting {
					t.Errorf("after an hour of failures the subscription is %v", st)
				}
				if sc, ok := states.first(StateBackoff, nil); !ok || IsPermanent(sc.Err) {
					t.Errorf("first backoff %+v", sc)
				} else {
					t.Logf("%d dials in an hour; first error: %v", len(at), sc.Err)
				}
				if len(at) < 50 || time.Since(at[len(at)-1]) > 90*time.Second {
					t.Errorf("%d dials in an hour, the last %v ago", len(at), time.Since(at[len(at)-1]))
				}
				checkBackoffBand(t, at)
				if st := srv.Stats(id); st.ConnectsOK != 0 {
					t.Errorf("server stats %+v", st)
				}
				cancel()
				<-sub.Done()
				if sub.Err() != nil {
					t.Errorf("Err = %v", sub.Err())
				}
				states.wg.Wait()
			})
		})
	}
}

// TestReconnectsSpread: 100 clients lose their connections at the same
// instant (the server restarts). Their first reconnects are spread by the
// jitter: no 50 ms window holds more than 25 of them. With uniform jitter
// over 500 ms a trial exceeds 25 about once in 2 300 runs, so a failing
// trial is repeated, up to three in all; a client without jitter fails
// every trial.
func TestReconnectsSpread(t *testing.T) {
	for trial := 1; ; trial++ {
		worst := reconnectSpreadTrial(t)
		if worst <= 25 || trial == 3 {
			if worst > 25 {
				t.Errorf("in each of %d trials more than 25 of 100 clients reconnected within 50 ms of each other (last: %d)", trial, worst)
			}
			return
		}
		t.Logf("trial %d: %d clients within 50 ms; repeating", trial, worst)
	}
}

// reconnectSpreadTrial returns the most first reconnects of 100 clients
// that fall in one 50 ms window.
func reconnectSpreadTrial(t *testing.T) (worst int) {
	const clients = 100
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		ids := make([]uint32, clients)
		dialers := make([]*timedDialer, clients)
		subs := make([]*Subscription, clients)
		for i := range ids {
			ids[i] = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1})
			dialers[i] = &timedDialer{inner: simDialer(srv, nil)}
			subs[i], _ = Subscribe(ctx, simConfig(t, dialers[i], ids[i]))
		}
		for i := range ids {
			srv.WaitConnected(ctx, ids[i])
		}
		// One event each, so every connection has been healthy.
		srv.Publish(streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": "x"}})
		for _, sub := range subs {
			<-sub.Events()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		dropped := time.Now()
		for _, id := range ids {
			srv.DropConnections(id)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		var delays []time.Duration
		for i, d := range dialers {
			at := d.times()
			if len(at) != 2 {
				t.Fatalf("client %d dialled %d times", i, len(at))
			}
			delays = append(delays, at[1].Sub(dropped))
		}
		slices.Sort(delays)
		from := time.Duration(0)
		for i := range delays {
			j := i
			for j < len(delays) && delays[j]-delays[i] < 50*time.Millisecond {
				j++
			}
			if j-i > worst {
				worst, from = j-i, delays[i]
			}
		}
		t.Logf("first reconnects between %v and %v; the busiest 50 ms window (from %v) holds %d", delays[0], delays[len(delays)-1], from, worst)
		if delays[0] < 250*time.Millisecond || delays[len(delays)-1] > 750*time.Millisecond {
			t.Errorf("first reconnect delays %v … %v, want within 500 ms ± 50 %%", delays[0], delays[len(delays)-1])
		}
		cancel()
		for _, sub := range subs {
			<-sub.Done()
		}
	})
	return worst
}
