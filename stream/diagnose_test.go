package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// Wrong endpoints and the takeover pattern: the error names the likely
// cause and the fix, certain causes are permanent, likely ones are retried
// and said once at WARN when they repeat.

var endpointCauses = []error{ErrPortExpectsTLS, ErrPortNotTLS, ErrNotPushPort}

// causeOf returns the endpoint cause err matches, or nil.
func causeOf(err error) error {
	for _, c := range endpointCauses {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// teeHandler records each message with its level and hands the record
// on to the test's checked log sink.
type teeHandler struct {
	recordingHandler
	next slog.Handler
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	h.recordingHandler.Handle(ctx, r)
	return h.next.Handle(ctx, r)
}

func (h *teeHandler) count(prefix string) int {
	n := 0
	for _, r := range h.records() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func newTee(t *testing.T) *teeHandler { return &teeHandler{next: &sinkHandler{test: t.Name()}} }

// TestWrongEndpointAgainstSimulatorPorts: against the simulator's real
// ports, plaintext to the TLS port and TLS to the plaintext port fail
// with the likely cause and its fix, retried (the simulator closes
// without a word, which a busy push server could do too).
func TestWrongEndpointAgainstSimulatorPorts(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"user": SentinelPassword}})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
	cases := []struct {
		name      string
		addr      string
		plaintext bool
		want      error
		hint      string
	}{
		{"plaintext to the TLS port", srv.PushTLSAddr(), true, ErrPortExpectsTLS, "probably expects TLS: connect with TLS (drop Plaintext"},
		{"TLS to the plaintext port", srv.PushAddr(), false, ErrPortNotTLS, "probably does not speak TLS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(nil)
			cfg.Addr, cfg.Plaintext, cfg.MonitorID = c.addr, c.plaintext, id
			cfg.TLSConfig = srv.ClientTLSConfig()
			cfg.NewBackOff = func() backoff.BackOff { return stopBackOff{} }
			sub, _ := Subscribe(t.Context(), cfg)
			waitDone(t, sub)
			err := sub.Err()
			t.Logf("%v", err)
			if !errors.Is(err, c.want) || IsPermanent(err) || !strings.Contains(err.Error(), c.hint) {
				t.Errorf("err = %v (permanent %v), want %v, transient, with %q", err, IsPermanent(err), c.want, c.hint)
			}
			assertNoSecret(t, err)
		})
	}
}

// pipeListener hands out the server ends of net.Pipes to an http.Server.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }

func (l *pipeListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	c, s := net.Pipe()
	select {
	case l.conns <- s:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestWrongEndpointAgainstSimulatorHTTP: the simulator's REST handler,
// served by net/http over net.Pipe on the fake clock, is named as not a
// push port, by plaintext and by TLS clients. It answers when the bytes
// it got contain a newline (permanent) and otherwise waits (retried after
// HandshakeTimeout).
func TestWrongEndpointAgainstSimulatorHTTP(t *testing.T) {
	for _, plaintext := range []bool{true, false} {
		t.Run(fmt.Sprintf("plaintext %v", plaintext), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newSim(t, streamtest.Options{})
				defer srv.Close()
				ln := newPipeListener()
				hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: time.Minute}
				served := make(chan struct{})
				go func() {
					defer close(served)
					hs.Serve(ln)
				}()
				cfg := testConfig(ln)
				cfg.Plaintext, cfg.HandshakeTimeout = plaintext, 10*time.Second
				cfg.TLSConfig = srv.ClientTLSConfig()
				cfg.NewBackOff = func() backoff.BackOff { return stopBackOff{} }
				start := time.Now()
				sub, _ := Subscribe(t.Context(), cfg)
				<-sub.Done()
				err := sub.Err()
				t.Logf("after %v: %v", time.Since(start), err)
				if !errors.Is(err, ErrNotPushPort) || !strings.Contains(err.Error(), "does not speak the push protocol") && !strings.Contains(err.Error(), "web port") {
					t.Errorf("err = %v, want ErrNotPushPort with its hint", err)
				}
				if silent := time.Since(start) == cfg.HandshakeTimeout; IsPermanent(err) == silent {
					t.Errorf("after %v: permanent %v", time.Since(start), IsPermanent(err))
				}
				hs.Close()
				<-served
			})
		})
	}
}

// scriptedServer answers every dial on a net.Pipe with script.
func scriptedServer(script func(c net.Conn)) *pipeDialer {
	return &pipeDialer{serve: func(_ int, c net.Conn) { script(c) }}
}

// readThen reads what the client sends first (up to n bytes), then runs
// then.
func readThen(n int, then func(c net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, n)
		if _, err := c.Read(buf); err != nil {
			return
		}
		then(c)
	}
}

func writeThenHold(s string) func(net.Conn) {
	return func(c net.Conn) {
		io.WriteString(c, s)
		io.Copy(io.Discard, c)
	}
}

func closeNow(net.Conn) {}

func holdSilent(c net.Conn) { io.Copy(io.Discard, c) }

// TestWrongEndpointScripted: every way a wrong endpoint answers (or does
// not), on net.Pipe under the fake clock. Certain causes end the
// subscription at once; likely ones are retried with the hint; a server
// that sent part of an answer gets no diagnosis.
func TestWrongEndpointScripted(t *testing.T) {
	_, leaf := tlsFixture(t, []string{"rm.test"}, time.Time{}, time.Time{})
	tlsThen := func(then func(net.Conn)) func(net.Conn) {
		return func(c net.Conn) {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf}})
			if tc.Handshake() != nil {
				return
			}
			then(tc)
		}
	}
	const timeout = 10 * time.Second
	cases := []struct {
		name      string
		plaintext bool
		script    func(net.Conn)
		want      error // nil: no diagnosis
		permanent bool
		silent    bool // fails at HandshakeTimeout
		hint      string
	}{
		{"plaintext, HTTP server waits", true, holdSilent, ErrNotPushPort, false, true, "does not speak the push protocol"},
		{"TLS, HTTP server waits", false, holdSilent, ErrNotPushPort, false, true, "speaks neither TLS nor the push protocol"},
		{"plaintext, HTTP answer", true, readThen(8192, writeThenHold("HTTP/1.1 400 Bad Request\r\n\r\n")), ErrNotPushPort, true, false, "web port"},
		{"TLS, HTTP answer", false, readThen(8192, writeThenHold("HTTP/1.1 400 Bad Request\r\n\r\n")), ErrNotPushPort, true, false, "web port"},
		{"TLS, other bytes", false, readThen(8192, writeThenHold("SSH-2.0-OpenSSH_9\r\n")), ErrPortNotTLS, true, false, "does not speak TLS"},
		{"plaintext, TLS alert", true, readThen(8192, writeThenHold("\x15\x03\x03\x00\x02\x02\x0a")), ErrPortExpectsTLS, true, false, "speaks TLS: connect with TLS (drop Plaintext)"},
		{"plaintext, closed without a byte", true, readThen(8192, closeNow), ErrPortExpectsTLS, false, false, "probably expects TLS: connect with TLS (drop Plaintext"},
		{"TLS, closed without a byte", false, readThen(8192, closeNow), ErrPortNotTLS, false, false, "probably does not speak TLS"},
		{"TLS, HTTPS port waits after the handshake", false, tlsThen(holdSilent), ErrNotPushPort, false, true, "an HTTPS port waits like this"},
		{"plaintext, part of a ConnectResponse", true, readThen(8192, func(c net.Conn) { c.Write([]byte{0, 2, 0}) }), nil, false, false, ""},
		{"plaintext, part of a ConnectResponse then silence", true, readThen(8192, writeThenHold("\x00\x02\x00")), nil, false, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := scriptedServer(c.script)
				cfg := testConfig(d)
				cfg.Plaintext, cfg.HandshakeTimeout = c.plaintext, timeout
				cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true}
				cfg.NewBackOff = func() backoff.BackOff { return stopBackOff{} }
				start := time.Now()
				sub, _ := Subscribe(t.Context(), cfg)
				<-sub.Done()
				err, took := sub.Err(), time.Since(start)
				t.Logf("after %v: %v", took, err)
				if got := causeOf(err); got != c.want {
					t.Errorf("cause %v, want %v", got, c.want)
				}
				if IsPermanent(err) != c.permanent {
					t.Errorf("permanent %v, want %v", IsPermanent(err), c.permanent)
				}
				if (took == timeout) != c.silent || took > timeout {
					t.Errorf("failed after %v (HandshakeTimeout %v)", took, timeout)
				}
				if !strings.Contains(err.Error(), c.hint) {
					t.Errorf("error %q does not say %q", err, c.hint)
				}
				if strings.Contains(err.Error(), ": port 3201") && c.want == nil {
					t.Errorf("a hint without a cause: %v", err)
				}
				d.wg.Wait()
			})
		})
	}
}

// TestRepeatedFailureWarnsOnce: plaintext against the simulator's TLS
// port (over net.Pipe, fake clock) for an hour: the first failure and the
// third identical one are logged at WARN, every other one at INFO; every
// backoff state carries the cause.
func TestRepeatedFailureWarnsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		d := &timedDialer{inner: dialFunc(func(context.Context, string, string) (net.Conn, error) {
			c, s := net.Pipe()
			srv.ServeConn(tls.Server(s, srv.TLSConfig()))
			return c, nil
		})}
		log := newTee(t)
		cfg := testConfig(d)
		cfg.MonitorID, cfg.Logger = id, slog.New(log)
		ctx, cancel := context.WithCancel(t.Context())
		sub, _ := Subscribe(ctx, cfg)
		states := watchStates(sub)
		time.Sleep(time.Hour)
		synctest.Wait()
		dials := len(d.times())
		warnFirst := log.count("WARN push connection failed; reconnecting")
		warnRepeat := log.count("WARN push connection keeps failing the same way")
		info := log.count("INFO push connection failed again")
		t.Logf("%d dials in an hour: %d + %d WARN, %d INFO", dials, warnFirst, warnRepeat, info)
		if dials < 50 || warnFirst != 1 || warnRepeat != 1 || info != dials-2 {
			t.Errorf("%d dials logged %d first and %d repeat warnings and %d infos; want 1, 1 and %d", dials, warnFirst, warnRepeat, info, dials-2)
		}
		cancel()
		<-sub.Done()
		states.wg.Wait()
		backoffs := 0
		for _, sc := range states.snapshot() {
			if sc.State == StateBackoff {
				backoffs++
				if !errors.Is(sc.Err, ErrPortExpectsTLS) || !strings.Contains(sc.Err.Error(), "drop Plaintext") {
					t.Fatalf("backoff error %v", sc.Err)
				}
			}
		}
		if backoffs == 0 {
			t.Error("no backoff state seen")
		}
	})
}

// TestTwoClientsOnOneMonitor: two subscriptions on one simulator monitor
// (net.Pipe, fake clock) take the connection from each other, as the
// simulator closes a monitor's connection when another client connects.
// Events flow, so every connection delivers blocks. Each subscription
// warns once that another client is probably connected, its backoff
// states carry ErrAnotherClient, and its backoff grows instead of
// restarting: after the first minutes the clients reconnect about once a
// minute, not several times a second. When one stops, the other stays
// connected.
func TestTwoClientsOnOneMonitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		type client struct {
			sub    *Subscription
			d      *timedDialer
			log    *teeHandler
			states *stateLog
			cancel context.CancelFunc
			events int
		}
		var clients [2]*client
		var wg sync.WaitGroup
		for i := range clients {
			c := &client{d: &timedDialer{inner: simDialer(srv, nil)}, log: newTee(t)}
			cfg := simConfig(t, c.d, id)
			cfg.Logger = slog.New(c.log)
			cctx, ccancel := context.WithCancel(ctx)
			c.sub, _ = Subscribe(cctx, cfg)
			c.cancel = ccancel
			c.states = watchStates(c.sub)
			wg.Go(func() {
				for range c.sub.Events() {
					c.events++
				}
			})
			clients[i] = c
		}
		// An event every 100 ms for 15 minutes.
		for i := range 9000 {
			srv.Publish(streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": fmt.Sprint(i)}})
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		for i, c := range clients {
			at := c.d.times()
			late := 0 // dials in the last 10 minutes
			for _, x := range at {
				if time.Since(x) < 10*time.Minute {
					late++
				}
			}
			warned := c.log.count("WARN push connection keeps being closed soon after connecting")
			t.Logf("client %d: %d dials in 15 minutes, %d in the last 10; %d takeover warnings; %d events", i, len(at), late, warned, c.events)
			if warned != 1 {
				t.Errorf("client %d: %d takeover warnings, want 1", i, warned)
			}
			if sc, ok := c.states.first(StateBackoff, ErrAnotherClient); !ok || !strings.Contains(sc.Err.Error(), "another client") {
				t.Errorf("client %d: no backoff state with ErrAnotherClient", i)
			}
			// With the backoff restarting after each delivering connection,
			// each client redials within a second or so: hundreds of dials.
			// Growing to its 60 s cap (±50 %), at most ~20 in 10 minutes.
			if late > 25 {
				t.Errorf("client %d: %d dials in the last 10 minutes: the backoff does not grow", i, late)
			}
		}
		if st := srv.Stats(id); st.ConnectsOK < 10 {
			t.Errorf("only %d connects: the clients did not take over from each other", st.ConnectsOK)
		}
		// The second client stops: the first reconnects and stays.
		clients[1].cancel()
		<-clients[1].sub.Done()
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		before := len(clients[0].d.times())
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if n := len(clients[0].d.times()); n != before || clients[0].sub.State() != StateConnected {
			t.Errorf("alone, the first client dialled %d more times and is %v", n-before, clients[0].sub.State())
		}
		cancel()
		for _, c := range clients {
			<-c.sub.Done()
			c.states.wg.Wait()
		}
		wg.Wait()
	})
}
