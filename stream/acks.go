package stream

import (
	"fmt"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Acks: queued by the reader and by Batch.Ack, written by the reader
// before it waits, or by a short-lived flusher goroutine.

// maxPendingAcks: acks are flushed when this many are pending even if the
// reader has more buffered frames.
const maxPendingAcks = 256

// flushOnWait: acks are flushed before waiting for the consumer when this
// many are pending even if the reader has more buffered frames.
const flushOnWait = 64

// queueAck queues the ack of block id, like queueAcks.
func (ss *session) queueAck(id uint16) error {
	one := [1]Block{{DataBlockID: id}}
	return ss.queueAcks(one[:])
}

// queueAcks appends the acks of blocks, in order, to be written at the
// next flush: by a flusher when maxPendingAcks are pending, otherwise by
// the reader when it is about to wait. It returns ErrSessionClosed after
// the connection has ended.
func (ss *session) queueAcks(blocks []Block) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return ErrSessionClosed
	}
	for i := range blocks {
		ss.acks = protocol.AppendAck(ss.acks, blocks[i].DataBlockID)
	}
	if len(ss.acks) >= maxPendingAcks*protocol.AckSize {
		ss.signal()
	}
	return nil
}

// noteBlocks records the blocks of an AckManual Batch, the first being
// the connection's block number seq, each as the newest with its
// DataBlockId: from now on the id names it, and an older un-acked block
// with the same id can no longer be acked (see queueManualAcks). Blocks
// are noted when handed over, in the connection's order, before the
// consumer can ack them.
func (ss *session) noteBlocks(blocks []Block, seq uint64) {
	ss.mu.Lock()
	if ss.unacked == nil {
		ss.unacked = make(map[uint16]uint64)
	}
	for i := range blocks {
		ss.unacked[blocks[i].DataBlockID] = seq + uint64(i)
	}
	ss.mu.Unlock()
}

// supersede records, in AckManual mode, that DataBlockId id now names a
// block the library acks itself (a skipped one): an un-acked block the
// consumer holds with the same id can no longer be acked, as after
// noteBlocks.
func (ss *session) supersede(id uint16) {
	ss.mu.Lock()
	delete(ss.unacked, id)
	ss.mu.Unlock()
}

// queueManualAcks queues the acks of an AckManual Batch whose first
// block was the connection's block number seq. They are written by the
// reader at its next flush, or, when the reader waits (for a frame or
// for the consumer, see waitOn) or many are pending, by a flusher. A
// block whose DataBlockId the connection has since given to a newer block
// is not acked: that ack would name the newer block too, which the
// consumer may not have processed. It returns ErrSessionClosed after the
// connection has ended, and an error matching ErrAckExpired when a block
// was left un-acked.
func (ss *session) queueManualAcks(blocks []Block, seq uint64) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return ErrSessionClosed
	}
	var expired []uint16
	for i := range blocks {
		id := blocks[i].DataBlockID
		if cur, ok := ss.unacked[id]; !ok || cur != seq+uint64(i) {
			expired = append(expired, id)
			continue
		}
		delete(ss.unacked, id)
		ss.acks = protocol.AppendAck(ss.acks, id)
	}
	if len(ss.acks) > 0 && (ss.waiting || len(ss.acks) >= maxPendingAcks*protocol.AckSize) {
		ss.signal()
	}
	if len(expired) > 0 {
		return fmt.Errorf("%w: %d of the Batch's %d blocks (DataBlockId %d…) left un-acked", ErrAckExpired, len(expired), len(blocks), expired[0])
	}
	return nil
}

// flushBeforeWait flushes for the reader about to wait for the consumer:
// only when no further frame is buffered (the server has sent nothing
// more, so it may be waiting for acks: a stop-and-wait server always is),
// and then the reader writes them itself, or when many acks are pending,
// through a flusher. A consumer that is merely busy for a moment while
// frames keep arriving then costs no write system call; its acks go with
// the next flush. A failed write ends the session, as a flusher's does;
// the block at hand is still handed over.
func (ss *session) flushBeforeWait() {
	if ss.ctx.Err() != nil {
		return // the session has failed: its connection is closed
	}
	if ss.buffered() == 0 {
		if err := ss.writeAcks(); err != nil {
			ss.fail(err)
		}
		return
	}
	ss.mu.Lock()
	if len(ss.acks) >= flushOnWait*protocol.AckSize {
		ss.signal()
	}
	ss.mu.Unlock()
}

// signal starts a flusher unless one runs or the session has ended. The
// caller holds ss.mu.
//
// Acks that pile up while frames are still arriving, and those of
// Batch.Ack, are written by a flusher goroutine rather than by the reader:
// a server that writes a long burst before it reads any ack (over a
// connection without buffering, such as net.Pipe, or once the socket
// buffers are full) would otherwise block the reader's ack write while
// the reader is the one it waits for. A flusher runs only while acks are
// pending, so an idle session has none.
func (ss *session) signal() {
	if ss.flushing || ss.closed {
		return
	}
	ss.flushing = true
	ss.flushers.Go(func() error {
		for {
			if err := ss.writeAcks(); err != nil {
				ss.mu.Lock()
				ss.flushing = false
				ss.mu.Unlock()
				ss.fail(err)
				return err
			}
			ss.mu.Lock()
			if len(ss.acks) == 0 || ss.closed {
				ss.flushing = false
				ss.mu.Unlock()
				return nil
			}
			ss.mu.Unlock()
		}
	})
}

// writeAcks writes the pending acks, if any, in one write. The reader
// calls it itself just before a read that may block and before waiting for
// the consumer with nothing more buffered: the server may be waiting for
// the acks then (a stop-and-wait server always is), and is not writing to
// this connection, so the write neither blocks nor costs a hop to another
// goroutine. Flushers call it for the rest. WriteTimeout bounds it.
func (ss *session) writeAcks() error {
	n := 0
	defer func() { ss.sub.countAcks(n) }() // after wmu is released
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.mu.Lock()
	ss.out, ss.acks = ss.acks, ss.out[:0]
	ss.mu.Unlock()
	if len(ss.out) == 0 {
		return nil
	}
	ss.conn.SetWriteDeadline(time.Now().Add(ss.sub.cfg.WriteTimeout))
	if _, err := ss.conn.Write(ss.out); err != nil {
		return fmt.Errorf("stream: writing acks: %w", err)
	}
	n = len(ss.out) / protocol.AckSize
	return nil
}

// waitOn marks the reader as waiting for the next frame (AckManual): acks
// the consumer queues from then on are written by a flusher, since the
// reader cannot write them. Acks pending before are written first.
func (ss *session) waitOn() error {
	for {
		ss.mu.Lock()
		if len(ss.acks) == 0 {
			ss.waiting = true
			ss.mu.Unlock()
			return nil
		}
		ss.mu.Unlock()
		if err := ss.writeAcks(); err != nil {
			return err
		}
	}
}

// waitOff marks the reader as running again.
func (ss *session) waitOff() {
	ss.mu.Lock()
	ss.waiting = false
	ss.mu.Unlock()
}
