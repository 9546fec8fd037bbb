package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// Logger receives member start and stop logs, with the context given
	// to NewGroup (its values; not its cancellation). nil means no logging.
	// Members log through the Logger of their own configs.
	Logger *slog.Logger
}

// Group runs the subscriptions of many monitors — any mix of TCP
// [Subscription], [HTTPReceiver] and [Poller], or any source of events
// (Add) — under one errgroup and merges their events onto one channel.
// Each [Event] carries its MonitorID, so consumers route by it.
//
// Isolation: a member that ends with a permanent error (wrong monitor id,
// deleted monitor, …) is reported in Status and Member and does not
// affect the others, unless GroupConfig.FailFast asks for the whole group
// to stop.
//
// Delivery: members send their events on the group's channel themselves,
// with nothing in between, so every promise of a member holds through the
// Group: a TCP block is acknowledged only after the group's consumer has
// received its last event, an HTTP push is answered 200 only after the
// consumer has received its events, a Poller's Position covers only what
// the consumer has received. An event not yet received when the group or
// the member is closed was not handed over (a persistent monitor replays
// it). Events of one member keep their order; events of different members
// interleave arbitrarily.
//
// All methods are safe for concurrent use, and no user code (Add's open)
// runs under the group's lock: open may call Status, Member, Add for
// another id, and read Events. The Group owns the Events channel and
// closes it once, when the group ends: its context is cancelled, Close is
// called, or (FailFast) a member fails. Members can be added and removed
// while it runs. The zero value is not usable: create one with
// [NewGroup].
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
	g.closed = true // no member is added (nor eg.Go called) after this
	g.mu.Unlock()
	err := g.eg.Wait()
	g.mu.Lock()
	g.err = err
	g.mu.Unlock()
	close(g.events) // every member has ended and no send is under way
	close(g.done)
}

// Add starts a member for monitor id: open is called at once, on the
// caller's goroutine and without any lock held, with the member's context
// (derived from the group's) and its Handoff, and must return a running
// member bound to that context that sends its events through the Handoff
// (not on a channel of its own). transport is shown in MemberStatus.
// While open runs, the member shows in Status as running, StateConnecting.
// open must return promptly once its context is cancelled, and must not
// call Close, Wait or Remove of this member, which wait for it.
//
// Add returns nil once the member runs. Otherwise nothing is added, and
// Add returns:
//   - open's own error;
//   - ErrGroupClosed if the group is closed or ending (Close was called,
//     its context was cancelled, or a FailFast member failed); open is
//     not called then;
//   - ErrDuplicateMember if id is a running member. A member whose Runner
//     has ended is not running: Add waits until it is recorded in Status
//     and replaces it;
//   - ErrInvalidRunner if open is nil, or returned neither a Runner nor an
//     error, or a Runner whose Done is nil (it could never end).
//
// A panic of open, or of the Runner's Done (a typed nil Runner), which
// Add calls once, goes on to Add's caller, and nothing is added. Whenever
// open fails, the Handoff it was given is closed: its Send returns
// ErrGroupClosed.
func (g *Group) Add(id uint32, transport string, open func(ctx context.Context, h Handoff) (Runner, error)) error {
	if open == nil {
		return errNilOpen
	}
	return g.add(id, transport, func(ctx context.Context, m *member) (Runner, error) {
		return open(ctx, Handoff{g: g, m: m})
	})
}

// errNilOpen, errNoRunner and errNilDone say which ErrInvalidRunner Add
// found.
var (
	errNilOpen  = fmt.Errorf("%w: open is nil", ErrInvalidRunner)
	errNoRunner = fmt.Errorf("%w: neither a Runner nor an error", ErrInvalidRunner)
	errNilDone  = fmt.Errorf("%w: a Runner whose Done is nil", ErrInvalidRunner)
)

func (g *Group) add(id uint32, transport string, open func(context.Context, *member) (Runner, error)) error {
	for {
		g.mu.Lock()
		if g.closed || g.ctx.Err() != nil {
			g.mu.Unlock()
			return ErrGroupClosed
		}
		old := g.members[id]
		if old == nil {
			break // with g.mu held
		}
		g.mu.Unlock()
		if !old.over() {
			return fmt.Errorf("%w: %d", ErrDuplicateMember, id)
		}
		// The member has ended (its Runner is done, or its open failed)
		// and is being recorded: the new one replaces it.
		<-old.done
	}
	m := &member{id: id, transport: transport, ready: make(chan struct{}), done: make(chan struct{}), started: time.Now()}
	m.ctx, m.cancel = context.WithCancel(g.ctx)
	g.members[id] = m
	// Registered under the lock, before supervise can start waiting.
	g.eg.Go(func() error { return g.run(m) })
	g.mu.Unlock()

	var src Runner
	err := errNoRunner
	func() {
		defer close(m.ready) // also if open panics: the member then ends
		src, err = open(m.ctx, m)
		if err == nil && src == nil {
			err = errNoRunner
		}
		// A Runner whose Done is nil never ends: Close, Wait and Remove
		// would wait for it forever. A typed nil Runner panics here, on
		// Add's caller, rather than on the group's goroutine.
		if err == nil && src.Done() == nil {
			err = errNilDone
		}
		if err == nil {
			m.src = src
		}
	}()
	if err != nil {
		<-m.done
		return err
	}
	g.log(slog.LevelInfo, "group member started", "monitor_id", id, "transport", transport)
	return nil
}

// Subscribe adds a TCP push member for cfg.MonitorID, delivering events
// as a [Subscription] does. Subscribe's validation errors are returned.
func (g *Group) Subscribe(cfg Config) error {
	return g.add(cfg.MonitorID, "tcp", func(ctx context.Context, _ *member) (Runner, error) {
		return newSubscription(ctx, cfg, g.events)
	})
}

// Poll adds a polling member for cfg.MonitorID and returns its poller,
// whose Position covers the events the group's consumer has taken: save
// it (and give it back as cfg.Start) to resume where the consumer left
// off. The poller's events go to the group's Events; its own Events
// channel stays empty.
func (g *Group) Poll(cfg PollerConfig) (*Poller, error) {
	return addMember(g, cfg.MonitorID, "polling", func(ctx context.Context) (*Poller, error) {
		return newPoller(ctx, cfg, g.events)
	})
}

// Receive adds an HTTP member for cfg.MonitorID and returns its receiver,
// which the caller mounts on its HTTP server (at the monitor's URL). The
// receiver's events go to the group's Events.
func (g *Group) Receive(cfg HTTPConfig) (*HTTPReceiver, error) {
	return addMember(g, cfg.MonitorID, "http", func(ctx context.Context) (*HTTPReceiver, error) {
		return newHTTPReceiver(ctx, cfg, g.events)
	})
}

// addMember adds a member that open starts, and returns what open
// returned (nil when the member was not added).
func addMember[R Runner](g *Group, id uint32, transport string, open func(context.Context) (R, error)) (R, error) {
	var r R
	err := g.add(id, transport, func(ctx context.Context, _ *member) (Runner, error) {
		v, err := open(ctx)
		if err != nil {
			return nil, err
		}
		r = v
		return v, nil
	})
	if err != nil {
		var zero R
		return zero, err
	}
	return r, nil
}

// Events returns the merged channel of every member's events. It is closed
// when the group ends.
func (g *Group) Events() <-chan Event { return g.events }

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
		l.Log(context.WithoutCancel(g.ctx), level, msg, args...) // NewGroup's context's values
	}
}

var _ Source = (*Group)(nil)
