package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
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
// the next flush. A failed write, like a flusher's, is recorded for the
// reader to weigh (see ackFault); the block at hand is still handed over.
func (ss *session) flushBeforeWait() {
	if ss.ctx.Err() != nil {
		return // the session has ended: its connection is closed
	}
	if ss.buffered() == 0 {
		_ = ss.writeAcks()
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
// pending, so an idle session has none. A flusher whose write fails
// stops; it does not end the session, the reader does (see ackFault).
func (ss *session) signal() {
	if ss.flushing || ss.closed || ss.wfailed.Load() {
		return
	}
	ss.flushing = true
	ss.flushers.Go(func() error {
		for {
			err := ss.writeAcks()
			ss.mu.Lock()
			if err != nil || len(ss.acks) == 0 || ss.closed || !ss.flusherNeeded() {
				ss.flushing = false
				ss.mu.Unlock()
				return err
			}
			ss.mu.Unlock()
		}
	})
}

// flusherNeeded reports whether the acks pending once a flusher has
// written are still a flusher's to write: the reader is blocked (reading
// the rest of a frame, or, with AckManual, waiting) and cannot write
// them, or many are pending. Otherwise the flusher ends and leaves them to
// the reader's next flush: a flusher that went on writing the acks the
// busy reader kept queueing would chase it with a system call every few
// blocks. The caller holds ss.mu.
func (ss *session) flusherNeeded() bool {
	return ss.waiting || ss.reading || len(ss.acks) >= flushOnWait*protocol.AckSize
}

// writeAcks writes the pending acks, if any, in one write. The reader
// calls it itself just before a read that may block and before waiting for
// the consumer with nothing more buffered: the server may be waiting for
// the acks then (a stop-and-wait server always is), and is not writing to
// this connection, so the write neither blocks nor costs a hop to another
// goroutine. Flushers call it for the rest. WriteTimeout bounds it.
//
// A failed write does not end the session: it is recorded, and the
// reader decides (see ackFault). Once one has failed, writeAcks writes
// nothing more and returns that first error.
func (ss *session) writeAcks() error {
	n := 0
	defer func() { ss.sub.countAcks(n) }() // after wmu is released
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.werr != nil {
		return ss.werr
	}
	ss.mu.Lock()
	ss.out, ss.acks = ss.acks, ss.out[:0]
	ss.mu.Unlock()
	if len(ss.out) == 0 {
		return nil
	}
	ss.conn.SetWriteDeadline(time.Now().Add(ss.sub.cfg.WriteTimeout))
	if _, err := ss.conn.Write(ss.out); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w: the server read no ack within %v: %w", ErrWriteTimeout, ss.sub.cfg.WriteTimeout, err)
		} else {
			err = fmt.Errorf("stream: writing acks: %w", err)
		}
		ss.ackFault(err)
		return ss.werr
	}
	n = len(ss.out) / protocol.AckSize
	return nil
}

// writeLock serialises the writes of acks (Lock, Unlock as a
// sync.Mutex's). It is a channel rather than a sync.Mutex because it is
// held across a write that may block until WriteTimeout: a goroutine that
// waits for it is then durably blocked for testing/synctest, whose fake
// clock does not advance (to that write's deadline) while a goroutine
// waits on a sync.Mutex.
type writeLock chan struct{}

func (l writeLock) Lock()   { l <- struct{}{} }
func (l writeLock) Unlock() { <-l }

// ackFault records err, a failed ack write, as the session's write
// error; the caller holds wmu and has found none recorded before. It
// implements the rule for which error ends a session when an ack write
// fails.
//
// A failed ack write, a flusher's or the reader's own, does not end the
// session by itself, nor close the connection: the first one is recorded
// (no ack is written after it), and the reader, the one goroutine that
// decides the session's reason, goes on with the bytes it holds:
//
//   - When the write failed because the connection is closed (a reset, a
//     broken pipe, a closed pipe: see connClosed), the write's error is a
//     consequence of that close, and the reader meets the close itself:
//     it reads what the server sent before it, and the first error it
//     finds there is the reason (a bad frame, a frame cut short, the
//     server's close, the reset). The write's error is not used, unless
//     the reader has not met the close within WriteTimeout (see below).
//   - Otherwise (the write timed out: a server that is there but reads no
//     acks) the reader's reads are interrupted at once (see
//     setReadDeadline), and the write's error is the reason when that
//     interruption is all the reader has to report; an error it finds
//     first, in bytes it already holds, wins. (So does a FrameTimeout
//     that expired before the write failed, or as it did: the reader's
//     own finding, see readErr.)
//
// So the reason follows from the bytes received and from how the write
// failed, never from which goroutine wrote the acks, nor from the order in
// which the write failed and the reader read: the Events and the Batches
// API end a session on the same bytes with the same error. A write failure
// the platform reports in a form connClosed does not know counts as the
// second kind: the session still ends at once, with the write's error.
//
// A closed write side is not always a closed read side: a peer that shut
// down only its read side (shutdown(SHUT_RD) on a Unix socket a Dialer
// dialed, a relay that stopped forwarding one way) fails the write with
// EPIPE and may keep the connection open, sending nothing. So the reader
// is given WriteTimeout to meet the close; a reader that has not met it
// then (it waits for a frame the server never sends) is interrupted as
// after a timed-out write, and the write's error is the reason.
func (ss *session) ackFault(err error) {
	ss.werr = err
	ss.wfailed.Store(true) // no flusher starts after this
	if !connClosed(err) {
		ss.interrupt()
		return
	}
	ss.wgrace = time.AfterFunc(ss.sub.cfg.WriteTimeout, ss.interrupt) // stopped by end
}

// interrupt makes the reader's reads fail at once, with the write's error
// (see ackInterrupt). werr is set. A connection whose read deadline
// cannot be set (a tunnel without deadlines) is closed instead, with the
// write's error as the session's: nothing else would end a read that
// waits for a frame the server never sends.
func (ss *session) interrupt() {
	ss.winterrupt.Store(true)
	if ss.conn.SetReadDeadline(interrupted) != nil { // after winterrupt: see setReadDeadline
		ss.fail(ss.werr)
	}
}

// connClosed reports whether a failed write's err says the connection is
// closed, by the peer (a reset, a broken pipe, a net.Pipe's other end) or
// by this side, so that the reader's reads end too, at once, with what is
// left to read.
func connClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

// ackInterrupt returns the error of a failed ack write that interrupts
// the reader, or nil. Only the reader calls it: werr is written once,
// before winterrupt is set (by ackFault, or by the wgrace timer it
// started).
func (ss *session) ackInterrupt() error {
	if !ss.winterrupt.Load() {
		return nil
	}
	return ss.werr
}

// interrupted is a read deadline in the past: the reader's read returns
// os.ErrDeadlineExceeded at once.
var interrupted = time.Unix(1, 0)

// setReadDeadline sets the reader's read deadline to t, or keeps it in
// the past once an ack write has interrupted the reader. It sets t first
// and then checks, while ackFault sets the flag first and then the past
// deadline: a reader that misses the flag has set t before that, so no
// interruption is lost.
func (ss *session) setReadDeadline(t time.Time) {
	ss.conn.SetReadDeadline(t)
	if ss.winterrupt.Load() {
		ss.conn.SetReadDeadline(interrupted)
	}
}

// waitOn marks the reader as waiting for the next frame (AckManual): acks
// the consumer queues from then on are written by a flusher, since the
// reader cannot write them. Acks pending before are written first; when
// that fails, the failure is the reader's to weigh (see ackFault).
func (ss *session) waitOn() {
	for {
		ss.mu.Lock()
		if len(ss.acks) == 0 {
			ss.waiting = true
			ss.mu.Unlock()
			return
		}
		ss.mu.Unlock()
		if ss.writeAcks() != nil {
			return
		}
	}
}

// readOn marks the reader as about to read the rest of a frame that is
// not wholly buffered, a read that may block: pending acks are written by
// a flusher, which goes on until waitOff (the reader calls it after the
// read) with those queued meanwhile: with AckManual, the consumer's.
func (ss *session) readOn() {
	ss.mu.Lock()
	ss.reading = true
	if ss.sub.mode == modeManualAck {
		ss.waiting = true
	}
	if len(ss.acks) > 0 {
		ss.signal()
	}
	ss.mu.Unlock()
}

// waitOff marks the reader as running again.
func (ss *session) waitOff() {
	ss.mu.Lock()
	ss.waiting, ss.reading = false, false
	ss.mu.Unlock()
}
