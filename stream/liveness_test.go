package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Liveness: what the library does when the server goes quiet at the wrong
// moment. The frame timeout's basic cases are in session_test.go
// (TestStalledFrameTimesOutAndReconnects, TestQuietConnectionIsNotTimedOut);
// these add the simulator's stalls and trickles, and the handshake.

// stateLog collects a subscription's state changes until it ends.
type stateLog struct {
	mu  sync.Mutex
	all []StateChange
	wg  sync.WaitGroup
}

func watchStates(sub *Subscription) *stateLog {
	l := &stateLog{}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for sc := range sub.States() {
			l.mu.Lock()
			l.all = append(l.all, sc)
			l.mu.Unlock()
		}
	}()
	return l
}

// first returns the first change to state st whose error matches target
// (any error when target is nil).
func (l *stateLog) first(st State, target error) (StateChange, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sc := range l.all {
		if sc.State == st && (target == nil || errors.Is(sc.Err, target)) {
			return sc, true
		}
	}
	return StateChange{}, false
}

func (l *stateLog) snapshot() []StateChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]StateChange(nil), l.all...)
}

// bigEvent is one DataPoint whose document is about size bytes.
func bigEvent(i, size int) streamtest.Event {
	return streamtest.Event{
		Topic: "DataPoint/dev1/blob", Operation: "INSERTION",
		Timestamp: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC),
		Body:      map[string]any{"id": "big-" + strings.Repeat("x", 4) + string(rune('a'+i)), "data": strings.Repeat("z", size)},
	}
}

// TestFrameStallInSimulatorIsCutAndReplayed: the simulator stops half-way
// through a block. The client gives up exactly FrameTimeout after the
// frame's first byte, reports ErrFrameTimeout, reconnects, and gets the
// block again.
func TestFrameStallInSimulatorIsCutAndReplayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true, Persistent: true})
		var stalledAt time.Time
		srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			if bi.Conn.Seq() == 0 {
				stalledAt = time.Now()
				return streamtest.BlockAction{Verb: streamtest.BlockStall, At: len(bi.Frame) / 2}
			}
			return streamtest.BlockAction{}
		}})
		cfg := simConfig(t, simDialer(srv, nil), id)
		cfg.FrameTimeout = 7 * time.Second
		cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
		sub, _ := Subscribe(t.Context(), cfg)
		states := watchStates(sub)
		srv.WaitConnected(t.Context(), id)
		srv.Publish(bigEvent(0, 100))
		ev := <-sub.Events()
		if !strings.Contains(string(ev.Body), "big-xxxxa") || !ev.Replay {
			t.Errorf("after the stall got %v", ev)
		}
		sc, ok := states.first(StateBackoff, ErrFrameTimeout)
		if !ok {
			t.Fatalf("no ErrFrameTimeout in %v", states.snapshot())
		}
		got := sc.At.Sub(stalledAt)
		t.Logf("stall detected %v after the frame began (FrameTimeout %v): %v", got, cfg.FrameTimeout, sc.Err)
		if got < cfg.FrameTimeout || got > cfg.FrameTimeout+100*time.Millisecond {
			t.Errorf("stall detected after %v, want %v (+100 ms)", got, cfg.FrameTimeout)
		}
		// The counters are final once the subscription has ended: a
		// block's events are counted after its last one was taken.
		sub.Close()
		states.wg.Wait()
		if st := sub.Stats(); st.Dials != 2 || st.Resets != 1 || st.Events != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestTrickledFrameIsCutAtFrameTimeout: a 64 KiB block trickled one byte
// per 10 ms (11 minutes in all) is cut FrameTimeout after its first byte:
// the timeout bounds a whole frame, it is not an idle timeout that a
// trickle would keep resetting. A 3 KiB block trickled the same way
// (31 s) arrives intact.
func TestTrickledFrameIsCutAtFrameTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		cut  bool
	}{{"64KiB", 64 << 10, true}, {"3KiB", 3 << 10, false}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newSim(t, streamtest.Options{})
				defer srv.Close()
				id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true, Persistent: true})
				var firstByte time.Time
				var frameLen int
				srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
					if bi.Conn.Seq() == 0 {
						firstByte, frameLen = time.Now().Add(10*time.Millisecond), len(bi.Frame)
						return streamtest.BlockAction{Verb: streamtest.BlockTrickle, Piece: 1, Every: 10 * time.Millisecond}
					}
					return streamtest.BlockAction{}
				}})
				cfg := simConfig(t, simDialer(srv, nil), id)
				cfg.FrameTimeout = 60 * time.Second
				cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
				sub, _ := Subscribe(t.Context(), cfg)
				states := watchStates(sub)
				srv.WaitConnected(t.Context(), id)
				srv.Publish(bigEvent(0, tc.size))
				ev := <-sub.Events()
				arrived := time.Now()
				sc, timedOut := states.first(StateBackoff, ErrFrameTimeout)
				if tc.cut {
					if !timedOut {
						t.Fatalf("no ErrFrameTimeout in %v", states.snapshot())
					}
					got := sc.At.Sub(firstByte)
					t.Logf("%d-byte frame at 1 byte per 10 ms cut %v after its first byte", frameLen, got)
					if got < cfg.FrameTimeout || got > cfg.FrameTimeout+100*time.Millisecond {
						t.Errorf("trickle cut %v after its first byte, want %v", got, cfg.FrameTimeout)
					}
					if !ev.Replay || sub.Stats().Dials != 2 {
						t.Errorf("event %v after %d dials", ev, sub.Stats().Dials)
					}
				} else {
					if timedOut || sub.Stats().Dials != 1 {
						t.Errorf("a %d-byte trickle lasting %v was cut: %v", frameLen, arrived.Sub(firstByte), states.snapshot())
					}
					if want := time.Duration(frameLen) * 10 * time.Millisecond; arrived.Sub(firstByte) < want-10*time.Millisecond {
						t.Errorf("arrived after %v, want %v", arrived.Sub(firstByte), want)
					}
				}
				if len(ev.Body) < tc.size {
					t.Errorf("event body %d bytes", len(ev.Body))
				}
				sub.Close()
				states.wg.Wait()
			})
		})
	}
}

// TestConnectResponseNeverComes: a server that reads the ConnectRequest and
// never answers fails the attempt at exactly HandshakeTimeout with
// ErrHandshakeTimeout, a transient error: the client dials again.
func TestConnectResponseNeverComes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		var dialled []time.Time
		var mu sync.Mutex
		srv.SetHooks(id, streamtest.Hooks{OnConnect: func(streamtest.ConnInfo) streamtest.ConnectAction {
			return streamtest.ConnectAction{Hang: true}
		}})
		inner := simDialer(srv, nil)
		d := dialFunc(func(ctx context.Context, n, a string) (net.Conn, error) {
			mu.Lock()
			dialled = append(dialled, time.Now())
			mu.Unlock()
			return inner.DialContext(ctx, n, a)
		})
		cfg := simConfig(t, d, id)
		cfg.HandshakeTimeout = 9 * time.Second
		cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
		sub, _ := Subscribe(t.Context(), cfg)
		states := watchStates(sub)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		sc, ok := states.first(StateBackoff, ErrHandshakeTimeout)
		mu.Lock()
		n := len(dialled)
		first := dialled[0]
		mu.Unlock()
		if !ok || IsPermanent(sc.Err) {
			t.Fatalf("states %v", states.snapshot())
		}
		got := sc.At.Sub(first)
		t.Logf("no ConnectResponse: gave up after %v: %v", got, sc.Err)
		if got != cfg.HandshakeTimeout {
			t.Errorf("gave up after %v, want %v", got, cfg.HandshakeTimeout)
		}
		if n != 2 {
			t.Errorf("%d dials in 15 s, want 2", n)
		}
		if !strings.Contains(sc.Err.Error(), "ConnectResponse") {
			t.Errorf("error does not say what was awaited: %v", sc.Err)
		}
		sub.Close()
		states.wg.Wait()
	})
}

// TestTLSHandshakeStall: a server that accepts the TCP connection and never
// answers the ClientHello fails the attempt at HandshakeTimeout.
func TestTLSHandshakeStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		var dialled time.Time
		d := dialFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
			dialled = time.Now()
			c, s := net.Pipe()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(io.Discard, s) // reads the ClientHello, answers nothing
			}()
			return c, nil
		})
		cfg := simConfig(t, d, 42)
		cfg.Plaintext = false
		cfg.TLSConfig = &tls.Config{ServerName: "rm.test"}
		cfg.HandshakeTimeout = 12 * time.Second
		cfg.NewBackOff = func() backoff.BackOff { return stopBackOff{} }
		sub, _ := Subscribe(t.Context(), cfg)
		<-sub.Done()
		err := sub.Err()
		if !errors.Is(err, ErrHandshakeTimeout) || !strings.Contains(err.Error(), "TLS") {
			t.Errorf("Err = %v", err)
		}
		t.Logf("stalled TLS handshake: gave up after %v: %v", time.Since(dialled), err)
		if got := time.Since(dialled); got != cfg.HandshakeTimeout {
			t.Errorf("gave up after %v, want %v", got, cfg.HandshakeTimeout)
		}
		wg.Wait()
	})
}

// dialFunc adapts a function to Dialer.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func (f dialFunc) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f(ctx, network, addr)
}

var _ = protocol.HeaderSize
