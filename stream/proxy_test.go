package stream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// connectProxy is a minimal HTTP CONNECT proxy for tests.
type connectProxy struct {
	ln     net.Listener
	auth   string // required Proxy-Authorization, "" for none
	status int    // answer instead of tunnelling, 0 to tunnel
	wg     sync.WaitGroup
	mu     sync.Mutex
	seen   []string // CONNECT targets
	conns  []net.Conn
}

func newConnectProxy(t *testing.T, auth string, status int) *connectProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connectProxy{ln: ln, auth: auth, status: status}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *connectProxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *connectProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *connectProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.track(c)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.seen = append(p.seen, req.Method+" "+req.Host)
			p.mu.Unlock()
			switch {
			case req.Method != http.MethodConnect:
				fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
				return
			case p.auth != "" && req.Header.Get("Proxy-Authorization") != p.auth:
				fmt.Fprint(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
				return
			case p.status != 0:
				fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n\r\n", p.status, http.StatusText(p.status))
				return
			}
			up, err := net.Dial("tcp", req.Host)
			if err != nil {
				fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
				return
			}
			p.track(up)
			defer up.Close()
			fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			done := make(chan struct{})
			go func() {
				io.Copy(up, br)
				up.Close()
				close(done)
			}()
			io.Copy(c, up)
			c.Close()
			<-done
		}()
	}
}

func (p *connectProxy) targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func TestProxyDialerTunnelsTLSPush(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"user": stream.SentinelPassword}})
	defer srv.Close()
	// "proxyuser:pr0xy" in Basic.
	proxy := newConnectProxy(t, "Basic cHJveHl1c2VyOnByMHh5", 0)
	d, err := stream.HTTPProxyDialer("http://proxyuser:pr0xy@"+proxy.ln.Addr().String(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{d.String(), fmt.Sprintf("%v %+v %#v %s", d, d, d, d)} {
		if strings.Contains(s, "pr0xy") {
			t.Errorf("proxy password printed: %s", s)
		}
	}
	ctx := deadline(t)
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
	sub, err := stream.Subscribe(ctx, stream.Config{Addr: srv.PushTLSAddr(), TLSConfig: srv.ClientTLSConfig(),
		Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: id, Dialer: d})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := srv.WaitConnected(ctx, id); err != nil {
		t.Fatal(err)
	}
	srv.Publish(streamtest.Event{Topic: "DataPoint/d/t", Operation: "INSERTION", Body: map[string]any{"id": "p1"}})
	ev := collectN(t, "proxied", sub.Events(), 1)[0]
	if dp, _ := ev.DataPoint(); dp.ID != "p1" {
		t.Errorf("event %v", ev)
	}
	if got := proxy.targets(); len(got) != 1 || got[0] != "CONNECT "+srv.PushTLSAddr() {
		t.Errorf("proxy saw %q", got)
	}
}

func TestProxyRefusals(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"user": stream.SentinelPassword}})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
	cases := []struct {
		name      string
		auth      string
		status    int
		url       func(addr string) string
		wantCode  int
		permanent bool
	}{
		{"wrong proxy password", "Basic cHJveHl1c2VyOnByMHh5", 0, func(a string) string { return "http://proxyuser:wrong-pr0xy@" + a }, 407, true},
		{"policy", "", 403, func(a string) string { return "http://" + a }, 403, true},
		{"bad gateway", "", 502, func(a string) string { return "http://" + a }, 502, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proxy := newConnectProxy(t, c.auth, c.status)
			d, err := stream.HTTPProxyDialer(c.url(proxy.ln.Addr().String()), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := stream.Subscribe(deadline(t), stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user",
				Password: secret.New(stream.SentinelPassword), MonitorID: id, Dialer: d,
				NewBackOff: func() backoff.BackOff { return stopAfterOne{} }})
			if err != nil {
				t.Fatal(err)
			}
			<-sub.Done()
			err = sub.Err()
			var pe *stream.ProxyError
			if !errors.Is(err, stream.ErrProxyRefused) || !errors.As(err, &pe) || pe.StatusCode != c.wantCode {
				t.Fatalf("err %v", err)
			}
			if stream.IsPermanent(err) != c.permanent {
				t.Errorf("IsPermanent = %v", stream.IsPermanent(err))
			}
			if strings.Contains(err.Error(), "pr0xy") {
				t.Errorf("error shows the proxy password: %v", err)
			}
		})
	}
	for _, bad := range []string{"socks5://h:1", "http://", "::"} {
		if _, err := stream.HTTPProxyDialer(bad, nil, nil); !errors.Is(err, stream.ErrInvalidConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// stopAfterOne gives up after the first failure.
type stopAfterOne struct{}

func (stopAfterOne) NextBackOff() time.Duration { return backoff.Stop }
func (stopAfterOne) Reset()                     {}

// pipeForward hands out one end of a net.Pipe whose other end reads the
// CONNECT request and then never answers.
type pipeForward struct{ wg sync.WaitGroup }

func (p *pipeForward) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	a, b := net.Pipe()
	p.wg.Go(func() {
		defer b.Close()
		http.ReadRequest(bufio.NewReader(b))
		io.Copy(io.Discard, b) // until the client closes
	})
	return a, nil
}

func TestProxyConnectHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fw := &pipeForward{}
		d, err := stream.HTTPProxyDialer("http://proxy.test:3128", fw, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err = d.DialContext(ctx, "tcp", "rm.test:3201")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("after %v: %v", time.Since(start), err)
		}
		fw.wg.Wait()
	})
}

func TestProxyFromEnvironmentDialsLoopbackDirectly(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"user": stream.SentinelPassword}})
	defer srv.Close()
	d := stream.ProxyFromEnvironment(nil)
	c, err := d.DialContext(deadline(t), "tcp", srv.PushAddr())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(d.String(), "environment") {
		t.Errorf("String %q", d)
	}
}

// TestProxyTunnelWithEarlyBytesHalfCloses: a tunnel whose first bytes came
// with the proxy's answer (read ahead with it) still offers CloseWrite, so
// that Shutdown half-closes it and the server reads the last acks.
func TestProxyTunnelWithEarlyBytesHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	eof := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			eof <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Minute)) // a hang guard
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			eof <- err
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nEARLY")
		_, err = io.Copy(io.Discard, c) // until the client's half-close
		eof <- err
	}()
	d, err := stream.HTTPProxyDialer("http://"+ln.Addr().String(), &net.Dialer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := d.DialContext(t.Context(), "tcp", "rm.test:3201")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make([]byte, 5)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "EARLY" {
		t.Fatalf("tunnel read %q, %v", got, err)
	}
	cw, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("the tunnel (%T) has no CloseWrite", conn)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := <-eof; err != nil {
		t.Errorf("the proxy did not see the half-close: %v", err)
	}
}
