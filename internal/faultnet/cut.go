package faultnet

import (
	"net"
	"time"
)

// How a cut closes the inner conn. The aim is that the peer receives
// exactly the bytes written before the cut and then sees the end the cut
// names (EOF for FIN, ECONNRESET for RST), on real sockets too:
//
//   - A reset (SO_LINGER 0) discards whatever the kernel has not yet
//     delivered, and so does a plain close when received bytes were left
//     unread (the kernel then resets instead of sending FIN). So before
//     closing, the cut waits for the TCP send queue to drain (see
//     waitSendQueue; Linux only, bounded).
//   - For FIN, the socket is first shut down for writing so the FIN goes out
//     behind the data even if the close that follows turns into a reset.

type netConner interface{ NetConn() net.Conn }

// tcpUnder returns the first *net.TCPConn in the chain c, c.NetConn(), …,
// or nil. The walk is bounded in case a NetConn chain loops.
func tcpUnder(c net.Conn) *net.TCPConn {
	for range 16 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case netConner:
			if c = v.NetConn(); c == nil {
				return nil
			}
		default:
			return nil
		}
	}
	return nil
}

// finClose closes c cleanly. ownWrite says the caller holds the Conn's
// write lock, so no Write of ours is in progress on c: only then is
// CloseWrite called on a wrapper such as *tls.Conn (whose CloseWrite waits
// for an in-progress Write); a bare socket's CloseWrite is always safe.
func finClose(c net.Conn, ownWrite bool) {
	type closeWriter interface{ CloseWrite() error }
	switch v := c.(type) {
	case *net.TCPConn, *net.UnixConn:
		_ = v.(closeWriter).CloseWrite()
	case closeWriter:
		if ownWrite {
			_ = v.CloseWrite() // *tls.Conn: close_notify, then TCP FIN
		}
	}
	if tc := tcpUnder(c); tc != nil {
		waitSendQueue(tc)
	}
	_ = c.Close()
}

// resetClose closes c abortively: the TCP conn under it (c itself or found
// through NetConn) is set to linger 0 and closed, so the peer sees RST; then
// c is closed to release its own state. Without a TCP conn, c is just
// closed.
func resetClose(c net.Conn) {
	if tc := tcpUnder(c); tc != nil {
		waitSendQueue(tc)
		if tc.SetLinger(0) == nil {
			_ = tc.Close()
		}
	}
	_ = c.Close()
}

// Bounds for waitSendQueue: it polls every sendQueuePoll and gives up when
// the queue has not shrunk for sendQueueStuck (a peer that stopped reading
// would otherwise hold the cut forever).
const (
	sendQueuePoll  = time.Millisecond
	sendQueueStuck = 200 * time.Millisecond
)

// waitSendQueue waits until the kernel has delivered (and had acknowledged)
// every byte written to tc, or until the queue stops shrinking, or at once
// where the queue size cannot be read (non-Linux).
func waitSendQueue(tc *net.TCPConn) {
	last, ok := sendQueueLen(tc)
	if !ok || last == 0 {
		return
	}
	progress := time.Now()
	for {
		time.Sleep(sendQueuePoll)
		n, ok := sendQueueLen(tc)
		if !ok || n == 0 {
			return
		}
		if n < last {
			last, progress = n, time.Now()
		} else if time.Since(progress) >= sendQueueStuck {
			return
		}
	}
}
