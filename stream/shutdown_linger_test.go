package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// halfPipe is one end of an in-memory connection made of two net.Pipes,
// one per direction, so that, unlike a net.Pipe, it can be half-closed:
// CloseWrite ends only the direction it writes (the peer reads io.EOF)
// and it can still read. It records the error of its last read. When
// hold is set, the first read deadline set at or before now (Shutdown's
// wake-up of a waiting read) waits until hold is closed.
type halfPipe struct {
	r, w net.Conn
	hold chan struct{}
	mu   sync.Mutex
	held bool
	rerr error
}

// newHalfPipe returns the two ends of a half-closable connection.
func newHalfPipe() (client, server *halfPipe) {
	up1, up2 := net.Pipe()     // client → server
	down1, down2 := net.Pipe() // server → client
	return &halfPipe{r: down1, w: up1}, &halfPipe{r: up2, w: down2}
}

func (p *halfPipe) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.mu.Lock()
	p.rerr = err
	p.mu.Unlock()
	return n, err
}

func (p *halfPipe) lastReadErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rerr
}

func (p *halfPipe) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *halfPipe) CloseWrite() error           { return p.w.Close() }
func (p *halfPipe) Close() error                { return errors.Join(p.w.Close(), p.r.Close()) }
func (p *halfPipe) LocalAddr() net.Addr         { return p.r.LocalAddr() }
func (p *halfPipe) RemoteAddr() net.Addr        { return p.r.RemoteAddr() }

func (p *halfPipe) SetDeadline(t time.Time) error {
	return errors.Join(p.SetReadDeadline(t), p.w.SetWriteDeadline(t))
}

func (p *halfPipe) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	wait := p.hold != nil && !p.held && !t.IsZero() && !t.After(time.Now())
	p.held = p.held || wait
	p.mu.Unlock()
	if wait {
		<-p.hold
	}
	return p.r.SetReadDeadline(t)
}

func (p *halfPipe) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

// halfPipeDialer dials one halfPipe, with hold, and hands its server end
// to conns.
type halfPipeDialer struct {
	client *halfPipe
	hold   chan struct{}
	conns  chan *halfPipe
}

func (d *halfPipeDialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	if d.client != nil {
		return nil, errors.New("halfPipeDialer: dialled twice")
	}
	c, s := newHalfPipe()
	c.hold = d.hold
	d.client = c
	select {
	case d.conns <- s:
		return c, nil
	case <-ctx.Done():
		c.Close()
		s.Close()
		return nil, ctx.Err()
	}
}

// TestShutdownAcksTakenBlocksAndLingers: Shutdown of an Events
// subscription whose reader is blocked handing over a later block writes
// the acks of the blocks whose events the consumer took (not that of the
// block it did not take), half-closes, and then waits for the server to
// close its side, however many further calls of Shutdown come meanwhile
// (a program may call it from a signal handler and from its main loop),
// and however late the wake-up of the first call lands.
//
// Shutdown set a read deadline in the past, to wake a reader waiting for
// a frame, on every call, and on the first after the reader could
// already have left its hand-off: a second call, or the first's own
// wake-up landing late, cut the wait for the server's close short, and
// the connection was closed with the server's unread blocks in its
// buffer — over TCP a reset, upon which a server may drop the connection
// before it has read the acks (the simulator's sender, failing on the
// reset, did: a pushclient stopped on -count got its printed blocks
// again on the next run).
func TestShutdownAcksTakenBlocksAndLingers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		calls    int
		lateWake bool
	}{
		{"one-call", 1, false},
		{"three-calls", 3, false},
		{"late-wake", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				testShutdownLingers(t, tc.calls, tc.lateWake)
			})
		})
	}
}

func testShutdownLingers(t *testing.T, calls int, lateWake bool) {
	d := &halfPipeDialer{conns: make(chan *halfPipe)}
	if lateWake {
		d.hold = make(chan struct{})
	}
	cfg := testConfig(d)
	cfg.Logger = testLogger(t.Name())
	sub, err := Subscribe(context.WithoutCancel(t.Context()), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	srv := <-d.conns
	fc, ok := loggedIn(t, srv)
	if !ok {
		t.Fatal("login failed")
	}
	// Four blocks of one event, in one write: while the consumer takes
	// the first events, the next blocks are already buffered, so their
	// acks are held back for the next flush.
	var docs []string
	for i := range 4 {
		docs = append(docs, jsonDoc(jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2025-01-02T03:04:05Z", "DataPoint", dpBody(fmt.Sprint("dp-", i), i), false)))
	}
	go fc.burst(docs, make([]bool, len(docs)))
	for range 2 {
		<-sub.Events()
	}
	synctest.Wait() // the reader waits to hand over block 2's event
	var wg sync.WaitGroup
	shutdown := func() {
		defer wg.Done()
		if err := sub.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	}
	wg.Add(1)
	go shutdown()
	if lateWake {
		synctest.Wait() // Shutdown's wake-up is held
		close(d.hold)
	}
	<-fc.done // the server has read the acks and the client's half-close
	synctest.Wait()
	for range calls - 1 {
		wg.Add(1)
		go shutdown()
		synctest.Wait()
	}
	select {
	case <-sub.Done():
		t.Fatalf("Shutdown closed the connection before the server closed its side (last read: %v)", d.client.lastReadErr())
	default:
	}
	srv.Close() // the server closes its side: the client reads io.EOF
	wg.Wait()
	var acks []uint16
	for id := range fc.acks {
		acks = append(acks, id)
	}
	if !slices.Equal(acks, []uint16{0, 1}) {
		t.Errorf("acks %v, want [0 1]: the blocks whose events were taken, not the block left in the hand-off", acks)
	}
	if err := d.client.lastReadErr(); err != io.EOF {
		t.Errorf("the last read ended with %v, want io.EOF (the server's close)", err)
	}
	if st := sub.Stats(); st.Events != 2 || st.Undelivered != 1 || st.Acks != 2 {
		t.Errorf("stats %+v, want 2 events, 1 undelivered, 2 acks", st)
	}
}
