package streamtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
)

func newPipe() (net.Conn, net.Conn) { return net.Pipe() }

func tlsServer(c net.Conn, s *Server) net.Conn { return tls.Server(c, s.TLSConfig()) }

func tlsClient(c net.Conn, cfg *tls.Config) net.Conn { return tls.Client(c, cfg) }

func TestTLSListener(t *testing.T) {
	s := NewServer(Options{HTTPAddr: "-", Logf: t.Logf})
	defer s.Close()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})

	// A pool holding the generated CA verifies, by name and by address.
	for _, name := range []string{"localhost", "127.0.0.1"} {
		cfg := s.ClientTLSConfig()
		cfg.ServerName = name
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.PushTLSAddr(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := c.ConnectionState().Version; v < tls.VersionTLS12 {
			t.Errorf("TLS version %x", v)
		}
		rc := newRawClient(t, c)
		rc.mustConnect(id)
		s.Publish(dp("d", "s", 1))
		b := rc.mustBlock()
		rc.ack(b.ID)
		c.Close()
	}

	// An empty pool does not.
	_, err := tls.Dial("tcp", s.PushTLSAddr(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "localhost"})
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("empty pool: %v, want x509.UnknownAuthorityError", err)
	}
	// Old TLS versions are refused.
	_, err = tls.Dial("tcp", s.PushTLSAddr(), &tls.Config{RootCAs: s.CertPool(), ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	if pem := s.CACertPEM(); len(pem) == 0 || !s.CertPool().Equal(poolFromPEM(t, pem)) {
		t.Error("CACertPEM does not hold the CA")
	}
}

func poolFromPEM(t *testing.T, pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("bad PEM")
	}
	return p
}

func TestPlainListenerAndAbruptDrop(t *testing.T) {
	s := NewServer(Options{HTTPAddr: "-", PushTLSAddr: "-", Logf: t.Logf})
	defer s.Close()
	if s.URL() != "" || s.PushTLSAddr() != "" || s.PushAddr() == "" {
		t.Fatalf("addresses %q %q %q", s.URL(), s.PushAddr(), s.PushTLSAddr())
	}
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true, AckExplicit: true})
	c, err := net.DialTimeout("tcp", s.PushAddr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := newRawClient(t, c)
	rc.mustConnect(id)
	s.Publish(dp("d", "s", 1))
	rc.mustBlock()
	if n := s.DropConnections(id); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	if _, err := rc.rd.ReadFrame(); err == nil {
		t.Fatal("read after drop succeeded")
	}
	if st := s.Stats(id); st.Queued != 1 || st.Connections != 0 {
		t.Fatalf("stats %+v", st)
	}

	// A wrong-port mistake: TLS client on the plain port gets no frames.
	tc, err := net.DialTimeout("tcp", s.PushAddr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tls.Client(tc, s.ClientTLSConfig()).Handshake(); err == nil {
		t.Fatal("TLS handshake with the plain port succeeded")
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Options{InFlight: -1}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("InFlight -1: %v", err)
	}
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	// The HTTP port is taken now.
	_, err := Start(Options{HTTPAddr: s.URL()[len("http://"):], PushAddr: "-", PushTLSAddr: "-"})
	if err == nil {
		t.Fatal("Start on a busy port succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("NewServer did not panic")
		}
	}()
	NewServer(Options{InFlight: -1})
}
