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
)

// A Group's members: their life, their hand-off, their status.

// MemberStatus is a snapshot of one member of a Group.
type MemberStatus struct {
	MonitorID uint32
	// Transport is what the member was added as: "tcp", "http", "polling",
	// or the caller's name for it (Add).
	Transport string
	// State is the member's connection state, when its Runner reports one
	// (Subscription, Poller, HTTPReceiver do); StateConnecting while Add's
	// open runs; StateStopped once it ended.
	State State
	// Events is how many events the member handed to the group's
	// consumer, counted once handed over (a TCP block's events once the
	// whole block is), so it may lag what the consumer has just received.
	Events uint64
	// Running is true until the member's Runner has ended.
	Running bool
	// Err is why the member ended: its Runner's Err (a permanent error),
	// nil for a clean stop (Remove, Close, the group's context).
	Err     error
	Started time.Time
	Stopped time.Time // zero while running
}

type member struct {
	id        uint32
	transport string
	ctx       context.Context // the member's: ends with the group, Remove, or the member's end
	cancel    context.CancelFunc
	ready     chan struct{} // closed once open has returned; src is set before
	src       Runner        // nil when open failed
	done      chan struct{} // closed when the member has ended and its sends have returned
	events    atomic.Uint64 // handed over through its Handoff
	started   time.Time

	mu      sync.Mutex
	ended   bool           // no Handoff.Send starts any more
	sends   sync.WaitGroup // Handoff.Sends under way
	err     error
	stopped time.Time
}

// Runner is a running member of a [Group], as Group.Add's open returns it:
// Done is closed once it has ended and sends nothing more; Err then tells
// why (nil for a clean stop). [Subscription], [Poller] and [HTTPReceiver]
// are Runners, as is every [Source].
type Runner interface {
	Done() <-chan struct{}
	Err() error
}

// Handoff is how a member added with [Group.Add] hands its events to the
// group's consumer. A Handoff is safe for concurrent use.
type Handoff struct {
	g *Group
	m *member
}

// Send hands ev to the group's consumer: it returns nil once the consumer
// has received it — so a member that acknowledges its source after Send
// returns acknowledges only what the consumer took. It returns ctx's error
// if ctx ends first, and ErrGroupClosed if the member or the group is closed
// first or the member's Runner has ended; then ev was not handed over. A
// Handoff whose open failed (returned an error or panicked) is closed: its
// Send returns ErrGroupClosed, also after the group has ended. The zero
// Handoff returns ErrGroupClosed.
func (h Handoff) Send(ctx context.Context, ev Event) error {
	m := h.m
	if m == nil {
		return ErrGroupClosed
	}
	if m.ctx.Err() != nil || m.over() {
		return ErrGroupClosed
	}
	m.mu.Lock()
	if m.ended {
		m.mu.Unlock()
		return ErrGroupClosed
	}
	m.sends.Add(1)
	m.mu.Unlock()
	defer m.sends.Done()
	var ended <-chan struct{} // nil while open runs
	if src := m.runner(); src != nil {
		ended = src.Done()
	}
	select {
	case h.g.events <- ev:
		m.events.Add(1)
		return nil
	case <-ctx.Done():
	case <-m.ctx.Done():
	case <-ended:
		return ErrGroupClosed
	}
	if m.ctx.Err() != nil {
		return ErrGroupClosed
	}
	return ctx.Err()
}

// runner returns m's Runner once open has returned it, else nil.
func (m *member) runner() Runner {
	select {
	case <-m.ready:
		return m.src
	default: // open is running
		return nil
	}
}

// over reports whether m will send nothing more and is about to end, if
// it has not: its open failed, or its Runner has ended. run then records
// it promptly.
func (m *member) over() bool {
	select {
	case <-m.ready:
	default:
		return false
	}
	if m.src == nil {
		return true
	}
	select {
	case <-m.src.Done():
		return true
	default:
		return false
	}
}

// settle records, once, how m's Runner ended, if it has: its Err, and
// the first time the end was seen (by run or by a status). It reports
// whether the Runner has ended.
func (m *member) settle() bool {
	src := m.runner()
	if src == nil {
		return false
	}
	select {
	case <-src.Done():
	default:
		return false
	}
	m.mu.Lock()
	seen := !m.stopped.IsZero()
	m.mu.Unlock()
	if !seen {
		err := src.Err() // the Runner's code, called with no lock held
		m.mu.Lock()
		if m.stopped.IsZero() {
			m.err, m.stopped = err, time.Now()
		}
		m.mu.Unlock()
	}
	return true
}

// run waits for member m to end, then records how it ended.
func (g *Group) run(m *member) error {
	defer close(m.done)
	<-m.ready
	if m.src != nil {
		<-m.src.Done()
	}
	// No Handoff.Send starts from now on, and those under way (of a
	// Runner that left them behind, or of an open that failed) end: the
	// group's channel is closed only after they have returned.
	m.cancel()
	m.mu.Lock()
	m.ended = true
	m.mu.Unlock()
	m.sends.Wait()
	if m.src == nil { // open failed: the member never was
		g.mu.Lock()
		if g.members[m.id] == m {
			delete(g.members, m.id)
		}
		g.mu.Unlock()
		return nil
	}
	m.settle()
	m.mu.Lock()
	err := m.err
	m.mu.Unlock()
	g.mu.Lock()
	if g.members[m.id] == m {
		delete(g.members, m.id)
	}
	g.ended = slices.DeleteFunc(g.ended, func(s MemberStatus) bool { return s.MonitorID == m.id })
	g.ended = append(g.ended, m.status())
	g.mu.Unlock()
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

// deliveredCounter is a library member's count of events handed over.
type deliveredCounter interface{ delivered() uint64 }

func (m *member) status() MemberStatus {
	st := MemberStatus{MonitorID: m.id, Transport: m.transport, Events: m.events.Load(), Started: m.started}
	m.settle() // a Runner that has ended shows as stopped at once
	m.mu.Lock()
	st.Err, st.Stopped = m.err, m.stopped
	m.mu.Unlock()
	src := m.runner()
	if c, ok := src.(deliveredCounter); ok {
		st.Events += c.delivered()
	}
	select {
	case <-m.done:
	default:
		st.Running = st.Stopped.IsZero()
	}
	switch {
	case !st.Running:
		st.State = StateStopped
	case src == nil:
		st.State = StateConnecting
	default:
		if sr, ok := src.(stateReporter); ok {
			st.State = sr.State()
		} else {
			st.State = StateConnected
		}
	}
	return st
}

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
