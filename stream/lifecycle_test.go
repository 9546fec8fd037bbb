package stream

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// cancelServer is a push server for the cancel tests: it logs in (unless
// login is false), writes script, then reads acks, counting those that
// arrive after cancelled is set.
type cancelServer struct {
	login      bool
	script     []byte
	cancelled  atomic.Bool
	lateAcks   atomic.Int32
	acksBefore atomic.Int32
}

func (cs *cancelServer) serve(t *testing.T) func(int, net.Conn) {
	return func(_ int, c net.Conn) {
		fc := newFakeConn(t, c)
		if !cs.login {
			io.Copy(io.Discard, c)
			return
		}
		if _, ok := fc.login(protocol.StatusOK); !ok {
			return
		}
		go func() {
			if len(cs.script) > 0 {
				c.Write(cs.script)
			}
		}()
		for {
			fr, err := fc.r.ReadFrame()
			if err != nil {
				return
			}
			if fr.Type == protocol.TypePublishMessageReceived {
				if cs.cancelled.Load() {
					cs.lateAcks.Add(1)
				} else {
					cs.acksBefore.Add(1)
				}
			}
		}
	}
}

// TestCancelInEveryState cancels the subscription's context while it is
// dialling, in the TLS handshake, awaiting the ConnectResponse, part-way
// through a frame's header and through its body, blocked on the consumer
// and sleeping in backoff. Each time it ends at once (no fake time
// passes; the bound is 100 ms), Err is nil, every channel is closed, no ack
// follows the cancel and every goroutine is gone.
func TestCancelInEveryState(t *testing.T) {
	block := frameOf(protocol.PublishMessage{Format: protocol.FormatJSON, Count: 1,
		Payload: []byte(jsonDoc(jsonMsg("1/DeviceCore/1/0", "UPDATE", "2012-04-17T14:14:07Z", "DeviceCore", `{"id":{"devId":1}}`, false)))})
	cases := []struct {
		name  string
		state State
		setup func(t *testing.T, cfg *Config, cs *cancelServer)
	}{
		{"dialling", StateConnecting, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cfg.Dialer = dialFunc(func(ctx context.Context, _, _ string) (net.Conn, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			})
		}},
		{"TLS handshake", StateConnecting, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cfg.Plaintext, cfg.TLSConfig = false, &tls.Config{}
			cs.login = false // the server reads the ClientHello and answers nothing
		}},
		{"awaiting ConnectResponse", StateConnecting, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cs.login = false
		}},
		{"mid-header", StateConnected, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cs.script = block[:3]
		}},
		{"mid-body", StateConnected, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cs.script = block[:len(block)-5]
		}},
		{"blocked on the consumer", StateConnected, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cs.script = append(append([]byte(nil), block...), block...)
		}},
		{"sleeping in backoff", StateBackoff, func(t *testing.T, cfg *Config, cs *cancelServer) {
			cfg.Dialer = dialFunc(func(context.Context, string, string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
			})
			cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Hour) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cs := &cancelServer{login: true}
				d := &pipeDialer{serve: cs.serve(t)}
				cfg := testConfig(d)
				tc.setup(t, &cfg, cs)
				cfg.HandshakeTimeout = 24 * time.Hour
				cfg.FrameTimeout = 24 * time.Hour
				ctx, cancel := context.WithCancel(t.Context())
				sub, err := Subscribe(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				if got := sub.State(); got != tc.state {
					t.Fatalf("state before cancel = %v, want %v", got, tc.state)
				}
				cs.cancelled.Store(true)
				start := time.Now()
				cancel()
				<-sub.Done()
				if el := time.Since(start); el > 100*time.Millisecond {
					t.Errorf("cancel took %v", el)
				}
				if err := sub.Err(); err != nil {
					t.Errorf("Err after cancel = %v", err)
				}
				if _, ok := <-sub.Events(); ok {
					t.Error("events channel still open")
				}
				for range sub.States() {
				}
				d.wg.Wait()
				if n := cs.lateAcks.Load(); n != 0 {
					t.Errorf("%d acks after cancel", n)
				}
				if tc.name == "blocked on the consumer" && (sub.Stats().Undelivered != 1 || cs.acksBefore.Load() != 0) {
					t.Errorf("stats %+v, %d acks before cancel", sub.Stats(), cs.acksBefore.Load())
				}
			})
		})
	}
}

// TestCancelWhileInflating cancels while a large zlib block is being
// inflated (the server's write of it has just returned, so the client has
// read it all): the subscription ends with no error, and nothing of the
// block is delivered or acked. The session inflates with InflateContext,
// which gives up at its next read from the decompressor
// (protocol.TestInflateContextStopsWhenCancelled); how long one whole
// inflate and the cancel took is logged for comparison, not asserted.
// This runs on the real clock, since inflating takes real time; the
// timeouts are an hour, and the wait for the end two minutes, which only
// turns a hang into a failure.
func TestCancelWhileInflating(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var msgs []string
	for i := 0; len(msgs) < 8000; i++ {
		msgs = append(msgs, jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint",
			dpBody(fmt.Sprintf("%08x-%08x", rng.Uint32(), rng.Uint32()), i), false))
	}
	doc := []byte(jsonDoc(msgs...))
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(doc)
	zw.Close()
	block := frameOf(protocol.PublishMessage{Format: protocol.FormatJSON, Compression: protocol.CompressionZlib, Count: uint16(len(msgs)), Payload: z.Bytes()})
	start := time.Now()
	if _, err := protocol.NewInflater(0).Inflate(z.Bytes()); err != nil {
		t.Fatal(err)
	}
	inflate := time.Since(start)

	wrote := make(chan struct{})
	cs := &cancelServer{login: true}
	d := &pipeDialer{serve: func(i int, c net.Conn) {
		fc := newFakeConn(t, c)
		if _, ok := fc.login(protocol.StatusOK); !ok {
			return
		}
		c.Write(block)
		close(wrote)
		for {
			fr, err := fc.r.ReadFrame()
			if err != nil {
				return
			}
			if fr.Type == protocol.TypePublishMessageReceived {
				cs.lateAcks.Add(1)
			}
		}
	}}
	ctx, cancel := context.WithCancel(t.Context())
	cfg := testConfig(d)
	cfg.HandshakeTimeout, cfg.FrameTimeout, cfg.WriteTimeout = time.Hour, time.Hour, time.Hour
	sub, _ := Subscribe(ctx, cfg)
	<-wrote
	start = time.Now()
	cancel()
	select {
	case <-sub.Done():
	case <-time.After(2 * time.Minute):
		t.Fatal("cancel did not end the subscription")
	}
	el := time.Since(start)
	d.wg.Wait()
	t.Logf("a %d-byte document (%d compressed): one inflate takes %v; cancel returned after %v", len(doc), z.Len(), inflate, el)
	if err := sub.Err(); err != nil {
		t.Errorf("Err after cancel = %v", err)
	}
	if st := sub.Stats(); st.Events != 0 || cs.lateAcks.Load() != 0 {
		t.Errorf("stats %+v, %d acks", st, cs.lateAcks.Load())
	}
}

// TestConcurrentClose: three goroutines call Close at once while events
// flow; all return nil and the channels close once.
func TestConcurrentClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 10, BatchDuration: -1, AckExplicit: true})
		sub, _ := Subscribe(t.Context(), simConfig(t, simDialer(srv, nil), id))
		srv.WaitConnected(t.Context(), id)
		var evs []streamtest.Event
		for i := range 100 {
			evs = append(evs, streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": fmt.Sprint(i)}})
		}
		srv.Publish(evs...)
		for range 15 {
			<-sub.Events()
		}
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Go(func() { errs <- sub.Close() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Close = %v", err)
			}
		}
		if _, ok := <-sub.Events(); ok {
			t.Error("channel open after Close")
		}
		if err := sub.Close(); err != nil {
			t.Errorf("fourth Close = %v", err)
		}
	})
}

// TestNeighboursUnaffected: ten subscriptions to ten monitors of one
// server. One is refused with 403, one has every connection reset right
// after its first block; the other eight receive all 200 of their events
// meanwhile.
func TestNeighboursUnaffected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		var ids []uint32
		for range 10 {
			ids = append(ids, srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 5, BatchDuration: -1,
				AckExplicit: true, Persistent: true}))
		}
		refused, flaky := ids[0], ids[1]
		srv.SetHooks(refused, streamtest.Hooks{OnConnect: func(streamtest.ConnInfo) streamtest.ConnectAction {
			return streamtest.ConnectAction{Status: protocol.StatusUnauthorized}
		}})
		srv.SetHooks(flaky, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			return streamtest.BlockAction{Verb: streamtest.BlockReset, At: len(bi.Frame) / 2}
		}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		subs := make([]*Subscription, len(ids))
		dialers := make([]*pipeCounter, len(ids))
		for i, id := range ids {
			dialers[i] = &pipeCounter{inner: simDialer(srv, nil)}
			cfg := simConfig(t, dialers[i], id)
			subs[i], _ = Subscribe(ctx, cfg)
		}
		const n = 200
		got := make([]int, len(ids))
		var wg sync.WaitGroup
		for i, sub := range subs {
			wg.Go(func() {
				for range sub.Events() {
					got[i]++
					if got[i] == n {
						return
					}
				}
			})
		}
		for round := range n / 10 {
			var evs []streamtest.Event
			for j := range 10 {
				evs = append(evs, streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": fmt.Sprint(round*10 + j)}})
			}
			srv.Publish(evs...)
			time.Sleep(time.Second)
		}
		for i := 2; i < len(ids); i++ {
			if err := srv.WaitIdle(ctx, ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		for _, sub := range subs {
			<-sub.Done()
		}
		if err := subs[0].Err(); !errors.Is(err, ErrUnauthorized) || dialers[0].n.Load() != 1 {
			t.Errorf("refused monitor: Err %v after %d dials", err, dialers[0].n.Load())
		}
		if st := subs[1].Stats(); subs[1].Err() != nil || st.Resets < 5 || st.Events != 0 {
			t.Errorf("reset monitor: Err %v, stats %+v", subs[1].Err(), st)
		}
		for i := 2; i < len(ids); i++ {
			if got[i] != n || subs[i].Stats().Resets != 0 {
				t.Errorf("monitor %d: %d of %d events, stats %+v", i, got[i], n, subs[i].Stats())
			}
		}
		t.Logf("reset monitor: %+v", subs[1].Stats())
	})
}

// pipeCounter counts the dials made through it.
type pipeCounter struct {
	inner Dialer
	n     atomic.Int32
}

func (p *pipeCounter) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	p.n.Add(1)
	return p.inner.DialContext(ctx, network, addr)
}
