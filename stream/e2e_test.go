package stream_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

type countDialer struct {
	net.Dialer
	n atomic.Int32
}

func (d *countDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	return d.Dialer.DialContext(ctx, network, addr)
}

// transports runs f against the simulator's plain and TLS push ports.
func transports(t *testing.T, f func(t *testing.T, srv *streamtest.Server, cfg stream.Config)) {
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "tcp", true: "tls"}[useTLS]
		t.Run(name, func(t *testing.T) {
			srv := streamtest.NewServer(streamtest.Options{Logf: t.Logf, Users: map[string]string{"user": stream.SentinelPassword}})
			defer srv.Close()
			cfg := stream.Config{Username: "user", Password: secret.New(stream.SentinelPassword), Dialer: &countDialer{}}
			if useTLS {
				cfg.Addr, cfg.TLSConfig = srv.PushTLSAddr(), srv.ClientTLSConfig()
			} else {
				cfg.Addr, cfg.Plaintext = srv.PushAddr(), true
			}
			f(t, srv, cfg)
		})
	}
}

// deadline returns a context for a test over real connections that ends
// after three minutes: it only turns a hang into a failure, however busy
// the machine.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func publishDataPoints(srv *streamtest.Server, from, to int) {
	var evs []streamtest.Event
	for i := from; i < to; i++ {
		evs = append(evs, streamtest.Event{
			Topic:     fmt.Sprintf("DataPoint/dev%d/temp", i%3),
			Operation: "INSERTION",
			Timestamp: time.Date(2025, 1, 1, 0, 0, 0, i*int(time.Millisecond), time.UTC),
			Body:      map[string]any{"id": fmt.Sprintf("dp-%05d", i), "streamId": "temp", "data": i},
		})
	}
	srv.Publish(evs...)
}

func TestEndToEndOrderFieldsAndAcks(t *testing.T) {
	for _, format := range []string{"json", "xml"} {
		t.Run(format, func(t *testing.T) {
			transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
				ctx := deadline(t)
				cfg.MonitorID = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Format: format,
					Compression: "zlib", BatchSize: 7, BatchDuration: -1, AckExplicit: true})
				sub, err := stream.Subscribe(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer sub.Close()
				if err := srv.WaitConnected(ctx, cfg.MonitorID); err != nil {
					t.Fatal(err)
				}
				const n = 500
				publishDataPoints(srv, 0, n)
				for i := range n {
					ev := <-sub.Events()
					dp, err := ev.DataPoint()
					if err != nil {
						t.Fatalf("event %d: %v", i, err)
					}
					if want := fmt.Sprintf("dp-%05d", i); dp.ID != want || dp.Data.String() != fmt.Sprint(i) {
						t.Fatalf("event %d is %s (%s), want %s", i, dp.ID, dp.Data, want)
					}
					wantTopic := fmt.Sprintf("%d/DataPoint/dev%d/temp", srv.CustomerID(), i%3)
					wantTime := time.Date(2025, 1, 1, 0, 0, 0, i*int(time.Millisecond), time.UTC)
					if ev.Topic != wantTopic || ev.Operation != "INSERTION" || !ev.Timestamp.Equal(wantTime) || ev.Replay || ev.Raw {
						t.Fatalf("event %d = %v", i, ev)
					}
				}
				if err := srv.WaitIdle(ctx, cfg.MonitorID); err != nil {
					t.Fatal(err)
				}
				st := srv.Stats(cfg.MonitorID)
				if st.BlocksSent == 0 || st.BlocksAcked != st.BlocksSent || st.BadAcks != 0 || st.EventsAcked != n {
					t.Errorf("server stats %+v", st)
				}
				for _, a := range srv.Acks(cfg.MonitorID) {
					if !a.Outstanding || a.Status != 200 || a.Legacy {
						t.Errorf("ack %+v", a)
					}
				}
			})
		})
	}
}

func TestEndToEndNoReadNoAck(t *testing.T) {
	transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
		ctx := deadline(t)
		cfg.MonitorID = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true})
		sub, _ := stream.Subscribe(ctx, cfg)
		srv.WaitConnected(ctx, cfg.MonitorID)
		publishDataPoints(srv, 0, 5)
		// The client has the first block and waits for the consumer.
		for sub.Stats().Blocks == 0 {
			select {
			case <-ctx.Done():
				t.Fatal("no block arrived")
			case <-time.After(5 * time.Millisecond):
			}
		}
		// Give the client every chance to ack wrongly.
		time.Sleep(300 * time.Millisecond)
		if st := srv.Stats(cfg.MonitorID); st.BlocksAcked != 0 || st.BlocksSent == 0 {
			t.Errorf("consumer never read, server stats %+v", st)
		}
		sub.Close()
	})
}

func TestEndToEndReconnectReplaysWithoutDuplicates(t *testing.T) {
	transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
		ctx := deadline(t)
		cfg.MonitorID = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 4, BatchDuration: -1,
			AckExplicit: true, Persistent: true, Compression: "zlib"})
		// Ten drops soon after connecting make the default backoff grow
		// (the takeover pattern, ErrAnotherClient); this test is about
		// replay, not pacing.
		cfg.NewBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(100 * time.Millisecond) }
		sub, _ := stream.Subscribe(ctx, cfg)
		defer sub.Close()
		srv.WaitConnected(ctx, cfg.MonitorID)
		const n = 400
		seen := map[string]int{}
		drops := 0
		for i := 0; i < n; i += 40 {
			publishDataPoints(srv, i, i+40)
			// Take part of the batch, then cut the connection under it:
			// what was not acked is replayed.
			for range 10 {
				ev := <-sub.Events()
				dp, _ := ev.DataPoint()
				seen[dp.ID]++
			}
			drops += srv.DropConnections(cfg.MonitorID)
		}
		for len(seen) < n {
			select {
			case ev := <-sub.Events():
				dp, _ := ev.DataPoint()
				seen[dp.ID]++
			case <-ctx.Done():
				t.Fatalf("only %d of %d events arrived", len(seen), n)
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("%s delivered %d times", id, c)
			}
		}
		st := sub.Stats()
		if drops == 0 || st.Connects < uint64(drops)+1 {
			t.Errorf("client stats %+v", st)
		}
		t.Logf("client stats %+v; server %+v", st, srv.Stats(cfg.MonitorID))
	})
}

func TestEndToEndWrongPasswordOneDial(t *testing.T) {
	transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
		cfg.MonitorID = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}})
		cfg.Password = secret.New("wrong")
		sub, _ := stream.Subscribe(deadline(t), cfg)
		for range sub.Events() {
		}
		if err := sub.Err(); !errors.Is(err, stream.ErrUnauthorized) {
			t.Errorf("Err = %v", err)
		}
		if n := cfg.Dialer.(*countDialer).n.Load(); n != 1 {
			t.Errorf("%d dials", n)
		}
	})
}

func TestEndToEndUnknownMonitor(t *testing.T) {
	transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
		cfg.MonitorID = 999
		sub, _ := stream.Subscribe(deadline(t), cfg)
		<-sub.Done()
		if err := sub.Err(); !errors.Is(err, stream.ErrBadRequest) {
			t.Errorf("Err = %v", err)
		}
	})
}

func TestEndToEndUnknownCANeverFallsBack(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"user": stream.SentinelPassword}})
	defer srv.Close()
	other := streamtest.NewServer(streamtest.Options{HTTPAddr: "-", PushAddr: "-"})
	defer other.Close()
	d := &countDialer{}
	sub, _ := stream.Subscribe(deadline(t), stream.Config{
		Addr: srv.PushTLSAddr(), TLSConfig: other.ClientTLSConfig(), Dialer: d,
		Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}}),
	})
	<-sub.Done()
	var ua interface{ Error() string }
	err := sub.Err()
	if !stream.IsPermanent(err) || !errors.As(err, &ua) || d.n.Load() != 1 {
		t.Errorf("Err = %v after %d dials", err, d.n.Load())
	}
	if st := srv.Stats(0); st.ConnectsOK != 0 {
		t.Error("a connection logged in")
	}
}

// TestEndToEndCancelIsPrompt: over real connections, cancel ends a
// subscription blocked on its consumer at once, with no error: not when a
// timeout expires (they are all an hour here, the test's wait for the end
// two minutes, which only turns a hang into a failure).
func TestEndToEndCancelIsPrompt(t *testing.T) {
	transports(t, func(t *testing.T, srv *streamtest.Server, cfg stream.Config) {
		ctx, cancel := context.WithCancel(t.Context())
		cfg.MonitorID = srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true})
		cfg.HandshakeTimeout, cfg.FrameTimeout, cfg.WriteTimeout = time.Hour, time.Hour, time.Hour
		sub, _ := stream.Subscribe(ctx, cfg)
		srv.WaitConnected(ctx, cfg.MonitorID)
		publishDataPoints(srv, 0, 3)
		<-sub.Events()
		cancel()
		select {
		case <-sub.Done():
		case <-time.After(2 * time.Minute):
			t.Fatal("cancel did not end the subscription")
		}
		if err := sub.Err(); err != nil {
			t.Errorf("Err after cancel = %v", err)
		}
		if _, ok := <-sub.Events(); ok {
			t.Error("channel still open")
		}
	})
}

var _ = protocol.FormatJSON
