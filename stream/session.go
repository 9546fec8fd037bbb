package stream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

// healthyAfter: a connection that lasted this long counts as healthy (the
// backoff restarts from its initial delay) even if it delivered nothing.
const healthyAfter = 30 * time.Second

// rearmSlack: the frame deadline is re-armed when it was armed more than
// this long ago, so back-to-back frames do not each pay for a timer update.
const rearmSlack = 50 * time.Millisecond

// maxPendingAcks: acks are flushed when this many are pending even if the
// reader has more buffered frames.
const maxPendingAcks = 256

// idleScratch is the largest scratch slice (of events, of blocks) an idle
// session keeps.
const idleScratch = 8

// flushOnWait: acks are flushed before waiting for the consumer when this
// many are pending even if the reader has more buffered frames.
const flushOnWait = 64

// session is one connection: a reader (frames → events → consumer, and
// acks) on the supervisor's goroutine, and flusher goroutines, one at a
// time and only while there are acks the reader must not wait for, run in
// the connection's errgroup and joined before the next attempt. The first
// failure of either ends the connection.
type session struct {
	sub  *Subscription
	conn *burstConn // the connection, read in bursts
	r    *protocol.Reader
	inf  *protocol.Inflater

	armed    bool
	armedAt  time.Time
	evbuf    []Event // scratch (ModeEvents): the events of the block at hand
	splitter envelope.Splitter
	resend   *resend // the check of events the server may send again (see Config.DedupWindow)

	// The Batch being collected (ModeBatches, ModeManualAck).
	blocks    []Block // scratch: its blocks; the Batch gets a copy
	chunk     []byte  // its documents' owned copies are appended here
	docs      int     // document bytes collected
	events    int     // a bounded guess of its events' number
	maxBlocks int
	seq       uint64 // ModeManualAck: blocks collected on this connection
	batchSeq  uint64 // ModeManualAck: seq of the Batch's first block

	// acks
	mu       sync.Mutex
	acks     []byte
	unacked  map[uint16]uint64 // ModeManualAck: seq of the newest block handed over with each id, until acked
	closed   bool
	flushing bool                    // a flusher goroutine runs
	flushers errgroup.Group          // the connection's flushers, joined before the session ends
	ctx      context.Context         // ends with the session; its cause is the session's error
	fail     context.CancelCauseFunc // ends the session with an error (the first one counts)
	stop     func() bool             // stops closing conn when the session's context ends
	start    time.Time
	wmu      sync.Mutex // serialises writeAcks; guards out
	out      []byte
}

// session runs one connection attempt to its end. healthy reports whether
// it delivered a block or lasted healthyAfter.
func (s *Subscription) session(ctx context.Context) (healthy bool, err error) {
	// This function and readLoop are kept small: their frames lie under
	// every read of an idle subscription, and a goroutine whose stack is
	// mostly unused when it blocks gets its stack shrunk by the GC.
	ss, err := s.open(ctx)
	if err != nil {
		return false, err
	}
	s.diag.connectedAt = ss.start
	blocks, err := ss.readLoop(ctx)
	return ss.end(blocks, err)
}

// open connects and sets up a session.
func (s *Subscription) open(ctx context.Context) (*session, error) {
	s.setState(StateConnecting, nil, 0)
	conn, r, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	first := s.countConnect()
	s.setState(StateConnected, nil, 0)
	s.log(slog.LevelInfo, "push connected", "addr", s.cfg.addr())

	ss := &session{
		sub:       s,
		conn:      conn,
		r:         r,
		start:     time.Now(),
		maxBlocks: s.cfg.MaxBatchBlocks,
		// After a reconnect, the server may send again what the consumer
		// already has, first: those events are checked until one is new.
		resend: newResend(!first, false),
	}
	// The reader runs on the supervisor's goroutine, so an idle session
	// is that one goroutine. The first failure (of the reader or of a
	// flusher) is the session's error and closes the connection, which
	// ends the other.
	ss.ctx, ss.fail = context.WithCancelCause(ctx)
	ss.stop = context.AfterFunc(ss.ctx, func() { conn.Close() })
	s.cur.Store(ss)
	return ss, nil
}

// end ends a session whose read loop returned err, and reports whether it
// was healthy (delivered a block or lasted healthyAfter) and its error.
func (ss *session) end(blocks uint64, err error) (bool, error) {
	ss.mu.Lock()
	ss.closed = true // no ack is queued and no flusher starts after this
	ss.unacked = nil
	ss.mu.Unlock()
	if err == errDraining {
		_ = ss.flushers.Wait() // the flusher's write, before the last one
		ss.drainAcks()
	}
	ss.sub.cur.CompareAndSwap(ss, nil)
	ss.fail(err)
	_ = ss.flushers.Wait() // a failed flusher has already made its error the session's
	ss.stop()
	ss.conn.Close()
	ss.conn.drop()
	// A Batch of ModeManualAck keeps its session for Ack (which only finds
	// it closed now): it need not keep the read buffers too.
	ss.r, ss.inf, ss.evbuf, ss.blocks, ss.chunk = nil, nil, nil, nil, nil
	ss.sub.countDisconnect(ss.start, blocks, context.Cause(ss.ctx))
	return blocks > 0 || time.Since(ss.start) >= healthyAfter, context.Cause(ss.ctx)
}

// connect dials, completes TLS, sends the ConnectRequest and checks the
// ConnectResponse, all within HandshakeTimeout.
func (s *Subscription) connect(ctx context.Context) (*burstConn, *protocol.Reader, error) {
	cfg := &s.cfg
	addr := cfg.addr()
	hctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()
	timeout := func(err error) error {
		if ctx.Err() == nil && hctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w after %v (%s): %w", ErrHandshakeTimeout, cfg.HandshakeTimeout, addr, err)
		}
		return err
	}

	s.stats.dials.Add(1)
	raw, err := cfg.Dialer.DialContext(hctx, "tcp", addr)
	if err != nil {
		return nil, nil, timeout(fmt.Errorf("stream: dial %s: %w", addr, err))
	}
	conn := raw
	// Until the handshake completes, cancellation and the handshake
	// timeout close the connection, so no step can block past them.
	stop := context.AfterFunc(hctx, func() { raw.Close() })
	defer stop()
	deadline, _ := hctx.Deadline()
	conn.SetDeadline(deadline)

	if !cfg.Plaintext {
		fb := &firstByteConn{Conn: raw}
		tc := tls.Client(fb, cfg.TLSConfig)
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			err = timeout(fmt.Errorf("stream: TLS handshake with %s: %w", addr, err))
			return nil, nil, diagnoseTLS(err, addr, fb.got.Load(), cfg.HandshakeTimeout)
		}
		conn = tc
	}

	req, err := protocol.AppendConnectRequest(make([]byte, 0, 16+len(cfg.Username)+cfg.Password.Len()), cfg.Username, cfg.Password.Reveal(), cfg.MonitorID)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	_, err = conn.Write(req)
	clear(req) // the password must not linger in memory longer than needed
	if err != nil {
		conn.Close()
		return nil, nil, timeout(fmt.Errorf("stream: sending ConnectRequest to %s: %w", addr, err))
	}

	bc := newBurstConn(conn) // read in bursts once frames flow
	r := protocol.NewReader(countingReader{bc, &s.stats.bytesRead}, protocol.ReaderOptions{
		BufferSize:   cfg.ReadBufferSize,
		MaxFrameSize: cfg.MaxFrameSize,
	})
	read := s.stats.bytesRead.Load()
	f, err := r.ReadFrame()
	if err != nil {
		bc.Close()
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w (closed before the ConnectResponse)", err)
		}
		err = timeout(fmt.Errorf("stream: awaiting ConnectResponse from %s: %w", addr, err))
		return nil, nil, diagnoseReply(err, addr, cfg.Plaintext, s.stats.bytesRead.Load() != read, cfg.HandshakeTimeout)
	}
	if f.Type != protocol.TypeConnectResponse {
		bc.Close()
		return nil, nil, fmt.Errorf("stream: %s sent %s before the ConnectResponse: %w", addr, f.Type, protocol.ErrWrongDirection)
	}
	resp, err := protocol.ParseConnectResponse(f.Payload)
	if err != nil {
		bc.Close()
		return nil, nil, err
	}
	if resp.Status != protocol.StatusOK {
		bc.Close()
		return nil, nil, &ConnectError{Status: resp.Status, Addr: addr}
	}
	if !stop() {
		// The handshake context ended just now and closed the connection.
		return nil, nil, timeout(fmt.Errorf("stream: %s: %w", addr, context.Cause(hctx)))
	}
	bc.SetDeadline(time.Time{})
	return bc, r, nil
}

// countingReader counts bytes read for Stats.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n interface{ Add(uint64) uint64 }
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}

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
			// Blocks collected before a bad frame are still handed over.
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
// the first byte of the next frame.
func (ss *session) awaitFrame() error {
	if err := ss.writeAcks(); err != nil {
		return err
	}
	if ss.armed {
		ss.conn.SetReadDeadline(time.Time{})
		ss.armed = false
	}
	if ss.sub.drained() { // after the deadline change: see Shutdown
		return errDraining
	}
	ss.conn.setIdle(true)
	if cap(ss.evbuf) > idleScratch {
		ss.evbuf = nil // an idle session keeps no large scratch
	}
	if cap(ss.blocks) > idleScratch {
		ss.blocks = nil
	}
	err := ss.r.Await()
	ss.conn.setIdle(false)
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
	if !ss.frameBuffered() {
		if now := time.Now(); !ss.armed || now.Sub(ss.armedAt) > rearmSlack {
			ss.conn.SetReadDeadline(now.Add(s.cfg.FrameTimeout))
			ss.armed, ss.armedAt = true, now
			if s.drained() { // after the deadline change: see Shutdown
				return 0, errDraining
			}
		}
	}
	f, err := ss.r.ReadFrame()
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

func (ss *session) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: no complete frame within %v: %w", ErrFrameTimeout, ss.sub.cfg.FrameTimeout, err)
	}
	if err == io.EOF {
		return fmt.Errorf("stream: server closed the connection: %w", err)
	}
	return err
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
				return ctx.Err() // cancelled while inflating
			}
			// The framing is intact, so the connection can go on. The
			// block can never be decoded: ack it so the server moves on,
			// and report it.
			return ss.skipBlock(ctx, m.DataBlockID, err)
		}
	}
	if err := s.work.Err(); err != nil {
		// Cancelled, or Shutdown began, while the block was read or
		// inflated: do not copy and split a document nobody will get.
		ss.putInflater(inf)
		s.countUndelivered(claimedEvents(m.Count, len(payload)))
		return context.Cause(s.work)
	}
	if s.cfg.Mode != ModeEvents {
		ss.collect(m, payload)
		ss.putInflater(inf) // payload was borrowed from it
		if len(ss.blocks) >= ss.maxBlocks || ss.docs >= maxBatchBytes || !ss.frameBuffered() {
			return ss.handOff(ctx)
		}
		return nil
	}
	// The one copy: the delivered document is owned by the consumer.
	doc := bytes.Clone(payload)
	ss.putInflater(inf) // payload was borrowed from it
	events, res := splitEvents(s.work, &ss.splitter, ss.evbuf[:0], doc, formatOf(m.Format), s.cfg.MonitorID)
	ss.evbuf = events[:0]
	if res.err != nil {
		if s.work.Err() != nil {
			// The split stopped at a check: cancelled, or Shutdown.
			s.countUndelivered(claimedEvents(m.Count, len(doc)))
			return context.Cause(s.work)
		}
		return ss.skipBlock(ctx, m.DataBlockID, res.err)
	}
	s.noteSplit(m.DataBlockID, res)
	return ss.deliverEvents(ctx, m.DataBlockID, events)
}

// skipBlock acks and skips a block whose document can never be delivered
// (it cannot be inflated, or it exceeds a parsing budget), and counts and
// reports it. The blocks collected before it go first, so that the acks
// keep the blocks' order.
func (ss *session) skipBlock(ctx context.Context, id uint16, err error) error {
	if herr := ss.handOff(ctx); herr != nil {
		return herr
	}
	ss.sub.skipped(id, err)
	ss.queueAck(id)
	return nil
}

// skipped counts and reports a block skipped because of err.
func (s *Subscription) skipped(id uint16, err error) {
	s.countBadBlock(err)
	err = fmt.Errorf("stream: block %d skipped: %w", id, err)
	s.log(slog.LevelError, "undecodable block acked and skipped", "err", err)
	s.report(err)
}

// noteSplit counts what a block's split gave besides events: a raw
// document, or invalid events, which it reports.
func (s *Subscription) noteSplit(id uint16, res splitResult) {
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
// by a frame: in the frame reader's buffer and in the burst buffer.
func (ss *session) buffered() int { return ss.r.Buffered() + ss.conn.Buffered() }

// frameBuffered reports whether the next frame is wholly buffered, so that
// reading it cannot block.
func (ss *session) frameBuffered() bool {
	n, ok := ss.r.NextFrameLen()
	return ok && n <= ss.buffered()
}

// collect adds a block to the Batch being collected. doc is the block's
// (inflated) document, borrowed: the one copy made of it is the Batch's.
// Copies go into one chunk sized for what the Batch may still take, so a
// Batch of many small blocks costs one allocation for all its documents.
func (ss *session) collect(m protocol.PublishMessage, doc []byte) {
	if cap(ss.chunk)-len(ss.chunk) < len(doc) {
		// Room for doc and for the blocks already buffered, scaled by
		// doc's inflation ratio, within the Batch's byte limit.
		more := int64(ss.buffered())
		if len(m.Payload) > 0 && len(doc) > len(m.Payload) {
			more = more * int64(len(doc)) / int64(len(m.Payload))
		}
		more = max(0, min(more, int64(maxBatchBytes-ss.docs-len(doc)), maxChunk-int64(len(doc))))
		ss.chunk = make([]byte, 0, len(doc)+int(more))
	}
	if ss.sub.cfg.Mode == ModeManualAck {
		ss.noteBlock(m.DataBlockID)
	}
	start := len(ss.chunk)
	ss.chunk = append(ss.chunk, doc...)
	ss.blocks = append(ss.blocks, Block{
		DataBlockID: m.DataBlockID,
		Format:      m.Format,
		Compression: m.Compression,
		Document:    ss.chunk[start:len(ss.chunk):len(ss.chunk)],
	})
	ss.docs += len(doc)
	// Count is the server's claim: bounded by what the document can hold.
	ss.events += claimedEvents(m.Count, len(doc))
}

// handOff hands the collected blocks, if any, to the consumer as one
// Batch, and in ModeBatches queues their acks.
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
	if s.cfg.Mode == ModeBatches {
		ss.queueAcks(b.Blocks, false)
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
	if s.cfg.Mode == ModeManualAck {
		b.ss, b.seq = ss, ss.batchSeq
		ss.batchSeq = ss.seq
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
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-ss.sub.drain:
		return errDraining
	}
}

// queueAck queues the ack of block id, like queueAcks.
func (ss *session) queueAck(id uint16) error {
	one := [1]Block{{DataBlockID: id}}
	return ss.queueAcks(one[:], false)
}

// queueAcks appends the acks of blocks, in order, to be written at the
// next flush: at once by a flusher with now (Batch.Ack), otherwise when
// maxPendingAcks are pending or the reader is about to wait. It returns
// ErrSessionClosed after the connection has ended.
func (ss *session) queueAcks(blocks []Block, now bool) error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return ErrSessionClosed
	}
	for i := range blocks {
		ss.acks = protocol.AppendAck(ss.acks, blocks[i].DataBlockID)
	}
	if now || len(ss.acks) >= maxPendingAcks*protocol.AckSize {
		ss.signal()
	}
	return nil
}

// noteBlock records a block of ModeManualAck as the newest with its
// DataBlockId: from now on the id names it, and an older un-acked block
// with the same id can no longer be acked (see queueManualAcks).
func (ss *session) noteBlock(id uint16) {
	ss.mu.Lock()
	if ss.unacked == nil {
		ss.unacked = make(map[uint16]uint64)
	}
	ss.unacked[id] = ss.seq
	ss.mu.Unlock()
	ss.seq++
}

// queueManualAcks queues the acks of a ModeManualAck Batch whose first
// block was the connection's block number seq, and starts a flusher. A
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
	if len(ss.acks) > 0 {
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
