package stream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// PollStats are a Poller's counters.
type PollStats struct {
	Requests      uint64 // history requests made
	Failures      uint64 // requests that failed (and were retried, refused a cursor, or ended the poller)
	Pages         uint64 // pages received
	Events        uint64 // events handed to the consumer
	Duplicates    uint64 // records skipped as already delivered
	Raw           uint64 // records delivered raw
	Late          uint64 // events delivered with a record time older than Since: stored late
	OutsideWindow uint64 // records skipped because their time is below the window (see MaxSeen)
	Stalls        uint64 // polls ended early because the server repeated a cursor or a page
	Ahead         uint64 // events delivered with a record time after the server's clock: they move the window only up to it
}

type pollCounters struct {
	requests, failures, pages, events, duplicates, raw, late, outside, stalls, ahead atomic.Uint64
}

// Poller turns a polling (or persistent) monitor's stored events, read
// through the history API, into Events — the same [Event] values a push
// of those events gives: each record is parsed once, by the parser of
// push documents ([monitor.HistoryRecord] carries its fields and the
// resource's bytes as the server sent them), and becomes an Event through
// the conversion a push's Msgs go through, so topic, operation,
// timestamp, group, body and [Event.Identity] are a push's.
//
// Each poll reads from Overlap behind the newest record time delivered,
// page after page with the server's cursor, and skips the events it
// delivered already (by identity, see [PollPosition]); once at the end it
// waits Interval. No loss, no duplicates — across pages, polls and (with
// [Poller.Position] saved and given back as Start) restarts — for events
// stored up to Overlap late. A record stamped after the server's clock
// (the answer's Date header, plus a minute of skew between its machines)
// is delivered, counted in Stats.Ahead and logged, but moves the window
// only up to that clock, so that one clock gone wrong does not carry it
// past every event stored after.
//
// Progress is guaranteed whatever the server answers: a cursor the poll
// has used already, a page it has read already, a second page in a row
// that delivers nothing and holds only events the poll has read already
// (it remembers up to MaxSeen of them), none stamped after every record it
// read before (so a server that ignores start_time is followed past any
// number of older records), or more than 1000 pages that hold
// no event at all (keep-alive documents) ends the poll early
// (Stats.Stalls); a refused cursor (a 4xx answer to a request with one,
// but 401, 403, 408 and 429: 400, or 404 or 410 for a cursor the server no
// longer knows) or one that failed three requests in a row (a 500 for a
// cursor the server cannot read) makes the rest of the poll page by time
// instead (a full page holding only the millisecond it starts at is asked
// for again, twice as large, up to MaxPollPageSize); failed requests back off, honouring Retry-After (up to an
// hour); so a poll makes at most two requests beyond the pages that
// brought something new and the 1001 that held no event, and polls start
// Interval apart.
// 401/403, and without a cursor 400 and 404, and
// a redirect to another origin, which the client refuses to follow, end
// the poller with the error (monitor.ErrUnauthorized, ErrNotFound,
// ErrBadRequest, ErrRedirectRefused).
//
// Records whose document has no timestamp (template output) are placed by
// the time the server stored them, when the history gives it; otherwise by
// the record before them. Their identity is the server's record id (two
// equal renderings are two events), or, without one, their body and time.
//
// Events are handed over on an unbuffered channel: an event counts as
// delivered (and Position covers it) when the consumer has received it.
// Delivery is at-least-once across crashes between receiving an event and
// saving the position, exactly-once as far as the saved Position goes.
//
// All methods are safe for concurrent use. The Poller owns the Events
// channel and closes it once when it ends; Err then tells why. The zero
// value is not usable: create one with [NewPoller] (or [Group.Poll]).
type Poller struct {
	cfg    PollerConfig
	events chan Event   // the channel Events returns, closed at the end
	out    chan<- Event // where events are sent: events, or a Group's channel
	probe  chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
	state  atomic.Int32
	stats  pollCounters
	obs    observer        // PollerConfig.Observer, told where stats count (count.go)
	logCtx context.Context // NewPoller's context without its cancellation

	mu      sync.Mutex
	pos     PollPosition  // Cursor and Since; seen is taken from seen
	seen    *seenSet      // written by the run goroutine under mu
	pending bool          // an event is being sent and not yet committed
	settled chan struct{} // closed when the pending event is committed or abandoned
	err     error
}

// NewPoller validates cfg and starts polling in the background. ctx owns
// the poller: cancelling it (or calling Close) ends it and closes Events.
// An invalid cfg returns an error matching ErrInvalidConfig.
func NewPoller(ctx context.Context, cfg PollerConfig) (*Poller, error) {
	return newPoller(ctx, cfg, nil)
}

// newPoller is NewPoller sending events on out, when not nil, instead of
// the Poller's own channel (a Group member).
func newPoller(ctx context.Context, cfg PollerConfig, out chan<- Event) (*Poller, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	// Made here, on the caller's goroutine: a NewBackOff that returns nil
	// is an invalid config, not a panic of the poller's goroutine.
	bo := cfg.NewBackOff()
	if bo == nil {
		return nil, invalidConfig("NewBackOff returned nil")
	}
	bo.Reset()
	ctx, cancel := context.WithCancel(ctx)
	p := &Poller{
		cfg:    cfg,
		events: make(chan Event),
		probe:  make(chan struct{}),
		done:   make(chan struct{}),
		cancel: cancel,
		pos:    PollPosition{Cursor: cfg.Start.Cursor, Since: cfg.Start.Since},
		seen:   newSeenSet(cfg.Start, cfg.MaxSeen),
		obs:    newObserver(cfg.Observer, cfg.MonitorID, "polling"),
		logCtx: context.WithoutCancel(ctx),
	}
	p.out = p.events
	if out != nil {
		p.out = out
	}
	p.cfg.Start = PollPosition{} // not kept: the seen set has it
	go p.run(ctx, bo)
	return p, nil
}

// Events returns the channel of events. It is closed when the poller ends.
// A poller added to a [Group] sends its events on the group's channel
// instead; its own carries nothing.
func (p *Poller) Events() <-chan Event { return p.events }

// Done returns a channel closed when the poller has ended.
func (p *Poller) Done() <-chan struct{} { return p.done }

// Err returns the error that ended the poller, nil if it was ended by its
// context or Close (or has not ended).
func (p *Poller) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close ends the poller, waits until its goroutine has returned and
// Events is closed, and returns Err. It may be called any number of times.
func (p *Poller) Close() error {
	p.cancel()
	<-p.done
	return p.Err()
}

// State returns StateConnecting while a request is under way,
// StateConnected between successful requests, StateBackoff while waiting
// after a failure, StateStopped at the end.
func (p *Poller) State() State { return State(p.state.Load()) }

// Position returns how far the poller has delivered: give it as
// PollerConfig.Start to a later poller to continue from there.
//
// It covers every event whose receive from Events happened before the call
// (the consumer's own receives, or another goroutine's that synchronised
// with the caller) and no event that has not been received by the time it
// returns; an event being received concurrently, from another goroutine,
// may or may not be covered. So the loop
//
//	for ev := range p.Events() { process(ev); save(p.Position()) }
//
// saves, after each event, a position that includes it and nothing after
// it: a restart from any saved position neither loses nor repeats an event.
//
// Position never waits for a request, a backoff or the consumer: at most
// for the poller to record an event the consumer has just received. The
// result is a value that later calls do not change.
func (p *Poller) Position() PollPosition {
	p.mu.Lock()
	if p.pending {
		// The poller is offering an event, or has just handed it over and
		// is about to record it. A probe it accepts proves the former (the
		// event has not been received, so what is recorded is right); the
		// latter ends in a moment with settled closed.
		if p.settled == nil {
			p.settled = make(chan struct{})
		}
		w := p.settled
		p.mu.Unlock()
		select {
		case p.probe <- struct{}{}:
		case <-w:
		}
		p.mu.Lock()
	}
	pos := p.pos
	pos.floor, pos.floorOK, pos.seen = p.seen.floor, true, p.seen.snapshot()
	p.mu.Unlock()
	return pos
}

// Stats returns a snapshot of the counters.
func (p *Poller) Stats() PollStats {
	c := &p.stats
	return PollStats{Requests: c.requests.Load(), Failures: c.failures.Load(), Pages: c.pages.Load(),
		Events: c.events.Load(), Duplicates: c.duplicates.Load(), Raw: c.raw.Load(), Late: c.late.Load(),
		OutsideWindow: c.outside.Load(), Stalls: c.stalls.Load(), Ahead: c.ahead.Load()}
}

// delivered is the number of events handed over, for a Group's status.
func (p *Poller) delivered() uint64 { return p.stats.events.Load() }

// String describes the poller; a nil poller is "<nil>".
func (p *Poller) String() string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("stream.Poller{monitor %d, %s}", p.cfg.MonitorID, p.State())
}

func (p *Poller) log(level slog.Level, msg string, args ...any) {
	if l := p.cfg.Logger; l != nil {
		l.Log(p.logCtx, level, msg, append([]any{"monitor_id", p.cfg.MonitorID}, args...)...)
	}
}

// send offers ev to the consumer, answering Position's probes meanwhile.
// On true the caller must commit the event; on false (ctx ended) nothing
// was handed over.
func (p *Poller) send(ctx context.Context, ev Event) bool {
	p.mu.Lock()
	p.pending = true
	p.mu.Unlock()
	for {
		select {
		case p.out <- ev:
			return true
		case <-p.probe:
		case <-ctx.Done():
			p.mu.Lock()
			p.settleLocked()
			p.mu.Unlock()
			return false
		}
	}
}

// commit records a handed-over event: its hashed key at record time ms
// (t), which moves the window (Since) up to at (t, or the server's clock
// when t is after it).
func (p *Poller) commit(h uint64, ms int64, t, at time.Time) {
	p.mu.Lock()
	if ms < msOf(p.pos.Since) {
		p.stats.late.Add(1)
	}
	p.seen.add(seenEntry{ms: ms, h: h})
	if at.After(p.pos.Since) {
		p.pos.Since = at
		if ams := msOf(at); ams != noTime {
			p.seen.raise(ams, ams-p.overlapMs())
		}
	}
	p.settleLocked()
	p.mu.Unlock()
	p.countDelivered(t)
}

// settleLocked ends the pending state and releases Position calls waiting
// for it. p.mu must be held.
func (p *Poller) settleLocked() {
	p.pending = false
	if p.settled != nil {
		close(p.settled)
		p.settled = nil
	}
}

// overlapMs is the overlap in milliseconds: 0 for none.
func (p *Poller) overlapMs() int64 { return max(0, p.cfg.Overlap.Milliseconds()) }

func (p *Poller) setCursor(c string) {
	p.mu.Lock()
	p.pos.Cursor = c
	p.mu.Unlock()
}

var (
	_ Source        = (*Poller)(nil)
	_ stateReporter = (*Poller)(nil)
)
