package stream

import (
	"context"
	"slices"

	"github.com/pushmon/pushmon/protocol"
)

// Batch collection: the blocks of the batch being collected, and their
// hand-off to the consumer.

// own returns a copy of doc, the (inflated) document of block m, that the
// consumer owns: the one copy made of it. Copies go into one chunk sized
// for what may follow (the bytes already buffered, scaled by doc's
// inflation ratio, within limit bytes and maxChunk), so that many small
// documents cost one allocation.
func (ss *session) own(m protocol.PublishMessage, doc []byte, limit int) []byte {
	if cap(ss.chunk)-len(ss.chunk) < len(doc) {
		more := int64(ss.buffered())
		if len(m.Payload) > 0 && len(doc) > len(m.Payload) {
			more = more * int64(len(doc)) / int64(len(m.Payload))
		}
		more = max(0, min(more, int64(limit-len(doc)), maxChunk-int64(len(doc))))
		ss.chunk = make([]byte, 0, len(doc)+int(more))
	}
	start := len(ss.chunk)
	ss.chunk = append(ss.chunk, doc...)
	return ss.chunk[start:len(ss.chunk):len(ss.chunk)]
}

// collect adds a block to the Batch being collected. doc is the block's
// (inflated) document, borrowed: the one copy made of it is the Batch's,
// in a chunk sized for what the Batch may still take (see own), so a
// Batch of many small blocks costs one allocation for all its documents.
func (ss *session) collect(m protocol.PublishMessage, doc []byte) {
	if ss.sub.mode == modeManualAck {
		ss.seq++ // noted with its Batch (noteBlocks)
	}
	ss.blocks = append(ss.blocks, Block{
		DataBlockID: m.DataBlockID,
		Format:      formatOf(m.Format),
		Compression: m.Compression,
		Document:    ss.own(m, doc, maxBatchBytes-ss.docs),
	})
	ss.docs += len(doc)
	// Count is the server's claim: bounded by what the document can hold.
	ss.events += claimedEvents(m.Count, len(doc))
}

// handOff hands the collected blocks, if any, to the consumer as one
// Batch, and with AckOnReceive queues their acks.
func (ss *session) handOff(ctx context.Context) error {
	if len(ss.blocks) == 0 {
		return nil
	}
	s := ss.sub
	b := ss.takeBatch()
	err := ctx.Err()
	if err == nil {
		err = send(ctx, ss, s.batches, b)
	}
	if err != nil {
		// Counted without splitting the documents (which may be large) on
		// the library's goroutine: the blocks' claims, bounded.
		s.countUndelivered(b.eventCap)
		return err
	}
	if s.mode == modeBatches {
		ss.queueAcks(b.Blocks)
	}
	return nil
}

// takeBatch returns a new Batch of the collected blocks and starts the
// next. A single block shares the Batch's allocation.
func (ss *session) takeBatch() *Batch {
	s := ss.sub
	var b *Batch
	if len(ss.blocks) == 1 {
		bx := &struct {
			b   Batch
			blk [1]Block
		}{}
		bx.blk[0] = ss.blocks[0]
		bx.b.Blocks = bx.blk[:]
		b = &bx.b
	} else {
		b = &Batch{Blocks: slices.Clone(ss.blocks)}
	}
	b.MonitorID = s.cfg.MonitorID
	b.sub = s
	b.eventCap = ss.events
	b.resend = ss.resend
	if s.mode == modeManualAck {
		b.ss, b.seq = ss, ss.batchSeq
		ss.batchSeq = ss.seq
		ss.noteBlocks(b.Blocks, b.seq)
	}
	clear(ss.blocks) // drop the scratch's references to the documents
	ss.blocks = ss.blocks[:0]
	ss.chunk, ss.docs, ss.events = nil, 0, 0
	return b
}

// send hands v to the consumer. Before blocking it flushes pending acks
// when the server may be waiting for them (see flushBeforeWait), so a
// stop-and-wait server is never kept waiting by a slow consumer.
func send[T any](ctx context.Context, ss *session, ch chan T, v T) error {
	select {
	case ch <- v:
		return nil
	default:
	}
	ss.flushBeforeWait()
	if ss.sub.mode == modeManualAck {
		ss.mu.Lock()
		ss.waiting = true
		if len(ss.acks) > 0 {
			ss.signal() // the consumer's, which the server may wait for
		}
		ss.mu.Unlock()
		defer ss.waitOff()
	}
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-ss.sub.drain:
		return errDraining
	}
}
