package stream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// State is a Subscription's connection state.
type State int32

// States, in the order a subscription normally goes through them.
const (
	StateConnecting State = iota // dialling, TLS handshake, awaiting ConnectResponse
	StateConnected               // ConnectResponse 200 received, reading blocks
	StateBackoff                 // waiting before the next attempt after a transient error
	StateStopped                 // ended: context cancelled, Close called, or a permanent error
)

func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateBackoff:
		return "backoff"
	case StateStopped:
		return "stopped"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// StateChange reports a transition. Err is the error that caused a
// backoff or a stop, or, with StateConnected, a non-fatal problem with a
// block received while connected: a block skipped because it could not be
// inflated or its document exceeds a parsing budget (matching
// ErrDocumentLimit), or invalid events delivered with Event.Err set
// (matching ErrInvalidEvent). For a BatchSubscription the last two are
// found, and reported, when Batch.Events (or BatchSubscription.All) splits
// the documents.
// Wait is the backoff delay.
type StateChange struct {
	State State
	Err   error
	Wait  time.Duration
	At    time.Time
}

// Stats are a subscription's counters since it was started.
//
// For a BatchSubscription, Events, Duplicates, Raw, Invalid and the
// BadBlocks over a budget count a Batch's events when Batch.Events (or
// Duplicates, or Ack, or BatchSubscription.All) first splits them: a
// consumer that only reads Block.Document leaves them at 0.
type Stats struct {
	Dials       uint64 // connection attempts
	Connects    uint64 // ConnectResponse 200 received
	Resets      uint64 // connections that ended with a transient error
	Blocks      uint64 // PublishMessages received
	Events      uint64 // events handed to the consumer
	Duplicates  uint64 // replayed events dropped by dedup
	Acks        uint64 // acks written to the socket
	Undelivered uint64 // events received but never handed over because the subscription ended (a block received before its connection closed is still handed over); for a block not split, its Count, at least 1 and at most one per 16 bytes of its document (of its compressed payload when it was not inflated: cut short, or undecodable and not yet skipped)
	BadBlocks   uint64 // blocks acked and skipped because they could not be inflated or their document exceeds a parsing budget
	Raw         uint64 // documents received raw (template output or not an envelope), counted when split, before the hand-off
	Invalid     uint64 // events with Event.Err set, counted when split, before the hand-off (in Events too once handed over)
	BytesRead   uint64 // frame bytes received, headers included
	Trailing    uint64 // blocks whose zlib stream was followed by more bytes, which were ignored (the stream's events delivered): every one, although at most one a minute is logged and reported on States, the others in a summary
}

type counters struct {
	dials, connects, resets, blocks, events, duplicates, acks, undelivered, badBlocks, raw, invalid, bytesRead, trailing atomic.Uint64
}

// add counts the outcome of handing n events over: dups skipped, lost not
// handed over, the rest delivered.
func (c *counters) add(n, dups, lost int) {
	if delivered := n - dups - lost; delivered > 0 {
		c.events.Add(uint64(delivered))
	}
	if dups > 0 {
		c.duplicates.Add(uint64(dups))
	}
	if lost > 0 {
		c.undelivered.Add(uint64(lost))
	}
}

// mode is how a subscription hands blocks over and when it acks them: the
// type that Subscribe or SubscribeBatches returns says which.
type mode uint8

const (
	modeEvents    mode = iota // Subscribe: single events, a block acked once its last event is received
	modeBatches               // SubscribeBatches, AckOnReceive
	modeManualAck             // SubscribeBatches, AckManual
)

func (m mode) String() string {
	switch m {
	case modeEvents:
		return "events"
	case modeBatches:
		return "batches"
	}
	return "manual-ack"
}

// subscription is one monitor's push session, reconnecting on transient
// failures until its context ends, Close is called or a permanent error
// occurs: the common part of [Subscription] and [BatchSubscription], whose
// methods it provides.
type subscription struct {
	cfg     Config
	mode    mode
	events  chan Event // where events are sent: own, or a Group's channel
	own     chan Event // the channel Events returns, closed at the end
	batches chan *Batch
	states  chan StateChange
	done    chan struct{}
	cancel  context.CancelFunc
	errMu   sync.Mutex
	err     error // set before the channels are closed
	state   atomic.Int32
	stats   counters
	obs     observer        // Config.Observer, told where stats count (count.go)
	logCtx  context.Context // Subscribe's context without its cancellation: what logs carry

	dedup *dedup // nil when disabled

	// work is the context of the work on a block (its split): it ends
	// with the subscription's context or when Shutdown begins.
	work     context.Context
	stopWork context.CancelFunc

	statesMu     sync.Mutex // orders report's sends before the close of states
	statesClosed bool

	diag diagnosis // the supervisor's memory of past attempts

	// Blocks with bytes after their zlib stream: how often they are
	// logged and reported, and the last one held back (the reader's).
	trailingLog  logThrottle
	trailingLast uint16

	// Shutdown
	drain     chan struct{} // closed when Shutdown begins
	woken     chan struct{} // closed when Shutdown has woken the reader (see drainAcks)
	drainOnce sync.Once
	draining  atomic.Bool
	cur       atomic.Pointer[session] // the connected session, if any
}

// start validates cfg and starts s in mode m in the background. Events go
// on out, when not nil, instead of the subscription's own channel (a
// Group member).
func (s *subscription) start(ctx context.Context, cfg Config, m mode, out chan Event) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	// The policy is made here, on the caller's goroutine: a NewBackOff
	// that returns nil is an invalid Config, not a panic of the
	// supervisor's goroutine, which would end the program.
	bo := cfg.NewBackOff()
	if bo == nil {
		return invalidConfig("NewBackOff returned nil")
	}
	bo.Reset()
	ctx, cancel := context.WithCancel(ctx)
	*s = subscription{
		cfg:    cfg,
		mode:   m,
		states: make(chan StateChange, 16),
		done:   make(chan struct{}),
		cancel: cancel,
		dedup:  newDedup(cfg.DedupWindow),
		drain:  make(chan struct{}),
		woken:  make(chan struct{}),
		obs:    newObserver(cfg.Observer, cfg.MonitorID, "tcp"),
		logCtx: context.WithoutCancel(ctx),
	}
	s.trailingLog.window = trailingWindow
	s.work, s.stopWork = context.WithCancel(ctx)
	// Unbuffered: a send completes only when the consumer has received the
	// value, which is what makes "acked after hand-off" true.
	if m == modeEvents {
		s.own = make(chan Event)
		s.events = s.own
		if out != nil {
			s.events = out
		}
	} else {
		s.batches = make(chan *Batch)
	}
	go s.run(ctx, bo)
	return nil
}

// States returns a channel of state changes. Sends never block: when the
// consumer lags, changes are dropped (State always tells the current one).
// It is closed when the subscription ends.
func (s *subscription) States() <-chan StateChange { return s.states }

// State returns the current state.
func (s *subscription) State() State { return State(s.state.Load()) }

// Done returns a channel closed when the subscription has ended and all
// its goroutines have returned.
func (s *subscription) Done() <-chan struct{} { return s.done }

// Err returns the permanent error that ended the subscription, or nil if
// it was ended by its context, Close or Shutdown, or has not ended yet. It
// is set before the channels are closed, so it may be read as soon as a
// range over Events or Batches ends.
func (s *subscription) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Close ends the subscription at once and waits until its goroutines
// have returned and its channels are closed. It returns Err(). Close may
// be called any number of times from any goroutine. Acks queued but not
// yet written are lost (the server replays their blocks); Shutdown writes
// them first.
func (s *subscription) Close() error {
	s.cancel()
	<-s.done
	return s.Err()
}

// delivered is the number of events handed over, for a Group's status.
func (s *subscription) delivered() uint64 { return s.stats.events.Load() }

// Stats returns a snapshot of the counters.
func (s *subscription) Stats() Stats {
	c := &s.stats
	return Stats{
		Dials: c.dials.Load(), Connects: c.connects.Load(), Resets: c.resets.Load(),
		Blocks: c.blocks.Load(), Events: c.events.Load(), Duplicates: c.duplicates.Load(),
		Acks: c.acks.Load(), Undelivered: c.undelivered.Load(), BadBlocks: c.badBlocks.Load(),
		Raw: c.raw.Load(), Invalid: c.invalid.Load(), BytesRead: c.bytesRead.Load(),
		Trailing: c.trailing.Load(),
	}
}

// String describes the subscription without credentials.
func (s *subscription) String() string {
	t := "Subscription"
	if s.mode != modeEvents {
		t = "BatchSubscription"
	}
	return fmt.Sprintf("stream.%s{monitor %d at %s, %s}", t, s.cfg.MonitorID, s.cfg.addr(), s.State())
}

// GoString is the same as String, so %#v cannot print the password.
func (s *subscription) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *subscription) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

func (s *subscription) setState(st State, err error, wait time.Duration) {
	s.state.Store(int32(st))
	select {
	case s.states <- StateChange{State: st, Err: err, Wait: wait, At: time.Now()}:
	default:
	}
}

// report sends a non-fatal problem on States as a StateConnected change
// without changing State, from any goroutine (Batch.Events reports from
// the consumer's), never after States is closed.
func (s *subscription) report(err error) {
	s.statesMu.Lock()
	defer s.statesMu.Unlock()
	if s.statesClosed {
		return
	}
	select {
	case s.states <- StateChange{State: StateConnected, Err: err, At: time.Now()}:
	default:
	}
}

func (s *subscription) log(level slog.Level, msg string, args ...any) {
	if l := s.cfg.Logger; l != nil {
		l.Log(s.logCtx, level, msg, append([]any{"monitor_id", s.cfg.MonitorID}, args...)...)
	}
}

// run is the supervisor: one session at a time, backoff between them,
// as bo says.
func (s *subscription) run(ctx context.Context, bo backoff.BackOff) {
	var final error
	defer func() {
		s.trailingDue(true) // before StateStopped: what was held back is told
		s.errMu.Lock()
		s.err = final
		s.errMu.Unlock()
		s.setState(StateStopped, final, 0)
		if s.own != nil {
			close(s.own)
		}
		if s.batches != nil {
			close(s.batches)
		}
		s.statesMu.Lock()
		s.statesClosed = true
		close(s.states)
		s.statesMu.Unlock()
		s.cancel()
		close(s.done)
	}()
	for {
		healthy, connected, err := s.session(ctx)
		var stop bool
		if stop, final = s.retry(ctx, bo, healthy, connected, err); stop {
			return
		}
	}
}

// retry handles the end of a session: it reports whether the subscription
// stops, and with what error, or else waits out the backoff. Only a
// session that failed before it was connected (dial, TLS handshake,
// login) can fail for good: the same TLS record error or alert that says
// a handshake can never succeed is, on an established connection, a
// broken or tampered stream that a reconnect may cure. It is apart from
// run so that run's stack frame, which lies under every read of an idle
// subscription, stays small.
func (s *subscription) retry(ctx context.Context, bo backoff.BackOff, healthy, connected bool, err error) (stop bool, final error) {
	if ctx.Err() != nil || s.drained() {
		return true, nil
	}
	if !connected {
		err = classify(err)
	}
	if IsPermanent(err) {
		s.log(slog.LevelError, "push subscription stopped", "err", err)
		return true, err
	}
	s.stats.resets.Add(1)
	healthy, err, takenOver := s.diag.takeover(healthy, err)
	if healthy {
		bo.Reset()
	}
	wait := bo.NextBackOff()
	if wait == backoff.Stop {
		s.log(slog.LevelError, "push subscription gave up", "err", err)
		return true, err
	}
	// One WARN per new kind of failure, one when it has repeated a few
	// times (with its hint), one when the takeover pattern begins; INFO
	// for the rest.
	switch n := s.diag.repeat(healthy, err); {
	case takenOver:
		s.log(slog.LevelWarn, "push connection keeps being closed soon after connecting: another client is probably connected to the same monitor", "err", err, "wait", wait)
	case n == 1 && !s.diag.takenOver:
		s.log(slog.LevelWarn, "push connection failed; reconnecting", "err", err, "wait", wait)
	case n == repeatWarnAfter && !s.diag.takenOver:
		s.log(slog.LevelWarn, "push connection keeps failing the same way; reconnecting", "failures", n, "err", err, "wait", wait)
	default:
		s.log(slog.LevelInfo, "push connection failed again; reconnecting", "failures", n, "err", err, "wait", wait)
	}
	s.setState(StateBackoff, err, wait)
	t := time.NewTimer(wait)
	select {
	case <-ctx.Done():
		t.Stop()
		return true, nil
	case <-s.drain:
		t.Stop()
		return true, nil
	case <-t.C:
	}
	return false, nil
}
