package stream

import (
	"sync"
	"sync/atomic"

	"github.com/pushmon/pushmon/protocol"
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

// burst lends a frame Reader a pooled 64 KiB buffer while frames flow, so
// that a stream of small frames costs one read system call per 64 KiB
// instead of one per ReadBufferSize, read straight into the buffer frames
// are parsed from, without making idle sessions larger: the Reader waits
// for the next frame in its own (small) buffer, and takes a burst buffer
// only when a frame that would fit in its own buffer is not wholly
// buffered there; going idle with the burst buffer drained gives it back.
// Larger frames are read as before, into the Reader's body buffer, which
// grows as their bytes arrive in steps of its own buffer's size (a lying
// frame size costs no more than without bursts). A Reader whose own buffer
// is half a burst or more is never lent one.
//
// A burst is used by the session's reader goroutine only.
type burst struct {
	r     *protocol.Reader
	size  int     // the Reader's own buffer size
	own   []byte  // the Reader's own buffer while it reads through buf
	buf   *[]byte // the burst buffer lent to the Reader; nil when none is
	never bool    // the Reader's own buffer is large: no burst buffer
}

// newBurst returns the burst of r, whose own buffer is bufferSize bytes
// (0: protocol.DefaultBufferSize).
func newBurst(r *protocol.Reader, bufferSize int) burst {
	if bufferSize == 0 {
		bufferSize = protocol.DefaultBufferSize
	}
	return burst{r: r, size: bufferSize, never: bufferSize >= burstSize/2}
}

// busy lends the Reader a burst buffer, unless it has one, before a
// ReadFrame that must read from the connection, if the next frame's header
// is buffered and the frame fits in the Reader's own buffer.
func (b *burst) busy() {
	if b.buf != nil || b.never {
		return
	}
	if n, ok := b.r.NextFrameLen(); !ok || n > b.size {
		return
	}
	buf := burstPool.Get().(*[]byte)
	b.own, b.buf = b.r.SetBuffer(*buf), buf
}

// idle gives back the burst buffer, once drained, before the Reader
// waits for the next frame.
func (b *burst) idle() {
	if b.buf != nil && b.r.Buffered() == 0 {
		b.r.SetBuffer(b.own)
		b.release()
	}
}

func (b *burst) release() {
	burstPool.Put(b.buf)
	b.own, b.buf = nil, nil
}

// drop gives the burst buffer back when the connection has ended,
// whatever it still held, and lets go of the Reader, which must not be
// used afterwards: a session outlives its connection while an AckManual
// Batch holds it, and must not keep the Reader's buffers alive then (its
// body buffer may have grown to MaxFrameSize).
func (b *burst) drop() {
	if b.buf != nil {
		b.release()
	}
	b.r = nil
}
