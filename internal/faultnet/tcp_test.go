package faultnet_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// These tests use real loopback TCP to check what the peer sees: RST as
// ECONNRESET, FIN as EOF. Each sets a generous deadline so a bug fails the
// test instead of hanging it.

const tcpTimeout = 10 * time.Second

// tcpPair returns both ends of a fresh loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	if s == nil {
		t.Fatal("accept failed")
	}
	dl := time.Now().Add(tcpTimeout)
	c.SetDeadline(dl)
	s.SetDeadline(dl)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// wantPeerEnd checks the error with which the peer's reading ended.
func wantPeerEnd(t *testing.T, mode faultnet.CutMode, err error) {
	t.Helper()
	if mode == faultnet.FIN && err != nil { // io.ReadAll maps EOF to nil
		t.Fatalf("peer read ended with %v, want EOF", err)
	}
	if mode == faultnet.RST && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer read ended with %v, want ECONNRESET", err)
	}
	if errors.Is(err, faultnet.ErrInjected) {
		t.Fatal("the peer saw a faultnet error: it must see only the socket's")
	}
}

func TestTCPCutWrite(t *testing.T) {
	data := pattern(5000, 40)
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		for _, ch := range chunkings {
			for _, n := range []int64{0, 1, 100, 4321} {
				t.Run(fmt.Sprintf("%v/%s/%d", mode, ch.name, n), func(t *testing.T) {
					cl, sv := tcpPair(t)
					c := faultnet.Wrap(cl, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(n, mode)}})
					defer c.Close()
					wait := readAllAsync(sv)
					wrote, err := writeChunks(c, data, ch.next())
					wantCutErr(t, "write", mode, err)
					if int64(wrote) != n {
						t.Fatalf("accepted %d bytes, want %d", wrote, n)
					}
					got, rerr := wait()
					if !bytes.Equal(got, data[:n]) {
						t.Fatalf("peer got %d bytes, want exactly %d", len(got), n)
					}
					wantPeerEnd(t, mode, rerr)
				})
			}
		}
	}
}

func TestTCPCutRead(t *testing.T) {
	data := pattern(5000, 41)
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		for _, n := range []int64{0, 1, 100, 4321} {
			t.Run(fmt.Sprintf("%v/%d", mode, n), func(t *testing.T) {
				cl, sv := tcpPair(t)
				c := faultnet.Wrap(cl, faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(n, mode)}})
				defer c.Close()
				if _, err := sv.Write(data); err != nil { // fits in the socket buffers
					t.Fatal(err)
				}
				got, err := readChunks(c, sizer(uint64(n), 700))
				wantCutErr(t, "read", mode, err)
				if !bytes.Equal(got, data[:n]) {
					t.Fatalf("read %d bytes, want exactly %d", len(got), n)
				}
				// The peer's next read sees the close. The wrapped end left
				// bytes unread, so the kernel may answer a FIN close with RST
				// as well; for RST it must be a reset.
				_, perr := sv.Read(make([]byte, 1))
				if mode == faultnet.RST {
					wantPeerEnd(t, mode, perr)
				} else if perr != io.EOF && !errors.Is(perr, syscall.ECONNRESET) {
					t.Fatalf("peer read = %v, want EOF or ECONNRESET", perr)
				}
			})
		}
	}
}

// TestTCPFINWithUnreadData: a FIN cut on the Write side reaches the peer as
// EOF after exactly n bytes even when the wrapped end has unread incoming
// bytes (where a plain close would make the kernel send RST).
func TestTCPFINWithUnreadData(t *testing.T) {
	cl, sv := tcpPair(t)
	if _, err := sv.Write(pattern(1000, 42)); err != nil {
		t.Fatal(err)
	}
	// Let the bytes land in the client's receive buffer.
	probe := make([]byte, 1)
	if _, err := io.ReadFull(cl, probe); err != nil {
		t.Fatal(err)
	}
	c := faultnet.Wrap(cl, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(50, faultnet.FIN)}})
	defer c.Close()
	data := pattern(100, 43)
	if n, err := c.Write(data); n != 50 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	got, err := io.ReadAll(sv)
	if err != nil || !bytes.Equal(got, data[:50]) {
		t.Fatalf("peer got %d bytes, %v; want 50 then EOF", len(got), err)
	}
}

// TestTCPStallAndSlice: a stall and slicing over a real socket, with a real
// deadline (short: it only has to fire).
func TestTCPStallAndSlice(t *testing.T) {
	cl, sv := tcpPair(t)
	c := faultnet.Wrap(cl, faultnet.Script{Write: []faultnet.Fault{faultnet.Slice(3), faultnet.Stall(10)}})
	defer c.Close()
	data := pattern(30, 44)
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if n, err := c.Write(data); n != 10 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want 10, deadline", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	c.Release()
	if n, err := c.Write(data[10:]); n != 20 || err != nil {
		t.Fatalf("Write after Release = %d, %v", n, err)
	}
	c.Close()
	got, err := io.ReadAll(sv)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("peer got %d bytes, %v", len(got), err)
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "faultnet test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTLSCutPlaintext: wrapping the *tls.Conn makes offsets count
// plaintext bytes; FIN reaches the TLS peer as EOF (close_notify), RST as a
// reset of the TCP conn underneath.
func TestTLSCutPlaintext(t *testing.T) {
	cert, pool := selfSigned(t)
	data := pattern(3000, 45)
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		for _, n := range []int64{1, 1500, 2999} {
			t.Run(fmt.Sprintf("%v/%d", mode, n), func(t *testing.T) {
				cl, sv := tcpPair(t)
				ts := tls.Server(sv, &tls.Config{Certificates: []tls.Certificate{cert}})
				tc := tls.Client(cl, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
				var wg sync.WaitGroup
				var got []byte
				var rerr error
				wg.Go(func() { got, rerr = io.ReadAll(ts) })
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				c := faultnet.Wrap(tc, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(n, mode)}})
				defer c.Close()
				wrote, err := writeChunks(c, data, sizer(uint64(n), 400))
				wantCutErr(t, "write", mode, err)
				if int64(wrote) != n {
					t.Fatalf("accepted %d bytes, want %d", wrote, n)
				}
				wg.Wait()
				if !bytes.Equal(got, data[:n]) {
					t.Fatalf("TLS peer got %d plaintext bytes, want exactly %d", len(got), n)
				}
				wantPeerEnd(t, mode, rerr)
			})
		}
	}
}

// TestTCPNestedReset: an RST cut reaches the socket through a chain of
// NetConn wrappers (here another faultnet.Conn).
func TestTCPNestedReset(t *testing.T) {
	cl, sv := tcpPair(t)
	innerC := faultnet.Wrap(cl, faultnet.Script{})
	c := faultnet.Wrap(innerC, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(3, faultnet.RST)}})
	defer c.Close()
	if c.NetConn() != innerC || innerC.NetConn() != cl {
		t.Fatal("NetConn does not return the wrapped conn")
	}
	if _, err := c.Write([]byte("abcdef")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write = %v, want ECONNRESET", err)
	}
	got, err := io.ReadAll(sv)
	if string(got) != "abc" {
		t.Fatalf("peer got %q, want \"abc\"", got)
	}
	wantPeerEnd(t, faultnet.RST, err)
}
