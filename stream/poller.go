package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/monitor"
)

// Poller defaults.
const (
	// DefaultPollInterval is the wait between polls once the history has
	// been read to its end.
	DefaultPollInterval = 30 * time.Second
	// DefaultPollPageSize is the number of records asked for per request.
	DefaultPollPageSize = 1000
)

// PollerConfig describes a [Poller]. NewPoller copies it.
type PollerConfig struct {
	// Client is the REST client of the account (required). Its retry
	// policy handles short throttling inside one request; the poller adds
	// its own backoff between requests.
	Client *monitor.Client
	// MonitorID is a polling (or persistent) monitor of the account.
	MonitorID uint32
	// Interval is the wait between polls once the stored events have been
	// read to the end. 0 means DefaultPollInterval (30 s).
	Interval time.Duration
	// PageSize is how many records one request asks for (0: 1000).
	PageSize int
	// Start is where to resume, typically a Position saved by an earlier
	// poller; the zero value starts with the oldest stored event.
	Start PollPosition
	// DedupWindow is how many recent event identities are remembered to
	// drop records the server returns twice. 0 means 100 000; negative
	// disables it (the Start position still prevents redelivery across a
	// restart).
	DedupWindow int
	// NewBackOff is the policy for failed requests, called once per
	// NewPoller; nil means DefaultBackOff. A server's Retry-After is
	// honoured when it is longer. A policy returning backoff.Stop ends the
	// poller with the last error.
	NewBackOff func() backoff.BackOff
	// Logger receives poll-level logs (never event data, never
	// credentials). nil means no logging.
	Logger *slog.Logger
}

// PollPosition is how far a poller has delivered: what a restarted poller
// needs (as [PollerConfig.Start]) to go on without losing or repeating
// events. Persist it after processing the events it covers; it marshals to
// JSON (and text) for that.
type PollPosition struct {
	// Cursor is the server's cursor of the page being delivered, "" when
	// between polls.
	Cursor string `json:"cursor,omitempty"`
	// Since is the newest event timestamp delivered; the next poll asks for
	// events from that instant on.
	Since time.Time `json:"since,omitzero"`
	// Seen are the identities ([Event.Identity]) of the events delivered
	// with timestamp Since, which the next poll returns again and the
	// poller skips.
	Seen []string `json:"seen,omitempty"`
}

// MarshalText encodes p as JSON.
func (p PollPosition) MarshalText() ([]byte, error) {
	type plain PollPosition
	return json.Marshal(plain(p))
}

// UnmarshalText decodes what MarshalText produced.
func (p *PollPosition) UnmarshalText(b []byte) error {
	type plain PollPosition
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return fmt.Errorf("stream: poll position: %w", err)
	}
	*p = PollPosition(q)
	return nil
}

func (p PollPosition) clone() PollPosition {
	p.Seen = slices.Clone(p.Seen)
	return p
}

// PollStats are a Poller's counters.
type PollStats struct {
	Requests   uint64 // history requests made
	Failures   uint64 // requests that failed (and were retried or ended the poller)
	Pages      uint64 // pages received
	Events     uint64 // events handed to the consumer
	Duplicates uint64 // records skipped as already delivered
	Raw        uint64 // records delivered raw
}

type pollCounters struct {
	requests, failures, pages, events, duplicates, raw atomic.Uint64
}

// Poller turns a polling (or persistent) monitor's stored events, read
// through the history API, into Events — the same [Event] values a push
// of those events gives. It pages with the server's cursor without pause
// and, once at the end, polls again every Interval from the newest
// timestamp delivered, skipping what it already delivered: no loss, no
// duplicates, across pages, polls and (with [Poller.Position] saved and
// given back as Start) restarts. Failed requests are retried with backoff,
// honouring Retry-After; 401/403, 404 and 400 end the poller with the
// error (monitor.ErrUnauthorized, ErrNotFound, ErrBadRequest), except a
// 400 for a resumed cursor, after which it continues from Since.
//
// Events are handed over on an unbuffered channel: a record counts as
// delivered (and moves Position) when the consumer has received it.
// Delivery is at-least-once across crashes between receiving an event and
// saving the position, exactly as far as Position says otherwise.
//
// All methods are safe for concurrent use. The Poller owns the Events
// channel and closes it once when it ends; Err then tells why.
type Poller struct {
	cfg    PollerConfig
	events chan Event
	done   chan struct{}
	cancel context.CancelFunc
	state  atomic.Int32
	stats  pollCounters

	mu   sync.Mutex
	pos  PollPosition
	seen map[string]struct{}
	err  error

	dedup *dedup // used by the run goroutine only
}

// NewPoller validates cfg and starts polling in the background. ctx owns
// the poller: cancelling it (or calling Close) ends it and closes Events.
// An invalid cfg returns an error matching ErrInvalidConfig.
func NewPoller(ctx context.Context, cfg PollerConfig) (*Poller, error) {
	bad := invalidConfig
	switch {
	case cfg.Client == nil:
		return nil, bad("Client is required")
	case cfg.MonitorID == 0:
		return nil, bad("MonitorID is required")
	case cfg.Interval < 0 || cfg.PageSize < 0:
		return nil, bad("Interval and PageSize must not be negative")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultPollInterval
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPollPageSize
	}
	if cfg.NewBackOff == nil {
		cfg.NewBackOff = DefaultBackOff
	}
	cfg.Start = cfg.Start.clone()
	ctx, cancel := context.WithCancel(ctx)
	p := &Poller{
		cfg:    cfg,
		events: make(chan Event),
		done:   make(chan struct{}),
		cancel: cancel,
		pos:    cfg.Start.clone(),
		seen:   make(map[string]struct{}, len(cfg.Start.Seen)),
		dedup:  newDedup(cfg.DedupWindow),
	}
	for _, id := range cfg.Start.Seen {
		p.seen[id] = struct{}{}
	}
	go p.run(ctx)
	return p, nil
}

// Events returns the channel of events. It is closed when the poller ends.
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
func (p *Poller) Position() PollPosition {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos.clone()
}

// Stats returns a snapshot of the counters.
func (p *Poller) Stats() PollStats {
	c := &p.stats
	return PollStats{Requests: c.requests.Load(), Failures: c.failures.Load(), Pages: c.pages.Load(),
		Events: c.events.Load(), Duplicates: c.duplicates.Load(), Raw: c.raw.Load()}
}

// String describes the poller.
func (p *Poller) String() string {
	return fmt.Sprintf("stream.Poller{monitor %d, %s}", p.cfg.MonitorID, p.State())
}

func (p *Poller) log(level slog.Level, msg string, args ...any) {
	if l := p.cfg.Logger; l != nil {
		l.Log(context.Background(), level, msg, append([]any{"monitor_id", p.cfg.MonitorID}, args...)...)
	}
}

// permanentPollError reports REST errors that retrying cannot fix.
func permanentPollError(err error) bool {
	return errors.Is(err, monitor.ErrUnauthorized) || errors.Is(err, monitor.ErrNotFound) ||
		errors.Is(err, monitor.ErrBadRequest) || errors.Is(err, monitor.ErrInvalidID) ||
		errors.Is(err, monitor.ErrInvalidConfig)
}

func (p *Poller) run(ctx context.Context) {
	var final error
	defer func() {
		p.mu.Lock()
		p.err = final
		p.mu.Unlock()
		p.state.Store(int32(StateStopped))
		close(p.events)
		p.cancel()
		close(p.done)
	}()
	bo := p.cfg.NewBackOff()
	bo.Reset()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		pos := p.Position()
		p.state.Store(int32(StateConnecting))
		p.stats.requests.Add(1)
		page, err := p.cfg.Client.HistoryPage(ctx, p.cfg.MonitorID, monitor.HistoryQuery{
			Start: pos.Since, Cursor: pos.Cursor, Size: p.cfg.PageSize,
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.stats.failures.Add(1)
			if pos.Cursor != "" && errors.Is(err, monitor.ErrBadRequest) {
				// A stale cursor: continue from the timestamp instead.
				p.log(slog.LevelWarn, "history cursor refused; resuming from the last timestamp", "err", err)
				p.mu.Lock()
				p.pos.Cursor = ""
				p.mu.Unlock()
				continue
			}
			if permanentPollError(err) {
				p.log(slog.LevelError, "poller stopped", "err", err)
				final = err
				return
			}
			d := bo.NextBackOff()
			if d == backoff.Stop {
				p.log(slog.LevelError, "poller gave up", "err", err)
				final = err
				return
			}
			var ae *monitor.APIError
			if errors.As(err, &ae) && ae.RetryAfter > d {
				d = ae.RetryAfter
			}
			p.log(slog.LevelWarn, "history request failed; retrying", "err", err, "wait", d)
			p.state.Store(int32(StateBackoff))
			if !wait(d) {
				return
			}
			continue
		}
		bo.Reset()
		p.state.Store(int32(StateConnected))
		p.stats.pages.Add(1)
		if !p.deliver(ctx, page.Records) {
			return
		}
		if page.Cursor != "" && len(page.Records) > 0 {
			p.mu.Lock()
			p.pos.Cursor = page.Cursor
			p.mu.Unlock()
			continue
		}
		p.mu.Lock()
		p.pos.Cursor = ""
		p.mu.Unlock()
		if !wait(p.cfg.Interval) {
			return
		}
	}
}

// recordEvents turns one history record into the Events a push of it
// gives: one for a Msg record; for a stored document, its events, or one
// Raw event when it is not an envelope (template output).
func (p *Poller) recordEvents(dst []Event, rec monitor.HistoryRecord) []Event {
	if rec.Msg == nil {
		out, raw := splitOrRaw(dst, rec.Document, sniffFormat(rec.Document), p.cfg.MonitorID)
		if raw {
			p.stats.raw.Add(1)
		}
		return out
	}
	doc := make([]byte, 0, len(rec.Msg)+len(`{"Document":{"Msg":}}`))
	doc = append(doc, `{"Document":{"Msg":`...)
	doc = append(doc, rec.Msg...)
	doc = append(doc, "}}"...)
	out, err := splitDocument(dst, doc, FormatJSON, p.cfg.MonitorID)
	if err != nil {
		p.stats.raw.Add(1)
		return append(dst, Event{Raw: true, Body: []byte(rec.Msg), Format: FormatJSON, MonitorID: p.cfg.MonitorID})
	}
	return out
}

// deliver hands the page's new events over; false when ctx ended.
func (p *Poller) deliver(ctx context.Context, recs []monitor.HistoryRecord) bool {
	var evs []Event
	for _, rec := range recs {
		evs = p.recordEvents(evs, rec)
	}
	for _, ev := range evs {
		id := ev.Identity()
		p.mu.Lock()
		_, seenAtSince := p.seen[id]
		seenAtSince = seenAtSince && ev.Timestamp.Equal(p.pos.Since)
		p.mu.Unlock()
		key, dup := p.dedup.check(&ev)
		if dup || seenAtSince {
			p.stats.duplicates.Add(1)
			continue
		}
		select {
		case p.events <- ev:
		case <-ctx.Done():
			return false
		}
		p.stats.events.Add(1)
		p.dedup.remember(key)
		p.mu.Lock()
		switch {
		case ev.Timestamp.After(p.pos.Since):
			p.pos.Since = ev.Timestamp
			p.pos.Seen = []string{id}
			clear(p.seen)
			p.seen[id] = struct{}{}
		case ev.Timestamp.Equal(p.pos.Since):
			p.pos.Seen = append(p.pos.Seen, id)
			p.seen[id] = struct{}{}
		}
		p.mu.Unlock()
	}
	return true
}

var (
	_ Source        = (*Poller)(nil)
	_ stateReporter = (*Poller)(nil)
)
