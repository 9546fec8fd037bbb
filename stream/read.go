package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// The read loop: frames in, blocks inflated, split and handed over.

// rearmSlack: the frame deadline is re-armed when it was armed more than
// this long ago, so back-to-back frames do not each pay for a timer update.
const rearmSlack = 50 * time.Millisecond

// idleScratch is the largest scratch slice (of events, of blocks) an idle
// session keeps.
const idleScratch = 8

// readLoop reads blocks and hands them over until the connection fails or
// ctx ends. Hand-off waits on ctx (the subscription's), not on the
// connection's context: a block already received is delivered even if an
// ack write has failed.
func (ss *session) readLoop(ctx context.Context) (blocks uint64, err error) {
	for {
		if ss.buffered() == 0 {
			if err := ss.awaitFrame(); err != nil {
				return blocks, ss.drainErr(err)
			}
		}
		n, err := ss.nextBlock(ctx)
		blocks += n
		if err != nil {
			// The reader's error is the session's (see ackFault), and
			// ends the connection before the blocks collected before the
			// bad frame are still handed over: that hand-off may write
			// acks, which then fail without a wait.
			if err = ss.drainErr(err); err != errDraining {
				ss.fail(err)
			}
			ss.handOff(ctx)
			return blocks, ss.drainErr(err)
		}
	}
}

// drainErr returns errDraining for any error once Shutdown has begun (a
// read it woke, a hand-off it abandoned), so that the session ends
// gracefully.
func (ss *session) drainErr(err error) error {
	if ss.sub.drained() {
		return errDraining
	}
	return err
}

// awaitFrame writes the pending acks and waits, without a deadline, for
// the first byte of the next frame. A failed write is weighed by the
// read (see ackFault).
func (ss *session) awaitFrame() error {
	_ = ss.writeAcks()
	if ss.armed {
		ss.setReadDeadline(time.Time{})
		ss.armed = false
	}
	if ss.sub.drained() { // after the deadline change: see Shutdown
		return errDraining
	}
	ss.burst.idle()
	ss.sub.trailingDue(false)
	if cap(ss.evbuf) > idleScratch {
		ss.evbuf = nil // an idle session keeps no large scratch
	}
	if cap(ss.blocks) > idleScratch {
		ss.blocks = nil
	}
	if ss.sub.mode == modeEvents {
		ss.chunk = nil // handed over, and the rest would keep a chunk alive
	}
	manual := ss.sub.mode == modeManualAck
	if manual {
		ss.waitOn()
	}
	err := ss.r.Await()
	if manual {
		ss.waitOff()
	}
	if err != nil {
		return ss.readErr(err)
	}
	return nil
}

// nextBlock reads one frame, within FrameTimeout, and delivers its block.
// It returns 1 once the frame was a valid PublishMessage.
func (ss *session) nextBlock(ctx context.Context) (uint64, error) {
	s := ss.sub
	// A frame that is wholly buffered is read without touching the
	// connection: it needs no deadline (nor the clock read to arm one).
	partial := !ss.frameBuffered()
	if partial {
		// The read may block, on the rest of a frame the server may
		// not send before it has the acks of the blocks before it: a
		// flusher writes them (not the reader, whose write could wait on
		// a server that is itself blocked writing this frame), and, with
		// AckManual, those the consumer queues meanwhile.
		ss.readOn()
		ss.burst.busy()
		if now := time.Now(); !ss.armed || now.Sub(ss.armedAt) > rearmSlack {
			ss.setReadDeadline(now.Add(s.cfg.FrameTimeout))
			ss.armed, ss.armedAt = true, now
			if s.drained() { // after the deadline change: see Shutdown
				ss.waitOff()
				return 0, errDraining
			}
		}
	}
	f, err := ss.r.ReadFrame()
	if partial {
		ss.waitOff()
	}
	if err != nil {
		return 0, ss.readErr(err)
	}
	if f.Type != protocol.TypePublishMessage {
		return 0, fmt.Errorf("stream: unexpected %s frame after the handshake: %w", f.Type, protocol.ErrWrongDirection)
	}
	m, err := protocol.ParsePublishMessage(f.Payload)
	if err != nil {
		return 0, err
	}
	s.countBlock(len(m.Payload))
	return 1, ss.deliver(ctx, m)
}

// readErr is the reader's error for a failed read: a read interrupted by
// a failed ack write (see ackFault) fails with the write's error, unless
// the frame's own deadline had passed by then too (a write that timed out
// at the very time the frame did, as when WriteTimeout equals
// FrameTimeout and the write began as the frame's read did): the
// reader's own finding wins a tie, whichever goroutine ran first.
func (ss *session) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if werr := ss.ackInterrupt(); werr != nil && !ss.frameExpired() {
			return werr
		}
		return fmt.Errorf("%w: no complete frame within %v: %w", ErrFrameTimeout, ss.sub.cfg.FrameTimeout, err)
	}
	if err == io.EOF {
		return fmt.Errorf("stream: server closed the connection: %w", err)
	}
	return err
}

// frameExpired reports whether a frame deadline is armed and has passed.
func (ss *session) frameExpired() bool {
	return ss.armed && !time.Now().Before(ss.armedAt.Add(ss.sub.cfg.FrameTimeout))
}

// deliver turns one block into events, hands them to the consumer and
// queues its ack.
func (ss *session) deliver(ctx context.Context, m protocol.PublishMessage) error {
	s := ss.sub
	payload := m.Payload
	var inf *protocol.Inflater
	if m.Compression == protocol.CompressionZlib {
		inf = ss.takeInflater()
		var err error
		payload, err = inf.InflateContext(ctx, payload)
		if err != nil {
			ss.putInflater(inf)
			if ctx.Err() != nil {
				// Cancelled while inflating: the block's events, as far as
				// its compressed payload can hold, were not handed over.
				s.countUndelivered(claimedEvents(m.Count, len(m.Payload)))
				return ctx.Err()
			}
			// The framing is intact, so the connection can go on. The
			// block can never be decoded: ack it so the server moves on,
			// and report it.
			return ss.skipBlock(ctx, m.DataBlockID, claimedEvents(m.Count, len(m.Payload)), err)
		}
		if n := inf.Trailing(); n > 0 {
			// Bytes after the end of the zlib stream (a second stream,
			// garbage): the stream's own events are intact and go on,
			// but what follows would otherwise be dropped without a
			// trace.
			s.trailing(m.DataBlockID, n)
		}
	}
	if err := s.work.Err(); err != nil {
		// Cancelled, or Shutdown began, while the block was read or
		// inflated: do not copy and split a document nobody will get.
		ss.putInflater(inf)
		s.countUndelivered(claimedEvents(m.Count, len(payload)))
		return context.Cause(s.work)
	}
	if s.mode != modeEvents {
		ss.collect(m, payload)
		ss.putInflater(inf) // payload was borrowed from it
		if len(ss.blocks) >= ss.maxBlocks || ss.docs >= maxBatchBytes || !ss.frameBuffered() {
			return ss.handOff(ctx)
		}
		return nil
	}
	// The one copy: the delivered document is owned by the consumer. The
	// chunk it shares with the next ones is dropped when the session goes
	// idle.
	doc := ss.own(m, payload, maxChunk)
	ss.putInflater(inf) // payload was borrowed from it
	events, res := splitEvents(s.work, &ss.splitter, ss.evbuf[:0], doc, formatOf(m.Format), s.cfg.MonitorID)
	ss.evbuf = events[:0]
	if res.err != nil {
		if s.work.Err() != nil {
			// The split stopped at a check: cancelled, or Shutdown.
			s.countUndelivered(claimedEvents(m.Count, len(doc)))
			return context.Cause(s.work)
		}
		return ss.skipBlock(ctx, m.DataBlockID, claimedEvents(m.Count, len(doc)), res.err)
	}
	s.noteSplit(m.DataBlockID, res)
	return ss.deliverEvents(ctx, m.DataBlockID, events)
}

// skipBlock acks and skips a block whose document can never be delivered
// (it cannot be inflated, or it exceeds a parsing budget), and counts and
// reports it. The blocks collected before it go first, so that the acks
// keep the blocks' order. When handing them over fails (cancelled, or
// Shutdown), the block is neither acked nor skipped: its claimed events
// count as undelivered, with theirs.
func (ss *session) skipBlock(ctx context.Context, id uint16, claimed int, err error) error {
	if herr := ss.handOff(ctx); herr != nil {
		ss.sub.countUndelivered(claimed)
		return herr
	}
	ss.sub.skipped(id, err)
	if ss.sub.mode == modeManualAck {
		ss.supersede(id)
	}
	ss.queueAck(id)
	return nil
}

// skipped counts and reports a block skipped because of err.
func (s *subscription) skipped(id uint16, err error) {
	s.countBadBlock(err)
	err = fmt.Errorf("stream: block %d skipped: %w", id, err)
	s.log(slog.LevelError, "undecodable block acked and skipped", "err", err)
	s.report(err)
}

// trailingWindow is how often at most a block whose zlib stream is
// followed by more bytes is logged and reported on States: a server that
// pads every block would otherwise flood both. The blocks in between are
// counted (Stats.Trailing, each of them) and summarised once the
// window has passed, or when the subscription ends.
const trailingWindow = time.Minute

// trailing counts n bytes after the end of block id's zlib stream, which
// are ignored (the events of the stream are delivered), and reports them,
// at most once per trailingWindow (see logThrottle): the report says that
// more may have been sent. Called by the reader only.
func (s *subscription) trailing(id uint16, n int) {
	s.countTrailing()
	ok, held := s.trailingLog.admit()
	if !ok {
		s.trailingLast = id
		return
	}
	s.summariseTrailing(held)
	err := fmt.Errorf("stream: block %d: %d byte(s) ignored: %w", id, n, errTrailingData)
	s.log(slog.LevelError, "bytes after a block's zlib stream ignored; its stream's events are delivered", "err", err)
	s.report(err)
}

// trailingDue summarises the blocks with bytes after their zlib stream
// that were not reported, once their window has passed or, final, at the
// end of the subscription. Called by the reader's goroutine only.
func (s *subscription) trailingDue(final bool) {
	if held := s.trailingLog.due(final); held > 0 {
		s.summariseTrailing(held)
	}
}

// summariseTrailing logs and reports held blocks with bytes after their
// zlib stream that were counted and not reported, the last of them
// s.trailingLast.
func (s *subscription) summariseTrailing(held int) {
	if held == 0 {
		return
	}
	err := fmt.Errorf("stream: %d more block(s), the last block %d, with bytes ignored: %w", held, s.trailingLast, errTrailingData)
	s.log(slog.LevelError, "more blocks with bytes after their zlib stream ignored; their streams' events were delivered", "blocks", held, "err", err)
	s.report(err)
}

// noteSplit counts what a block's split gave besides events: a raw
// document, or invalid events, which it reports.
func (s *subscription) noteSplit(id uint16, res splitResult) {
	if res.raw {
		s.stats.raw.Add(1)
	}
	if res.invalid > 0 {
		s.countInvalid(res.invalid, res.first)
		err := fmt.Errorf("stream: block %d: %d invalid event(s) delivered with Event.Err set, the first: %w", id, res.invalid, res.first)
		s.log(slog.LevelWarn, "invalid events delivered flagged", "err", err)
		s.report(err)
	}
}

// deliverEvents hands a block's events over one by one and then queues
// the block's ack.
func (ss *session) deliverEvents(ctx context.Context, id uint16, events []Event) error {
	s := ss.sub
	dups, lost, err := s.dedup.handOver(events, ss.resend, func(ev Event) error { return send(ctx, ss, s.events, ev) })
	s.countHandOver(events, dups, lost)
	clear(events) // drop references to the document
	if err != nil {
		return err
	}
	ss.queueAck(id)
	return nil
}

// buffered returns the bytes read from the connection and not yet taken
// by a frame.
func (ss *session) buffered() int { return ss.r.Buffered() }

// frameBuffered reports whether the next frame is wholly buffered, so that
// reading it cannot block.
func (ss *session) frameBuffered() bool {
	n, ok := ss.r.NextFrameLen()
	return ok && n <= ss.buffered()
}
