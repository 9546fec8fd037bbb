package stream

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

var errTunnel = errors.New("tunnel: broken")

// noDeadlineConn is the client's end of a tunnel that supports no
// deadlines (as an SSH channel's net.Conn) and whose writes fail once
// broken is set, while its reads go on.
type noDeadlineConn struct {
	net.Conn
	broken *atomic.Bool
}

func (c noDeadlineConn) Write(p []byte) (int, error) {
	if c.broken.Load() {
		return 0, errTunnel
	}
	return c.Conn.Write(p)
}

func (noDeadlineConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (noDeadlineConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (noDeadlineConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

type noDeadlineDialer struct {
	pipeDialer
	broken atomic.Bool
}

func (d *noDeadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.pipeDialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return noDeadlineConn{c, &d.broken}, nil
}

// TestAckFaultWithoutDeadlines: over a connection whose read deadline
// cannot be set, a failed ack write that must interrupt the reader (see
// ackFault) still ends the session, with the write's error, rather than
// leaving the reader waiting for a frame the server never sends.
func TestAckFaultWithoutDeadlines(t *testing.T) {
	doc, n := dpDoc("a", "b")
	block := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				d := &noDeadlineDialer{}
				d.serve = func(_ int, c net.Conn) {
					f := newFakeConn(t, c)
					if _, ok := f.login(protocol.StatusOK); !ok {
						return
					}
					d.broken.Store(true)
					c.Write(block)
					<-release // the server sends nothing more, and keeps the connection
				}
				defer d.wg.Wait()
				defer close(release)
				cfg := leanConfig(d)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				sub, err := subscribeMode(ctx, cfg, m)
				if err != nil {
					t.Fatal(err)
				}
				consumed := make(chan int, 1)
				go func() {
					events := 0
					if m == modeEvents {
						for range sub.Events() {
							events++
						}
					} else {
						for b := range sub.Batches() {
							events += len(b.Events())
							if m == modeManualAck {
								b.Ack()
							}
						}
					}
					consumed <- events
				}()
				select {
				case <-sub.Done():
				case <-time.After(time.Hour):
					t.Fatalf("the session still runs an hour after its ack write failed (state %v)", sub.State())
				}
				if err := sub.Err(); !errors.Is(err, errTunnel) {
					t.Errorf("ended with %v, want the ack write's error", err)
				}
				if events := <-consumed; events != n {
					t.Errorf("%d events delivered, want %d", events, n)
				}
			})
		})
	}
}
