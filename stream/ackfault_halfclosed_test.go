package stream

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// readShutConn is the client's end of a connection whose peer can shut
// down its read side only, as shutdown(SHUT_RD) does on a Unix socket (a
// Dialer may dial one, to a local relay): the client's writes then fail
// with EPIPE, while the peer may still send, and the client's reads go on.
type readShutConn struct {
	net.Conn
	shut *atomic.Bool
}

func (c readShutConn) Write(p []byte) (int, error) {
	if c.shut.Load() {
		return 0, &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", syscall.EPIPE)}
	}
	return c.Conn.Write(p)
}

// readShutDialer dials net.Pipe connections whose server end, serve, may
// shut down its read side through shut.
type readShutDialer struct {
	pipeDialer
	shut atomic.Bool
}

func (d *readShutDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.pipeDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return readShutConn{c, &d.shut}, nil
}

// TestAckFaultPeerReadShut: an ack write that fails with EPIPE because
// the server shut down its read side only, and not its write side, must
// still end the session, in a bounded time, with the write's error. The
// EPIPE is no sign that the reader's own reads will end: a reader waiting
// (without a deadline) for the next frame of a server that keeps the
// connection open, sending nothing and reading nothing, would wait
// forever, the subscription stuck connected with its acks unwritable;
// one waiting for the rest of a frame would end only at FrameTimeout, and
// then with ErrFrameTimeout rather than the write's error.
func TestAckFaultPeerReadShut(t *testing.T) {
	doc, n := dpDoc("a", "b")
	block := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	next := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	partial := append(append([]byte(nil), block...), next[:3]...)
	for _, tc := range []struct {
		name   string
		script []byte
	}{{"whole", block}, {"partial", partial}} {
		for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					release := make(chan struct{})
					d := &readShutDialer{}
					d.serve = func(_ int, c net.Conn) {
						f := newFakeConn(t, c)
						if _, ok := f.login(protocol.StatusOK); !ok {
							return
						}
						d.shut.Store(true) // shutdown(SHUT_RD): the connection stays open
						c.Write(tc.script)
						<-release
					}
					defer d.wg.Wait()
					defer close(release)
					cfg := leanConfig(d)
					cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, time.Minute
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					sub, err := subscribeMode(ctx, cfg, m)
					if err != nil {
						t.Fatal(err)
					}
					events := 0
					consumed := make(chan struct{})
					go func() {
						defer close(consumed)
						if m == modeEvents {
							for range sub.Events() {
								events++
							}
							return
						}
						for b := range sub.Batches() {
							events += len(b.Events())
							if m == modeManualAck {
								b.Ack()
							}
						}
					}()
					start := time.Now()
					select {
					case <-sub.Done():
					case <-time.After(time.Hour):
						t.Fatalf("the session still runs an hour after its ack write failed with EPIPE (state %v)", sub.State())
					}
					if took := time.Since(start); took > 2*cfg.WriteTimeout {
						t.Errorf("the session ended %v after its ack write failed, want within 2×WriteTimeout", took)
					}
					if err := sub.Err(); !errors.Is(err, syscall.EPIPE) {
						t.Errorf("ended with %v, want the ack write's EPIPE", err)
					}
					<-consumed
					if events != n {
						t.Errorf("%d events delivered, want %d", events, n)
					}
				})
			})
		}
	}
}
