package stream

import (
	"context"
	"sync"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

// DefaultMaxBatchBlocks is the most blocks one Batch carries when
// Config.MaxBatchBlocks is 0.
const DefaultMaxBatchBlocks = 256

// maxBatchBytes: a Batch takes no further block once its documents hold
// this many bytes.
const maxBatchBytes = 1 << 20

// maxChunk bounds the chunks that hold a Batch's documents (unless one
// document is larger): 32 KiB is the largest object the Go allocator
// serves from its per-size-class caches.
const maxChunk = 32 << 10

// Batch is what one receive from [BatchSubscription.Batches] carries: one or
// more consecutive blocks of the monitor, in the order the server sent
// them. A Batch holds every block that had arrived complete when the
// previous Batch was taken, up to Config.MaxBatchBlocks blocks; it takes
// no further block once its documents reach 1 MiB (so the last block may
// take it beyond). The library never waits for more. A quiet monitor or a
// stop-and-wait server therefore gives one block per Batch, and a busy
// connection many, so that one hand-off serves them all.
//
// The consumer owns a received Batch and everything in it; it must not
// modify the documents (the events alias them). Events, Duplicates and Ack
// are safe for concurrent use. A Batch must not be copied. A Batch built
// by hand (to test a consumer) works too: Events splits its Blocks, with
// no de-duplication (a block over a parsing budget gives no event), and
// Ack does nothing.
//
// If the consumer keeps any event of a Batch, the memory of the Batch's
// documents stays alive: copy what must outlive the Batch (Event.Body
// included) when the rest is dropped.
type Batch struct {
	// MonitorID is the monitor that delivered the blocks.
	MonitorID uint32
	// Blocks are the blocks as the server sent them, inflated, in order.
	// Their documents are the raw events, replayed duplicates included:
	// de-duplication applies to Events only.
	Blocks []Block

	sub      *subscription
	ss       *session // AckManual: the connection that acks the blocks
	resend   *resend  // its connection's check of events sent again
	seq      uint64   // AckManual: the first block's number on that connection
	split    sync.Once
	events   []Event
	keys     []uint64 // identities of events, for Ack (AckManual)
	ends     []int    // with track: the end in events of each block's events
	track    bool     // set by All before the split: record ends (events, keys, ends may hold scratch)
	dups     int
	ackOnce  sync.Once
	ackErr   error
	eventCap int // a bounded guess of the events' number
}

// Block is one block (one PublishMessage) as the server sent it.
type Block struct {
	// DataBlockID is the block's id on its connection. It is not an event
	// identity: it restarts on every connection and wraps at 0xFFFF.
	DataBlockID uint16
	// Format is the document's format, as the block declared it: FormatJSON
	// or FormatXML. Its zero value, FormatUnknown (a Block built by hand,
	// or a format the library does not know), makes Events tell the format
	// by the document's first byte.
	Format Format
	// Compression is as the block declared it; Document is inflated.
	Compression protocol.Compression
	// Document is the whole (inflated) event document. Read-only.
	Document []byte
}

// Events returns the events of all of the Batch's blocks, in order, without
// the replays of events delivered before (see Duplicates). Documents that
// are not a Document/Msg envelope give one Raw event each. The Bodies alias
// the blocks' documents.
//
// The documents are split when Events (or Duplicates) is first called, on
// the caller's goroutine, so a consumer that needs only the raw documents
// pays nothing for it; later calls return the same slice, which the
// consumer owns.
//
// De-duplication happens at that first call: an event that is checked
// (see Config.DedupWindow) is dropped when its identity is in the
// subscription's window, or when it repeats an earlier event of the
// Batch. With AckOnReceive the window learns the kept events at once, so
// call Events on the batches in the order they arrive; with AckManual it
// learns them at Ack. The counters of Stats (Events, Duplicates, Raw,
// Invalid) count a Batch's events at that first call too, and a document
// over a parsing budget is counted in BadBlocks and reported on States
// then: its block gives no events.
func (b *Batch) Events() []Event {
	b.split.Do(b.splitBlocks)
	return b.events
}

// Duplicates returns how many events of the Batch Events dropped as
// replays of events delivered before. It splits the documents if Events has
// not.
func (b *Batch) Duplicates() int {
	b.split.Do(b.splitBlocks)
	return b.dups
}

// Ack acknowledges the Batch's blocks to the server, for a subscription
// with AckManual. It is safe to call from any goroutine and more than once
// (later calls do nothing and return the first result). It returns
// ErrSessionClosed when the connection that delivered the blocks has ended
// (a persistent monitor will then replay their events), and nil with
// AckOnReceive, where acks are automatic, and for a Batch built by hand.
//
// The window: a block's ack names its DataBlockID, a 16-bit id the server
// gives again after 65 536 blocks. Once the connection has delivered a
// newer block with the same id, an ack would name that block too — which
// the consumer may not have processed — so Ack does not send it and
// returns an error matching ErrAckExpired; the other blocks are acked. So
// ack a Batch before its connection delivers 65 536 more blocks (with the
// usual consecutive ids). The block left un-acked is replayed to a
// persistent monitor after the connection ends, and dropped there as a
// replay of events delivered (the dedup window learns them at this Ack).
// Closing the connection instead would have the server replay every
// un-acked block, up to 65 535 of them, for one late ack.
//
// Ack every Batch, even one whose Events are all duplicates: the server
// may wait for its acks before it sends more. The dedup window learns the
// Batch's events at Ack (splitting the documents if Events has not):
// replays that arrive after the Ack (also one returning ErrSessionClosed)
// are dropped, replays that arrive before it are handed over again, since
// the consumer may not have stored them yet.
func (b *Batch) Ack() error {
	if b.ss == nil {
		return nil
	}
	// Split first, apart: an Observer that panics in the split leaves Ack
	// to be called again, and then it acks.
	b.split.Do(b.splitBlocks)
	b.ackOnce.Do(func() {
		b.sub.dedup.remember(b.keys...)
		b.ackErr = b.ss.queueManualAcks(b.Blocks, b.seq)
	})
	return b.ackErr
}

// splitBlocks splits the documents into events and removes duplicates,
// on the caller's goroutine. A Batch made by the caller (no subscription)
// is only split.
//
// What the split found is counted, logged and told to the Observer last,
// once the Batch is whole: an Observer (or Logger) that panics hands the
// panic to the consumer and leaves a Batch whose Events are all there,
// since the split is not done again (a consumer that recovers must not
// get fewer events, and then ack blocks whose events it never had).
func (b *Batch) splitBlocks() {
	s := b.sub
	evs := b.events[:0] // scratch of All's, or nil
	if cap(evs) < b.eventCap {
		evs = make([]Event, 0, b.eventCap)
	}
	if b.track {
		if cap(b.ends) < len(b.Blocks) {
			b.ends = make([]int, len(b.Blocks))
		}
		b.ends = b.ends[:len(b.Blocks)]
	}
	var sp envelope.Splitter
	var notes []blockNote // the blocks skipped or with invalid events: few
	for i := range b.Blocks {
		blk := &b.Blocks[i]
		var res splitResult
		evs, res = splitEvents(context.Background(), &sp, evs, blk.Document, blk.Format, b.MonitorID)
		if b.ends != nil {
			b.ends[i] = len(evs)
		}
		if s == nil {
			continue
		}
		if res.raw && res.err == nil {
			s.stats.raw.Add(1) // no Observer method
			res.raw = false
		}
		if res.err != nil || res.invalid > 0 {
			notes = append(notes, blockNote{id: blk.DataBlockID, res: res})
		}
	}
	if s == nil {
		b.events = evs
		return
	}
	b.events, b.keys, b.dups = s.dedup.filter(evs, b.resend, s.mode == modeBatches, b.ends, b.keys)
	if s.mode == modeBatches && !b.track {
		b.keys = nil // remembered already; Ack does nothing in this mode
	}
	// The Batch is whole: now the counters, logs, States and Observer,
	// each counted even if an Observer told before it panics.
	defer s.countSplit(b.events, b.dups)
	s.tell(notes)
}

// blockNote is what the split of one block of a Batch found, to be
// reported once the Batch is whole.
type blockNote struct {
	id  uint16
	res splitResult
}

// tell counts and reports notes in order; an Observer (or Logger) that
// panics for one does not keep the next from being counted.
func (s *subscription) tell(notes []blockNote) {
	if len(notes) == 0 {
		return
	}
	defer s.tell(notes[1:])
	if n := notes[0]; n.res.err != nil {
		s.skipped(n.id, n.res.err) // acked with the Batch, as any block
	} else {
		s.noteSplit(n.id, n.res)
	}
}
