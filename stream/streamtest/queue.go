package streamtest

import "time"

// qitem is one (monitor, event) delivery waiting in a monitor's queue or
// held in an un-acked block. The rendered event is shared by every monitor
// it was routed to and is immutable once built.
type qitem struct {
	ev     *rendered
	at     time.Time // when it entered the queue; starts the batch timer
	replay bool      // send with replay=true
}

// queue is a double-ended ring buffer of qitems: O(1) amortised push at
// the back, pop at the front, and bulk push at the front (un-acked events
// returned after a disconnect). It shrinks when mostly empty, so a drained
// backlog of a million events does not pin its memory.
type queue struct {
	buf  []qitem // len(buf) is 0 or a power of two
	head int
	n    int
}

func (q *queue) Len() int { return q.n }

// resize moves the contents into a new buffer of capacity c (a power of
// two, ≥ q.n).
func (q *queue) resize(c int) {
	nb := make([]qitem, c)
	if q.n > 0 {
		k := copy(nb, q.buf[q.head:min(q.head+q.n, len(q.buf))])
		copy(nb[k:], q.buf[:q.n-k])
	}
	q.buf, q.head = nb, 0
}

func (q *queue) reserve(extra int) {
	need := q.n + extra
	if need <= len(q.buf) {
		return
	}
	c := max(len(q.buf), 16)
	for c < need {
		c *= 2
	}
	q.resize(c)
}

// PushBack appends it at the back.
func (q *queue) PushBack(it qitem) {
	q.reserve(1)
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = it
	q.n++
}

// PushFront puts items before the current front, keeping their order:
// items[0] becomes the new front.
func (q *queue) PushFront(items []qitem) {
	if len(items) == 0 {
		return
	}
	q.reserve(len(items))
	mask := len(q.buf) - 1
	q.head = (q.head - len(items)) & mask
	for i, it := range items {
		q.buf[(q.head+i)&mask] = it
	}
	q.n += len(items)
}

// Front returns the front item; the queue must not be empty.
func (q *queue) Front() *qitem { return &q.buf[q.head] }

// PopFront removes and returns the front item; the queue must not be empty.
func (q *queue) PopFront() qitem {
	it := q.buf[q.head]
	q.buf[q.head] = qitem{}
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	if c := len(q.buf); c > 1024 && q.n < c/4 {
		q.resize(c / 2)
	}
	return it
}

// MarkReplay sets replay on every queued item.
func (q *queue) MarkReplay() {
	mask := len(q.buf) - 1
	for i := range q.n {
		q.buf[(q.head+i)&mask].replay = true
	}
}

// Clear drops every item and releases the buffer.
func (q *queue) Clear() { *q = queue{} }
