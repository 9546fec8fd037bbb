package stream

import (
	"net"
	"sync"
	"sync/atomic"
)

// burstSize is the size of the pooled buffers a busy connection is read
// through.
const burstSize = 64 << 10

// burstPool holds the burst buffers of connections that have nothing
// buffered: only connections with data in flight hold one.
var burstPool = sync.Pool{New: func() any {
	burstAllocs.Add(1)
	b := make([]byte, burstSize)
	return &b
}}

// burstAllocs counts the burst buffers allocated (pool misses), so that
// tests can tell this shared, pooled cost from a session's own.
var burstAllocs atomic.Uint64

// burstConn reads a connection in bursts of up to 64 KiB while frames are
// flowing, so that a stream of small frames costs one read system call per
// burst instead of one per ReadBufferSize, without making idle sessions
// larger. Reads of less than 32 KiB (the frame reader refilling its buffer
// or reading a body of moderate size) go through the burst buffer; larger
// ones go straight into the caller's buffer, and so does the read that
// awaits the next frame (idle), which may block for a long time: going
// idle with the burst buffer drained gives it back to the pool, so an idle
// session holds none.
//
// Reads are made by the session's reader goroutine only; the embedded
// Conn's other methods (Write, deadlines, Close) may be used concurrently
// as usual.
type burstConn struct {
	net.Conn
	buf  *[]byte // a pooled buffer holding buf[r:w] unread; nil when idle
	r, w int
	err  error // error of the read that filled buf, returned once it is drained
	idle bool  // set by the read loop while it awaits the next frame
}

// newBurstConn returns c reading in bursts.
func newBurstConn(c net.Conn) *burstConn { return &burstConn{Conn: c, idle: true} }

// Buffered returns the number of bytes read from the connection and not yet
// returned.
func (c *burstConn) Buffered() int {
	if c == nil {
		return 0
	}
	return c.w - c.r
}

// setIdle tells whether the next read waits for a new frame (and may block
// for a long time). Going idle returns a drained burst buffer to the pool.
func (c *burstConn) setIdle(idle bool) {
	if c == nil {
		return
	}
	c.idle = idle
	if idle && c.buf != nil && c.r == c.w {
		c.release()
	}
}

func (c *burstConn) Read(p []byte) (int, error) {
	if c.r < c.w {
		n := copy(p, (*c.buf)[c.r:c.w])
		c.r += n
		return n, nil
	}
	if err := c.err; err != nil {
		c.err = nil
		return 0, err
	}
	if c.idle || len(p) >= burstSize/2 {
		return c.Conn.Read(p)
	}
	if c.buf == nil {
		c.buf = burstPool.Get().(*[]byte)
	}
	n, err := c.Conn.Read(*c.buf)
	k := copy(p, (*c.buf)[:n])
	c.r, c.w = k, n
	if k < n {
		c.err = err
		return k, nil
	}
	return k, err
}

func (c *burstConn) release() {
	burstPool.Put(c.buf)
	c.buf, c.r, c.w = nil, 0, 0
}

// drop gives the burst buffer back to the pool when the connection has
// ended, whatever it still held. nil is ignored.
func (c *burstConn) drop() {
	if c != nil && c.buf != nil {
		c.release()
	}
}
