package stream_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestShutdownOverTCP: over real TCP and TLS connections, a Batch acked
// just before Shutdown has its ack read by the server: nothing is left
// un-acked, and a new subscription gets nothing replayed. Shutdown half-
// closes, so the server sees the end only after the acks, and closes its
// side: the client's last read of the connection ends with io.EOF, not at
// the linger deadline (which the test's connection stretches by two
// minutes, so that a busy machine's slow server is not mistaken for one
// that never saw the end).
func TestShutdownOverTCP(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[tlsOn]
		t.Run(name, func(t *testing.T) {
			srv := streamtest.NewServer(streamtest.Options{Logf: t.Logf, Users: map[string]string{"user": stream.SentinelPassword}})
			defer srv.Close()
			id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 5, BatchDuration: -1,
				AckExplicit: true, Persistent: true})
			cfg := stream.Config{Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: id}
			if tlsOn {
				cfg.Addr, cfg.TLSConfig = srv.PushTLSAddr(), srv.ClientTLSConfig()
			} else {
				cfg.Addr, cfg.Plaintext = srv.PushAddr(), true
			}
			var conn *lingerConn
			cfg.Dialer = dialFunc(func() (net.Conn, error) {
				c, err := net.Dial("tcp", cfg.Addr)
				if err != nil {
					return nil, err
				}
				conn = &lingerConn{TCPConn: c.(*net.TCPConn)}
				return conn, nil
			})
			// Only turns a hang into a failure.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for round := range 20 {
				sub, err := stream.SubscribeBatches(ctx, cfg, stream.AckManual)
				if err != nil {
					t.Fatal(err)
				}
				var evs []streamtest.Event
				for i := range 5 {
					evs = append(evs, streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": name + string(rune('a'+round)) + string(rune('0'+i))}})
				}
				srv.Publish(evs...)
				b := <-sub.Batches()
				if n := len(b.Events()); n != 5 {
					t.Fatalf("round %d: %d events, want the 5 published (no replay)", round, n)
				}
				if err := b.Ack(); err != nil {
					t.Fatal(err)
				}
				conn.shutdown.Store(true)
				if err := sub.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown = %v", err)
				}
				if err := conn.lastErr(); err != io.EOF {
					t.Errorf("round %d: the last read after Shutdown ended with %v, want EOF: the server did not see the end", round, err)
				}
				if st := sub.Stats(); st.Acks != 1 || st.Dials != 1 {
					t.Fatalf("round %d: stats %+v, want 1 ack written on 1 connection", round, st)
				}
				if err := srv.WaitIdle(ctx, id); err != nil {
					t.Fatal(err)
				}
				if st := srv.Stats(id); st.Unacked != 0 || st.BlocksAcked != round+1 {
					t.Fatalf("round %d: server %+v, want every block acked", round, st)
				}
			}
		})
	}
}

// TestShutdownIdleAndInBackoff: Shutdown ends an idle subscription and one
// waiting out its backoff at once, with no error and no new dial.
func TestShutdownIdleAndInBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := streamtest.NewServer(streamtest.Options{HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-",
			Users: map[string]string{"user": stream.SentinelPassword}})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		var dials int
		cfg := stream.Config{Addr: "rm.test:3200", Plaintext: true, Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: id,
			Dialer: dialFunc(func() (net.Conn, error) {
				dials++
				c, s := net.Pipe()
				srv.ServeConn(s)
				return c, nil
			})}
		sub, _ := stream.Subscribe(t.Context(), cfg)
		srv.WaitConnected(t.Context(), id)
		synctest.Wait() // idle: the reader waits for a frame
		if err := sub.Shutdown(t.Context()); err != nil || sub.State() != stream.StateStopped || dials != 1 {
			t.Errorf("Shutdown of an idle subscription = %v, state %v, %d dials", err, sub.State(), dials)
		}

		cfg.Dialer = dialFunc(func() (net.Conn, error) { dials++; return nil, errors.New("refused") })
		dials = 0
		sub, _ = stream.Subscribe(t.Context(), cfg)
		synctest.Wait() // in backoff after the first failed dial
		start := time.Now()
		if err := sub.Shutdown(t.Context()); err != nil || time.Since(start) != 0 || dials != 1 {
			t.Errorf("Shutdown in backoff = %v after %v, %d dials", err, time.Since(start), dials)
		}
	})
}

// TestShutdownAbandonsHandOff: a Batch the consumer never takes is not
// handed over after Shutdown, nor acked; it counts as undelivered.
func TestShutdownAbandonsHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := streamtest.NewServer(streamtest.Options{HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-",
			Users: map[string]string{"user": stream.SentinelPassword}})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 3, BatchDuration: -1, AckExplicit: true})
		cfg := stream.Config{Addr: "rm.test:3200", Plaintext: true, Username: "user", Password: secret.New(stream.SentinelPassword),
			MonitorID: id,
			Dialer:    dialFunc(func() (net.Conn, error) { c, s := net.Pipe(); srv.ServeConn(s); return c, nil })}
		sub, _ := stream.SubscribeBatches(t.Context(), cfg, stream.AckOnReceive)
		srv.WaitConnected(t.Context(), id)
		srv.Publish(streamtest.Event{Topic: "DataPoint/a"}, streamtest.Event{Topic: "DataPoint/b"}, streamtest.Event{Topic: "DataPoint/c"})
		synctest.Wait() // the Batch waits for the consumer
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := sub.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if b, ok := <-sub.Batches(); ok {
			t.Errorf("a Batch of %d blocks was handed over after Shutdown", len(b.Blocks))
		}
		synctest.Wait()
		if st, sst := sub.Stats(), srv.Stats(id); st.Undelivered != 3 || st.Acks != 0 || sst.BlocksAcked != 0 {
			t.Errorf("client %+v, server %+v; want 3 undelivered, nothing acked", st, sst)
		}
	})
}

// TestShutdownContextEnds: when Shutdown's ctx ends first, the
// subscription is closed at once.
func TestShutdownContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := stream.Config{Addr: "rm.test:3200", Plaintext: true, Username: "user", Password: secret.New("p"), MonitorID: 1,
			HandshakeTimeout: time.Hour,
			Dialer:           dialFunc(func() (net.Conn, error) { c, _ := net.Pipe(); return c, nil })} // never answers
		sub, _ := stream.Subscribe(t.Context(), cfg)
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := sub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
		select {
		case <-sub.Done():
		default:
			t.Error("not done after Shutdown returned")
		}
	})
}

// lingerConn is a TCP connection that records the error of its last read
// and, once shutdown is set, moves every read deadline that lies ahead
// (the linger's) two minutes later; one at or before now (Shutdown's
// wake-up of a blocked read) stays.
type lingerConn struct {
	*net.TCPConn
	shutdown atomic.Bool
	mu       sync.Mutex
	err      error
}

func (c *lingerConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	return n, err
}

func (c *lingerConn) SetReadDeadline(t time.Time) error {
	if c.shutdown.Load() && t.After(time.Now()) {
		t = t.Add(2 * time.Minute)
	}
	return c.TCPConn.SetReadDeadline(t)
}

func (c *lingerConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.TCPConn.SetWriteDeadline(t)
}

func (c *lingerConn) lastErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

type dialFunc func() (net.Conn, error)

func (f dialFunc) DialContext(context.Context, string, string) (net.Conn, error) { return f() }
