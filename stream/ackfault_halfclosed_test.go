package stream

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
	sc := newAckScript()
	for _, tc := range []struct {
		name   string
		script []byte
	}{{"whole", sc.block}, {"partial", sc.partial}} {
		forModes(t, tc.name+"/", 1, func(t *testing.T, m mode) {
			d := newScriptDialer(t, tc.script, true)
			var shut atomic.Bool
			d.wrap = func(c net.Conn) net.Conn { return readShutConn{c, &shut} }
			d.loggedIn = func() { shut.Store(true) } // shutdown(SHUT_RD): the connection stays open
			cfg := leanConfig(d)
			cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, time.Minute
			sub := mustSubscribe(t, cfg, m)
			events := consumeInBackground(sub, m)
			start := time.Now()
			endsWithin(t, sub, time.Hour, "its ack write failed with EPIPE")
			if took := time.Since(start); took > 2*cfg.WriteTimeout {
				t.Errorf("the session ended %v after its ack write failed, want within 2×WriteTimeout", took)
			}
			if err := sub.Err(); !errors.Is(err, syscall.EPIPE) {
				t.Errorf("ended with %v, want the ack write's EPIPE", err)
			}
			if n := <-events; n != sc.n {
				t.Errorf("%d events delivered, want %d", n, sc.n)
			}
		})
	}
}
