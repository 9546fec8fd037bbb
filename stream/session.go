package stream

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

// A session is one connection attempt: set up (open), run by the read loop
// (read.go), ended (end). Connecting is in connect.go, batch collection in
// collect.go, acks and their flushers in acks.go.

// healthyAfter: a connection that lasted this long counts as healthy (the
// backoff restarts from its initial delay) even if it delivered nothing.
const healthyAfter = 30 * time.Second

// session is one connection: a reader (frames → events → consumer, and
// acks) on the supervisor's goroutine, and flusher goroutines, one at a
// time and only while there are acks the reader must not wait for, run in
// the connection's errgroup and joined before the next attempt. The
// reader's failure ends the connection and is its reason; a failed ack
// write, a flusher's or the reader's, only makes the reader end it: see
// ackFault for which error is the reason then.
type session struct {
	sub   *subscription
	conn  net.Conn
	r     *protocol.Reader
	burst burst // lends r a large buffer while frames flow
	inf   *protocol.Inflater

	armed    bool
	armedAt  time.Time
	evbuf    []Event // scratch (events): the events of the block at hand
	splitter envelope.Splitter
	resend   *resend // the check of events the server may send again (see Config.DedupWindow)

	// The Batch being collected (batches).
	blocks    []Block // scratch: its blocks; the Batch gets a copy
	chunk     []byte  // its documents' owned copies are appended here (events: the blocks')
	docs      int     // document bytes collected
	events    int     // a bounded guess of its events' number
	maxBlocks int
	seq       uint64 // AckManual: blocks collected on this connection
	batchSeq  uint64 // AckManual: seq of the Batch's first block

	// acks
	mu       sync.Mutex
	acks     []byte
	unacked  map[uint16]uint64 // AckManual: seq of the newest block handed over with each id, until acked
	closed   bool
	flushing bool                    // a flusher goroutine runs
	waiting  bool                    // AckManual: the reader waits for a frame or for the consumer
	reading  bool                    // the reader reads the rest of a frame that was not wholly buffered (readOn)
	flushers errgroup.Group          // the connection's flushers, joined before the session ends
	ctx      context.Context         // ends with the session; its cause is the session's error
	fail     context.CancelCauseFunc // ends the session with an error (the first one counts)
	stop     func() bool             // stops closing conn when the session's context ends
	start    time.Time
	wmu      writeLock // serialises writeAcks; guards out and werr
	out      []byte

	// A failed ack write (see ackFault).
	werr       error       // the first; set once
	wfailed    atomic.Bool // werr is set: no flusher starts
	winterrupt atomic.Bool // werr is set and interrupts the reader
	wgrace     *time.Timer // werr is of a closed connection: interrupts the reader unless it met the close (guarded by wmu)
}

// session runs one connection attempt to its end. healthy reports whether
// it delivered a block or lasted healthyAfter, connected whether it got
// past the handshake and login.
func (s *subscription) session(ctx context.Context) (healthy, connected bool, err error) {
	// This function and readLoop are kept small: their frames lie under
	// every read of an idle subscription, and a goroutine whose stack is
	// mostly unused when it blocks gets its stack shrunk by the GC.
	ss, err := s.open(ctx)
	if err != nil {
		return false, false, err
	}
	s.diag.connectedAt = ss.start
	blocks, err := ss.readLoop(ctx)
	healthy, err = ss.end(blocks, err)
	return healthy, true, err
}

// open connects and sets up a session.
func (s *subscription) open(ctx context.Context) (*session, error) {
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
		burst:     newBurst(r, s.cfg.ReadBufferSize),
		start:     time.Now(),
		maxBlocks: s.cfg.MaxBatchBlocks,
		wmu:       make(writeLock, 1),
		// After a reconnect, the server may send again what the consumer
		// already has, first: those events are checked until one is new.
		resend: newResend(!first, false),
	}
	// The reader runs on the supervisor's goroutine, so an idle session
	// is that one goroutine. Its failure is the session's error and
	// closes the connection, which ends a flusher's write; a flusher's
	// failed write is left for the reader to weigh (see ackFault).
	ss.ctx, ss.fail = context.WithCancelCause(ctx)
	// Dropping the connection closes the socket itself: closing a TLS
	// client would first write a close_notify (for up to 5 s, or, behind
	// a CloseWrite stuck on a server that reads nothing, until that write
	// gives up), which would hold Close, a cancel or an expired Shutdown.
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	ss.stop = context.AfterFunc(ss.ctx, func() { raw.Close() })
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
	_ = ss.flushers.Wait() // a failed flusher's error is the reader's to weigh: see ackFault
	ss.wmu.Lock()
	if ss.wgrace != nil {
		ss.wgrace.Stop() // the reader has ended: no read is left to interrupt
	}
	ss.wmu.Unlock()
	ss.stop()
	ss.conn.Close()
	ss.burst.drop()
	// A Batch of AckManual keeps its session for Ack (which only finds
	// it closed now): it need not keep the read buffers too.
	ss.r, ss.inf, ss.evbuf, ss.blocks, ss.chunk = nil, nil, nil, nil, nil
	ss.sub.countDisconnect(ss.start, blocks, context.Cause(ss.ctx))
	return blocks > 0 || time.Since(ss.start) >= healthyAfter, context.Cause(ss.ctx)
}
