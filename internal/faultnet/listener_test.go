package faultnet_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// The dialer option shape client libraries take.
var _ interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
} = (*faultnet.Dialer)(nil)

var _ net.Listener = (*faultnet.Listener)(nil)

func TestListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	fl := faultnet.Listen(ln, func(i int) faultnet.Script {
		if i == 3 {
			return faultnet.Script{Write: []faultnet.Fault{faultnet.Slice(0)}} // invalid
		}
		return faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(int64(10*(i+1)), faultnet.FIN)}}
	})
	defer fl.Close()
	if fl.Addr().String() != ln.Addr().String() {
		t.Fatalf("Addr() = %v, want %v", fl.Addr(), ln.Addr())
	}
	data := pattern(100, 60)
	for i := range 4 {
		cl, err := net.Dial("tcp", fl.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cl.SetDeadline(time.Now().Add(tcpTimeout))
		sv, err := fl.Accept()
		if i == 3 {
			if !errors.Is(err, faultnet.ErrInvalidScript) || sv != nil {
				t.Fatalf("Accept with an invalid script = %v, %v; want ErrInvalidScript", sv, err)
			}
			if _, err := cl.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("client of the rejected conn read %v, want it closed", err)
			}
			cl.Close()
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n, werr := sv.Write(data)
		if want := 10 * (i + 1); n != want || !errors.Is(werr, syscall.EPIPE) {
			t.Fatalf("conn %d: Write = %d, %v; want %d, EPIPE", i, n, werr, want)
		}
		got, err := io.ReadAll(cl)
		if err != nil || !bytes.Equal(got, data[:n]) {
			t.Fatalf("conn %d: client got %d bytes, %v", i, len(got), err)
		}
		sv.Close()
		cl.Close()
	}
	conns := fl.Conns()
	if len(conns) != 4 || conns[3] != nil {
		t.Fatalf("Conns() = %v, want 3 conns and a nil for the rejected one", conns)
	}
	for i, c := range conns[:3] {
		if got := c.Script().Write[0].Offset; got != int64(10*(i+1)) {
			t.Fatalf("conn %d ran %v", i, c.Script())
		}
	}
	fl.Close()
	if _, err := fl.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func TestListenerNil(t *testing.T) {
	fl := faultnet.Listen(nil, nil)
	if _, err := fl.Accept(); !errors.Is(err, faultnet.ErrNilListener) {
		t.Fatalf("Accept = %v, want ErrNilListener", err)
	}
	if err := fl.Close(); !errors.Is(err, faultnet.ErrNilListener) {
		t.Fatalf("Close = %v, want ErrNilListener", err)
	}
}

// pipeServer hands out the client end of a fresh net.Pipe per dial and
// collects, per conn, everything the client wrote.
type pipeServer struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	got [][]byte
}

func (p *pipeServer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl, sv := net.Pipe()
	p.mu.Lock()
	i := len(p.got)
	p.got = append(p.got, nil)
	p.mu.Unlock()
	p.wg.Go(func() {
		b, _ := io.ReadAll(sv)
		sv.Close()
		p.mu.Lock()
		p.got[i] = b
		p.mu.Unlock()
	})
	return cl, nil
}

func TestDialer(t *testing.T) {
	ps := &pipeServer{}
	d := &faultnet.Dialer{
		Dial: ps.DialContext,
		Script: func(i int) faultnet.Script {
			return faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(int64(i+5), faultnet.RST)}}
		},
	}
	data := pattern(50, 61)
	for i := range 3 {
		c, err := d.DialContext(context.Background(), "tcp", "example.invalid:3201")
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.Write(data)
		if n != i+5 || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("conn %d: Write = %d, %v; want %d, ECONNRESET", i, n, err, i+5)
		}
		c.Close()
	}
	ps.wg.Wait()
	for i, got := range ps.got {
		if !bytes.Equal(got, data[:i+5]) {
			t.Fatalf("conn %d: server got %d bytes, want %d", i, len(got), i+5)
		}
	}
	if conns := d.Conns(); len(conns) != 3 || conns[2].Stats().Written != 7 {
		t.Fatalf("Conns() = %v", conns)
	}
	// A failing Dial passes its error through and uses no script index.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DialContext(ctx, "tcp", "x:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("DialContext(cancelled) = %v", err)
	}
	if len(d.Conns()) != 3 {
		t.Fatal("a failed dial consumed a script index")
	}
}

func TestDialerInvalidScript(t *testing.T) {
	ps := &pipeServer{}
	d := &faultnet.Dialer{
		Dial:   ps.DialContext,
		Script: func(i int) faultnet.Script { return faultnet.Random(int64(i), faultnet.RandomOptions{Min: 1, Max: 0}) },
	}
	if c, err := d.DialContext(context.Background(), "tcp", "x:1"); !errors.Is(err, faultnet.ErrInvalidScript) || c != nil {
		t.Fatalf("DialContext = %v, %v; want ErrInvalidScript", c, err)
	}
	ps.wg.Wait() // the dialled conn was closed, so the server's ReadAll ended
}

// TestDialerDefault: with Dial nil a real net.Dialer is used, and with
// Script nil the conn is untouched.
func TestDialerDefault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		sv, err := ln.Accept()
		if err != nil {
			return
		}
		defer sv.Close()
		io.Copy(sv, sv)
	})
	d := &faultnet.Dialer{}
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(tcpTimeout))
	data := pattern(1000, 62)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo: %v", err)
	}
	if _, ok := c.(*faultnet.Conn); !ok {
		t.Fatalf("DialContext returned %T, want *faultnet.Conn", c)
	}
}
