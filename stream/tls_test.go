package stream

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/protocol"
)

// tlsServer is a loopback push server; it answers 200 and sends one block
// on each connection that completes its handshake.
type tlsServer struct {
	ln      net.Listener
	accepts atomic.Int32
	wg      sync.WaitGroup
}

func startServer(t *testing.T, tcfg *tls.Config) *tlsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if tcfg != nil {
					tc := tls.Server(c, tcfg)
					if err := tc.Handshake(); err != nil {
						var rh tls.RecordHeaderError
						if errors.As(err, &rh) && rh.Conn != nil {
							// Like most TLS servers, answer a non-TLS
							// client with a fatal alert (unexpected_message).
							rh.Conn.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a})
						}
						return
					}
					c = tc
				}
				fc := newFakeConn(t, c)
				if _, ok := fc.login(protocol.StatusOK); !ok {
					return
				}
				fc.block(jsonDoc(jsonMsg("1/DeviceCore/1/0", "UPDATE", "2012-04-17T14:14:07Z", "DeviceCore", `{"id":{"devId":1}}`, false)), 1, protocol.FormatJSON, false)
				fc.readAcks()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

type countingDialer struct {
	net.Dialer
	n atomic.Int32
}

func (d *countingDialer) DialContext(ctx t_ctx, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	return d.Dialer.DialContext(ctx, network, addr)
}

func tlsFixture(t *testing.T, hosts []string, notBefore, notAfter time.Time) (*certs.CA, tls.Certificate) {
	ca, err := certs.NewCA("stream test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf(hosts, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return ca, leaf
}

func TestTLSDeliversWithGivenPool(t *testing.T) {
	ca, leaf := tlsFixture(t, []string{"localhost", "127.0.0.1"}, time.Time{}, time.Time{})
	srv := startServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}})
	d := &countingDialer{}
	cfg := testConfig(d)
	cfg.Addr, cfg.Plaintext = srv.ln.Addr().String(), false
	cfg.TLSConfig = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	orig := cfg.TLSConfig
	sub, err := Subscribe(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-sub.Events():
		if ev.Resource != "DeviceCore" {
			t.Errorf("event %v", ev)
		}
	case <-time.After(2 * time.Minute): // only turns a hang into a failure
		t.Fatal("no event over TLS")
	}
	sub.Close()
	if orig.MinVersion != 0 {
		t.Error("caller's tls.Config was modified")
	}
}

func TestTLSFailuresArePermanentWithoutFallback(t *testing.T) {
	good, leaf := tlsFixture(t, []string{"localhost", "127.0.0.1"}, time.Time{}, time.Time{})
	_, expiredLeaf := func() (*certs.CA, tls.Certificate) {
		leaf, err := good.Leaf([]string{"localhost"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return good, leaf
	}()
	other, _ := certs.NewCA("other")
	cases := []struct {
		name   string
		server *tls.Config
		pool   *x509.CertPool
		sni    string
		check  func(error) bool
	}{
		{"unknown CA", &tls.Config{Certificates: []tls.Certificate{leaf}}, other.Pool(), "localhost", func(err error) bool {
			var e x509.UnknownAuthorityError
			return errors.As(err, &e)
		}},
		{"wrong host name", &tls.Config{Certificates: []tls.Certificate{leaf}}, good.Pool(), "remotemanager.example", func(err error) bool {
			var e x509.HostnameError
			return errors.As(err, &e)
		}},
		{"expired", &tls.Config{Certificates: []tls.Certificate{expiredLeaf}}, good.Pool(), "localhost", func(err error) bool {
			var e x509.CertificateInvalidError
			return errors.As(err, &e) && e.Reason == x509.Expired
		}},
		{"TLS 1.1 server", &tls.Config{Certificates: []tls.Certificate{leaf}, MaxVersion: tls.VersionTLS11}, good.Pool(), "localhost", func(err error) bool {
			return errors.Is(err, ErrTLSVersion) && strings.Contains(err.Error(), "protocol version")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.server)
			d := &countingDialer{}
			cfg := testConfig(d)
			cfg.Addr, cfg.Plaintext = srv.ln.Addr().String(), false
			cfg.TLSConfig = &tls.Config{RootCAs: tc.pool, ServerName: tc.sni}
			sub, _ := Subscribe(t.Context(), cfg)
			select {
			case <-sub.Done():
			case <-time.After(2 * time.Minute): // only turns a hang into a failure
				t.Fatal("TLS failure did not end the subscription")
			}
			err := sub.Err()
			if !tc.check(err) || !IsPermanent(err) {
				t.Errorf("Err = %v (%T)", err, errors.Unwrap(err))
			}
			if n := d.n.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	}
}

func TestPlaintextAgainstTLSPortNamesTheCause(t *testing.T) {
	_, leaf := tlsFixture(t, []string{"localhost"}, time.Time{}, time.Time{})
	srv := startServer(t, &tls.Config{Certificates: []tls.Certificate{leaf}})
	d := &countingDialer{}
	cfg := testConfig(d)
	cfg.Addr = srv.ln.Addr().String()
	sub, _ := Subscribe(t.Context(), cfg)
	waitDone(t, sub)
	err := sub.Err()
	if !errors.Is(err, protocol.ErrLooksLikeTLS) || !strings.Contains(err.Error(), "plaintext vs TLS") || d.n.Load() != 1 {
		t.Errorf("Err = %v after %d dials", err, d.n.Load())
	}
}

func TestTLSAgainstPlaintextPortNamesTheCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// A push server reads the ClientHello as a frame, rejects it and
		// closes.
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			protocol.NewReader(c, protocol.ReaderOptions{Side: protocol.ServerSide}).ReadFrame()
			c.Close()
		}
	}()
	cfg := testConfig(&countingDialer{})
	cfg.Addr, cfg.Plaintext = ln.Addr().String(), false
	var seen error
	cfg.NewBackOff = func() backoffBackOff { return stopBackOff{} }
	sub, _ := Subscribe(t.Context(), cfg)
	waitDone(t, sub)
	seen = sub.Err()
	if seen == nil || !strings.Contains(seen.Error(), "plaintext port") {
		t.Errorf("Err = %v", seen)
	}
}

// TestTLSRecordErrorAfterLoginIsRetried: bytes that break the TLS record
// layer of an established session (a middlebox writing into the
// connection) end that session, but the subscription reconnects: a TLS
// record error is permanent only during the handshake.
func TestTLSRecordErrorAfterLoginIsRetried(t *testing.T) {
	ca, leaf := tlsFixture(t, []string{"localhost", "127.0.0.1"}, time.Time{}, time.Time{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var n atomic.Int32
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(2 * time.Minute)) // a hang guard
				tc := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{leaf}})
				if tc.Handshake() != nil {
					return
				}
				fc := newFakeConn(t, tc)
				if _, ok := fc.login(protocol.StatusOK); !ok {
					return
				}
				body := fmt.Sprintf(`{"id":{"devId":%d}}`, n.Add(1)) // a new event each session
				fc.block(jsonDoc(jsonMsg("1/DeviceCore/1/0", "UPDATE", "2012-04-17T14:14:07Z", "DeviceCore", body, false)), 1, protocol.FormatJSON, false)
				go fc.readAcks()
				select {
				case <-fc.acks:
				case <-fc.done:
					return
				}
				raw.Write([]byte("HTTP/1.1 504 Gateway Timeout\r\n\r\n")) // under TLS
				<-fc.done
			}()
		}
	}()
	cfg := testConfig(&countingDialer{})
	cfg.Addr, cfg.Plaintext = ln.Addr().String(), false
	cfg.TLSConfig = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	sub, err := Subscribe(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 2 {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				t.Fatalf("the subscription ended after %d event(s): %v", i, sub.Err())
			}
		case <-time.After(2 * time.Minute): // only turns a hang into a failure
			t.Fatalf("no event from session %d", i+1)
		}
	}
}
