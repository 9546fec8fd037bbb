package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrDuplicateMember: Group.Add was given a monitor id that is already a
// running member.
var ErrDuplicateMember = errors.New("stream: the group already has a member for this monitor")

// GroupConfig configures a [Group].
type GroupConfig struct {
	// FailFast makes a member's permanent error end the whole group: every
	// member is closed, Events is closed and Err reports that error.
	// Without it (the default) a member that fails is reported in Status
	// and the others go on.
	FailFast bool
	// Logger receives member start and stop logs. nil means no logging.
	Logger *slog.Logger
}

// MemberStatus is a snapshot of one member of a Group.
type MemberStatus struct {
	MonitorID uint32
	// Transport is what the member was added as: "tcp", "http", "polling",
	// or the caller's name for it (Add).
	Transport string
	// State is the member's connection state, when its Source reports one
	// (Subscription, Poller, HTTPReceiver do); StateStopped once it ended.
	State State
	// Events is how many events the member forwarded to Events.
	Events uint64
	// Running is true until the member's Source has ended.
	Running bool
	// Err is why the member ended: its Source's Err (a permanent error),
	// nil for a clean stop (Remove, Close, the group's context).
	Err     error
	Started time.Time
	Stopped time.Time // zero while running
}

type member struct {
	id        uint32
	transport string
	src       Source
	cancel    context.CancelFunc
	done      chan struct{}
	events    atomic.Uint64
	started   time.Time

	mu      sync.Mutex
	err     error
	stopped time.Time
}

// Group runs the subscriptions of many monitors — any mix of TCP
// [Subscription], [HTTPReceiver] and [Poller], or any [Source] — under one
// errgroup and merges their events onto one channel. Each [Event] carries
// its MonitorID, so consumers route by it.
//
// Isolation: a member that ends with a permanent error (wrong monitor id,
// deleted monitor, …) is reported in Status and Member and does not
// affect the others, unless GroupConfig.FailFast asks for the whole group
// to stop.
//
// Delivery: the merged channel adds one hand-off stage. A member's event
// counts as handed over (and its TCP block may be acknowledged) when the
// group's forwarder for that member has received it, before the consumer
// has; an event a forwarder holds when the group or the member is closed
// is dropped (MemberStatus does not count it). For at-least-once on
// explicit-ack persistent monitors, consume such a monitor through its
// own Subscription rather than through a Group. Events of one member
// keep their order; events of different members interleave arbitrarily.
//
// All methods are safe for concurrent use. The Group owns the Events
// channel and closes it once, when the group ends: its context is
// cancelled, Close is called, or (FailFast) a member fails. Members can be
// added and removed while it runs.
type Group struct {
	cfg    GroupConfig
	eg     *errgroup.Group
	ctx    context.Context // the errgroup's context: members run under it
	cancel context.CancelFunc
	events chan Event
	done   chan struct{}

	mu      sync.Mutex
	closed  bool
	members map[uint32]*member
	ended   []MemberStatus // members that ended on their own or were removed, latest per id
	err     error
}

// NewGroup returns an empty group bound to ctx: cancelling ctx (or calling
// Close) closes every member and then Events.
func NewGroup(ctx context.Context, cfg GroupConfig) *Group {
	base, cancel := context.WithCancel(ctx)
	eg, gctx := errgroup.WithContext(base)
	g := &Group{
		cfg:     cfg,
		eg:      eg,
		ctx:     gctx,
		cancel:  cancel,
		events:  make(chan Event),
		done:    make(chan struct{}),
		members: make(map[uint32]*member),
	}
	go g.supervise()
	return g
}

func (g *Group) supervise() {
	<-g.ctx.Done()
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	err := g.eg.Wait()
	g.mu.Lock()
	g.err = err
	g.mu.Unlock()
	close(g.events)
	close(g.done)
}

// Add starts a member for monitor id: open is called at once with the
// member's context (derived from the group's) and must return a running
// Source bound to it. transport is shown in MemberStatus. An error from
// open is returned and adds nothing; so do a closed group (ErrClosed) and
// an id that is already a running member (ErrDuplicateMember).
func (g *Group) Add(id uint32, transport string, open func(ctx context.Context) (Source, error)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if _, dup := g.members[id]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicateMember, id)
	}
	mctx, cancel := context.WithCancel(g.ctx)
	src, err := open(mctx)
	if err != nil {
		cancel()
		return err
	}
	m := &member{id: id, transport: transport, src: src, cancel: cancel, done: make(chan struct{}), started: time.Now()}
	g.members[id] = m
	g.eg.Go(func() error { return g.forward(mctx, m) })
	g.log(slog.LevelInfo, "group member started", "monitor_id", id, "transport", transport)
	return nil
}

// Subscribe adds a TCP push member for cfg.MonitorID (cfg.Mode must be
// ModeEvents). Subscribe's validation errors are returned.
func (g *Group) Subscribe(cfg Config) error {
	if cfg.Mode != ModeEvents {
		return fmt.Errorf("%w: a Group member must use ModeEvents", ErrInvalidConfig)
	}
	return g.Add(cfg.MonitorID, "tcp", func(ctx context.Context) (Source, error) { return Subscribe(ctx, cfg) })
}

// Poll adds a polling member for cfg.MonitorID.
func (g *Group) Poll(cfg PollerConfig) error {
	return g.Add(cfg.MonitorID, "polling", func(ctx context.Context) (Source, error) { return NewPoller(ctx, cfg) })
}

// Receive adds an HTTP member for cfg.MonitorID and returns its receiver,
// which the caller mounts on its HTTP server (at the monitor's URL).
func (g *Group) Receive(cfg HTTPConfig) (*HTTPReceiver, error) {
	var rcv *HTTPReceiver
	err := g.Add(cfg.MonitorID, "http", func(ctx context.Context) (Source, error) {
		r, err := NewHTTPReceiver(ctx, cfg)
		rcv = r
		return r, err
	})
	if err != nil {
		return nil, err
	}
	return rcv, nil
}

// forward copies one member's events to the merged channel until the
// member ends, then records how it ended.
func (g *Group) forward(ctx context.Context, m *member) error {
	defer close(m.done)
	for ev := range m.src.Events() {
		// Counted before the send, so that a consumer that has received
		// the event sees it counted.
		m.events.Add(1)
		select {
		case g.events <- ev:
		case <-ctx.Done():
			// Closing: the Source ends soon (its context is this one);
			// drain it so it never blocks.
			m.events.Add(^uint64(0))
		}
	}
	<-m.src.Done()
	err := m.src.Err()
	m.mu.Lock()
	m.err, m.stopped = err, time.Now()
	m.mu.Unlock()
	g.mu.Lock()
	if g.members[m.id] == m {
		delete(g.members, m.id)
	}
	g.ended = slices.DeleteFunc(g.ended, func(s MemberStatus) bool { return s.MonitorID == m.id })
	g.ended = append(g.ended, m.status())
	g.mu.Unlock()
	m.cancel()
	if err != nil {
		g.log(slog.LevelWarn, "group member failed", "monitor_id", m.id, "transport", m.transport, "err", err)
		if g.cfg.FailFast {
			return fmt.Errorf("stream: group member %d (%s): %w", m.id, m.transport, err)
		}
		return nil
	}
	g.log(slog.LevelInfo, "group member stopped", "monitor_id", m.id, "transport", m.transport)
	return nil
}

func (m *member) status() MemberStatus {
	st := MemberStatus{MonitorID: m.id, Transport: m.transport, Events: m.events.Load(), Started: m.started}
	m.mu.Lock()
	st.Err, st.Stopped = m.err, m.stopped
	m.mu.Unlock()
	select {
	case <-m.done:
	default:
		st.Running = st.Stopped.IsZero()
	}
	switch {
	case !st.Running:
		st.State = StateStopped
	default:
		if sr, ok := m.src.(stateReporter); ok {
			st.State = sr.State()
		} else {
			st.State = StateConnected
		}
	}
	return st
}

// Events returns the merged channel of every member's events. It is closed
// when the group ends.
func (g *Group) Events() <-chan Event { return g.events }

// Status returns every member, running or ended (the latest member per
// monitor id), ordered by monitor id.
func (g *Group) Status() []MemberStatus {
	g.mu.Lock()
	out := slices.Clone(g.ended)
	running := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		running = append(running, m)
	}
	g.mu.Unlock()
	for _, m := range running {
		st := m.status()
		out = slices.DeleteFunc(out, func(s MemberStatus) bool { return s.MonitorID == st.MonitorID })
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b MemberStatus) int {
		switch {
		case a.MonitorID < b.MonitorID:
			return -1
		case a.MonitorID > b.MonitorID:
			return 1
		}
		return 0
	})
	return out
}

// Member returns the status of monitor id's member.
func (g *Group) Member(id uint32) (MemberStatus, bool) {
	g.mu.Lock()
	m := g.members[id]
	var ended *MemberStatus
	for i := range g.ended {
		if g.ended[i].MonitorID == id {
			ended = &g.ended[i]
		}
	}
	var st MemberStatus
	if ended != nil {
		st = *ended
	}
	g.mu.Unlock()
	if m != nil {
		return m.status(), true
	}
	return st, ended != nil
}

// Remove closes monitor id's member, waits until it has ended and returns
// its Err. Removing an unknown id returns ErrUnknownMember.
func (g *Group) Remove(id uint32) error {
	g.mu.Lock()
	m := g.members[id]
	g.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w: %d", ErrUnknownMember, id)
	}
	m.cancel()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// ErrUnknownMember: Group.Remove was given a monitor id that is not a
// running member.
var ErrUnknownMember = errors.New("stream: no such group member")

// Done returns a channel closed when the group has ended: every member has
// ended and Events is closed.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err returns the error that ended the group (a member's, with FailFast),
// or nil.
func (g *Group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Wait blocks until the group has ended and returns Err.
func (g *Group) Wait() error {
	<-g.done
	return g.Err()
}

// Close ends every member and the group, waits for them and returns Err.
// It may be called any number of times.
func (g *Group) Close() error {
	g.cancel()
	return g.Wait()
}

func (g *Group) log(level slog.Level, msg string, args ...any) {
	if l := g.cfg.Logger; l != nil {
		l.Log(context.Background(), level, msg, args...)
	}
}

var _ Source = (*Group)(nil)
