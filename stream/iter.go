package stream

import (
	"errors"
	"iter"
	"sync"
)

// BatchSubscription.All: events yielded from batches on the consumer's
// goroutine, acked block by block as the loop body finishes them.

// errAllBusy is yielded by All when another loop over it is running.
var errAllBusy = errors.New("stream: another loop is ranging over this BatchSubscription's All")

// scratchPool holds the slices All splits Batches into: the loop yields
// copies of the events, so the slices serve Batch after Batch, and an idle
// subscription keeps none.
var scratchPool = sync.Pool{New: func() any { return new(iterScratch) }}

type iterScratch struct {
	events []Event
	keys   []uint64
	ends   []int
}

// maxScratch is the largest scratch (in events) given back to the pool.
const maxScratch = 4096

// iterState is where All's loops stand: the Batch being yielded, the next
// event and how many of its blocks are acked. The running loop holds mu.
type iterState struct {
	mu    sync.Mutex
	b     *Batch
	sc    *iterScratch // b's slices, back to scratchPool once b is done
	next  int          // index in b.events of the next event to yield
	acked int          // blocks of b acked so far (AckManual)
}

// All returns an iterator over the subscription's events, in the order the
// server sent them: each Batch's events (as Batch.Events gives them, replays
// dropped) yielded one by one on the caller's goroutine, with no channel
// hand-off per event. When the subscription ends the loop ends, after
// yielding (Event{}, Err()) if Err is not nil; an error is never yielded
// with an event (an invalid event carries its own Event.Err).
//
// With AckManual, a block is acked only after the loop body has returned
// for its last event: a Batch's blocks once the body has returned for the
// Batch's last event (so one write acks them all), or, when the loop
// breaks, the blocks finished before the event it broke on (a block
// without events, all replays or skipped, counts as finished once an
// event after it was yielded). With AckOnReceive, a block is acked as soon
// as All has received the Batch holding it, before its events are yielded.
//
// Breaking out of the loop leaves the rest of the Batch at hand: the next
// loop over All yields the event the body broke on again and goes on from
// there, so nothing is skipped. With AckManual the block of that event is
// un-acked, with the blocks after it; a block is acked once that loop
// finishes it. A panic in the body (or in an Observer called by the
// split) leaves the Batch at hand too, and acks none of its blocks. If no loop does
// (Close, Shutdown), the block is never acked: a persistent monitor sends
// it again, the events yielded before the break included, on the next
// connection; a monitor that is not persistent considers it delivered.
// With AckOnReceive the Batch's blocks were acked when All received it:
// events of it not yet yielded when no loop follows are lost.
//
// One loop at a time: a loop started while another runs yields only an
// error. Do not receive from Batches while using All: each Batch goes to
// one of them.
func (s *BatchSubscription) All() iter.Seq2[Event, error] { return s.all }

func (s *BatchSubscription) all(yield func(Event, error) bool) {
	it := &s.it
	if !it.mu.TryLock() {
		yield(Event{}, errAllBusy)
		return
	}
	defer it.mu.Unlock()
	for {
		if it.b == nil {
			b, ok := <-s.batches
			if !ok {
				if err := s.Err(); err != nil {
					yield(Event{}, err)
				}
				return
			}
			sc := scratchPool.Get().(*iterScratch)
			b.track, b.events, b.keys, b.ends = true, sc.events, sc.keys, sc.ends
			// At hand before the split: an Observer that panics in it
			// leaves the Batch, whole (see splitBlocks), to the next loop.
			it.b, it.sc, it.next, it.acked = b, sc, 0, 0
			b.split.Do(b.splitBlocks)
		}
		b := it.b
		for it.next < len(b.events) {
			if !yield(b.events[it.next], nil) {
				it.ack(s, it.next)
				return
			}
			it.next++
		}
		it.ack(s, it.next)
		it.b = nil
		if cap(b.events) <= maxScratch {
			clear(b.events) // drop the references to the documents
			it.sc.events, it.sc.keys, it.sc.ends = b.events[:0], b.keys[:0], b.ends[:0]
			scratchPool.Put(it.sc)
		}
		it.sc = nil
	}
}

// ack acks (AckManual) the blocks of the Batch at hand whose events all
// lie before index done of its events, and the window learns their
// events' identities, as Batch.Ack does for a whole Batch. With done past
// the last event, every block is acked.
func (it *iterState) ack(s *BatchSubscription, done int) {
	b := it.b
	if b.ss == nil {
		return
	}
	n := it.acked
	if done >= len(b.events) {
		n = len(b.Blocks)
	} else {
		for n < len(b.Blocks) && b.ends[n] <= done {
			n++
		}
	}
	if n == it.acked {
		return
	}
	from, to := 0, b.ends[n-1]
	if it.acked > 0 {
		from = b.ends[it.acked-1]
	}
	if b.keys != nil {
		s.dedup.remember(b.keys[from:to]...)
	}
	err := b.ss.queueManualAcks(b.Blocks[it.acked:n], b.seq+uint64(it.acked))
	it.acked = n
	if err != nil && !errors.Is(err, ErrSessionClosed) {
		s.report(err)
	}
}
