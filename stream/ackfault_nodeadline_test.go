package stream

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
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

// TestAckFaultWithoutDeadlines: over a connection whose read deadline
// cannot be set, a failed ack write that must interrupt the reader (see
// ackFault) still ends the session, with the write's error, rather than
// leaving the reader waiting for a frame the server never sends.
func TestAckFaultWithoutDeadlines(t *testing.T) {
	sc := newAckScript()
	forModes(t, "", 1, func(t *testing.T, m mode) {
		// The server sends nothing after the block, and keeps the connection.
		d := newScriptDialer(t, sc.block, true)
		var broken atomic.Bool
		d.wrap = func(c net.Conn) net.Conn { return noDeadlineConn{c, &broken} }
		d.loggedIn = func() { broken.Store(true) }
		cfg := leanConfig(d)
		sub := mustSubscribe(t, cfg, m)
		events := consumeInBackground(sub, m)
		endsWithin(t, sub, time.Hour, "its ack write failed")
		if err := sub.Err(); !errors.Is(err, errTunnel) {
			t.Errorf("ended with %v, want the ack write's error", err)
		}
		if n := <-events; n != sc.n {
			t.Errorf("%d events delivered, want %d", n, sc.n)
		}
	})
}

// TestShutdownWithoutDeadlines: Shutdown of a subscription whose
// connection cannot set a read deadline, its reader waiting for a frame
// that does not come, ends the subscription rather than waiting for its
// ctx (here, for good): the wake-up by a past deadline cannot reach that
// read, so the connection is closed at once, as Close does.
func TestShutdownWithoutDeadlines(t *testing.T) {
	sc := newAckScript()
	forModes(t, "", 1, func(t *testing.T, m mode) {
		d := newScriptDialer(t, sc.block, true) // then silent, holding the connection
		var broken atomic.Bool
		d.wrap = func(c net.Conn) net.Conn { return noDeadlineConn{c, &broken} }
		sub := mustSubscribe(t, leanConfig(d), m)
		takeMode(t, sub, m, sc.n)
		synctest.Wait() // the reader waits for the next frame
		done := make(chan error, 1)
		go func() { done <- sub.Shutdown(context.Background()) }()
		select {
		case <-done:
		case <-time.After(time.Hour):
			t.Fatalf("Shutdown still waits an hour later (state %v)", sub.State())
		}
	})
}
