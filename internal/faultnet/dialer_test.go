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
	var mu sync.Mutex
	var fired []int
	d := &faultnet.Dialer{
		Dial: ps.DialContext,
		Script: func(i int) faultnet.Script {
			return faultnet.Script{
				Write: []faultnet.Fault{faultnet.Cut(int64(i+5), faultnet.RST)},
				OnFault: func(faultnet.Event) {
					mu.Lock()
					fired = append(fired, i)
					mu.Unlock()
				},
			}
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
	// A failing Dial passes its error through and uses no script index.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.DialContext(ctx, "tcp", "x:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("DialContext(cancelled) = %v", err)
	}
	c, err := d.DialContext(context.Background(), "tcp", "x:1")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Write(data); n != 8 {
		t.Fatalf("fourth conn wrote %d bytes, want 8: a failed dial consumed a script index", n)
	}
	c.Close()
	ps.wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(fired) != 4 || fired[3] != 3 {
		t.Fatalf("OnFault fired for conns %v, want [0 1 2 3]", fired)
	}
}

func TestDialerInvalidScript(t *testing.T) {
	ps := &pipeServer{}
	d := &faultnet.Dialer{
		Dial: ps.DialContext,
		Script: func(int) faultnet.Script {
			return faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(-1, faultnet.FIN)}}
		},
	}
	if c, err := d.DialContext(context.Background(), "tcp", "x:1"); !errors.Is(err, faultnet.ErrInvalidScript) || c != nil {
		t.Fatalf("DialContext = %v, %v; want ErrInvalidScript", c, err)
	}
	ps.wg.Wait() // the dialled conn was closed, so the server's ReadAll ended
	nilDial := &faultnet.Dialer{Dial: func(context.Context, string, string) (net.Conn, error) { return nil, nil }}
	if _, err := nilDial.DialContext(context.Background(), "tcp", "x:1"); !errors.Is(err, faultnet.ErrNilConn) {
		t.Fatalf("nil conn: %v, want ErrNilConn", err)
	}
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
	c.SetDeadline(time.Now().Add(3 * time.Minute)) // only against a hang; never reached when it works
	data := pattern(1000, 62)
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("echo: %v", err)
	}
	if c.LocalAddr() == nil || c.RemoteAddr().String() != ln.Addr().String() {
		t.Fatalf("addresses %v → %v", c.LocalAddr(), c.RemoteAddr())
	}
}
