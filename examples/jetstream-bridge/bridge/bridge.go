package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"

	"github.com/pushmon/pushmon/stream"
)

// Defaults of Config.
const (
	// DefaultMaxPending bounds, per monitor, the events published and not
	// yet confirmed by a PubAck.
	DefaultMaxPending = 8192
	// DefaultAckTimeout is how long a publish may wait for its PubAck
	// before the session is abandoned and the blocks are replayed.
	DefaultAckTimeout = 10 * time.Second
	// ackFlushWait bounds the graceful end of a session (Subscription.
	// Shutdown): the last acks written, Remote Manager given time to read
	// them.
	ackFlushWait = 2 * time.Second
)

// DefaultBackOff is the wait between failed sessions when
// Config.NewBackOff is nil: 250 ms, ×2 per failure, ±50 % jitter, at most
// 10 s, never giving up. The cap is lower than the push reconnect's (60 s)
// because these failures are JetStream's, and a bridge should resume soon
// after NATS returns.
func DefaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 250 * time.Millisecond
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}

// Config describes a bridge. The zero value of every optional field
// selects the documented default. New copies the Config.
//
// Config redacts the Remote Manager password in every fmt verb and in slog
// output, and never prints the connection's internals.
type Config struct {
	// Conn is the NATS connection to publish on. The caller owns it: the
	// bridge never closes or drains it. Connect it with
	// nats.MaxReconnects(-1), so that it never gives up, and
	// nats.ReconnectBufSize(-1), so that nothing is buffered while it
	// reconnects: a buffered publish would go out on the next connection,
	// ahead of the replay of an event lost with the old one. A session
	// ends when the connection drops; while it is down the bridge
	// acknowledges nothing.
	Conn *nats.Conn
	// Stream is the JetStream stream capturing the subjects (see
	// EnsureStream). Each session checks that it answers (or runs
	// CheckStream) before taking blocks, and every PubAck must come from
	// it. "" means DefaultStream.
	Stream string
	// SubjectPrefix starts every subject (see Subject). "" means
	// DefaultSubjectPrefix.
	SubjectPrefix string
	// CheckStream, when set, is the check each session makes before it
	// takes blocks, in place of the default one (that Stream answers): it
	// returns nil when the stream is there and fits the bridge, and may
	// create or fix it — EnsureStream or CheckStream with the program's
	// settings, so that a stream deleted or changed while the bridge runs
	// is recreated or refused as at start-up rather than published to in
	// vain, or with a shorter duplicate window. Any error it returns fails
	// the session before a block is taken (ErrJetStreamUnavailable: the
	// bridge waits and tries again). It is called with a context bounded
	// by AckTimeout, from every monitor's session loop.
	CheckStream func(ctx context.Context) error
	// Push is the template of every monitor's push subscription: host,
	// credentials, TLS, timeouts. MonitorID is replaced by each of
	// Monitors; the subscription acks manually (stream.AckManual). A
	// DedupWindow of 0 turns the subscription's replay de-duplication off
	// (-1): JetStream's duplicate window does that job.
	Push stream.Config
	// Monitors are the ids of the monitors to bridge, each through its own
	// subscription. Use explicit-ack, persistent monitors: only they
	// replay what was not acknowledged. At least one.
	Monitors []uint32
	// MaxPending bounds, per monitor, the events published and awaiting
	// their PubAck. A batch with more events is published in parts, each
	// once PubAcks have made room for it. 0 means DefaultMaxPending.
	MaxPending int
	// AckTimeout bounds the wait for a batch's PubAcks once the batch
	// before it is confirmed, the wait for a PubAck while MaxPending
	// events await theirs, and the JetStream check at the start of a
	// session. 0 means DefaultAckTimeout.
	AckTimeout time.Duration
	// NewBackOff returns the policy for the wait between a failed session
	// and the next one, called once per monitor; it restarts after a
	// session that acknowledged a block. nil means DefaultBackOff. A policy
	// returning backoff.Stop ends the monitor with the last error. (Push
	// reconnects within a session follow Push.NewBackOff.)
	NewBackOff func() backoff.BackOff
	// Logger receives the bridge's logs (never event data or credentials);
	// it is also the subscriptions' logger unless Push.Logger is set. nil
	// means no logging.
	Logger *slog.Logger
	// Ownership, when set, shares Monitors with the other replicas of the
	// bridge that use the same lease bucket: each monitor is bridged by
	// the one replica holding its lease (see Ownership). nil: this bridge
	// runs every monitor itself (single-process mode).
	Ownership *Ownership
	// ObserveStore, when set, is called once per batch acknowledged to
	// Remote Manager with its monitor, its number of events and its store
	// latency: the time from the publish of its first event to the PubAck
	// of its last. It runs on the session's confirming goroutine and must
	// return quickly.
	ObserveStore func(monitorID uint32, events int, latency time.Duration)
}

// String describes the configuration with the password redacted and
// without the connection's internals.
func (c Config) String() string {
	own := "none"
	if c.Ownership != nil {
		own = "replica " + c.Ownership.Replica
	}
	return fmt.Sprintf("bridge.Config{Stream:%q SubjectPrefix:%q Monitors:%v Push:%v MaxPending:%d AckTimeout:%v Ownership:%s}",
		c.Stream, c.SubjectPrefix, c.Monitors, c.Push, c.MaxPending, c.AckTimeout, own)
}

// GoString is the same as String.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Config) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// LogValue redacts the password in slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("stream", c.Stream),
		slog.String("subject_prefix", c.SubjectPrefix),
		slog.Any("monitors", c.Monitors),
		slog.Any("push", c.Push),
	)
}

// Stats are a Bridge's counters since New, over all its monitors.
type Stats struct {
	Sessions   uint64 // push subscriptions started (one per monitor per attempt)
	Failures   uint64 // sessions ended by an error (JetStream or Remote Manager) other than a shutdown
	Blocks     uint64 // blocks taken from Remote Manager
	Events     uint64 // events published (replays included: JetStream removes them)
	Stored     uint64 // PubAcks of new messages
	Duplicates uint64 // PubAcks of messages JetStream already had (replays removed by Nats-Msg-Id)
	Acked      uint64 // blocks acknowledged to Remote Manager after all their PubAcks
	AckLost    uint64 // blocks stored whose ack could not be sent: their connection had ended (Remote Manager replays them; JetStream drops the copies)

	// With Config.Ownership:
	LeasesAcquired uint64 // leases created by this replica
	LeasesReleased uint64 // leases this replica gave up gracefully (rebalancing, a monitor stopped, Shutdown)
	LeasesLost     uint64 // leases found taken or expired: not renewed in time
	Fenced         uint64 // sessions stopped because the lease was not renewed in time
	StandBys       uint64 // times this replica stood by: no push session connected while others streamed (Ownership.StandByAfter)
}

type counters struct {
	sessions, failures, blocks, events, stored, duplicates, acked, ackLost atomic.Uint64
	leasesAcquired, leasesReleased, leasesLost, fenced, standBys           atomic.Uint64
}

// Bridge publishes the events of Remote Manager monitors to JetStream and
// acknowledges each block only after JetStream has confirmed every event
// of it. Create it with New, start it with Run, stop it with Shutdown
// (graceful) or by cancelling Run's context (abrupt).
//
// All methods are safe for concurrent use. A Bridge runs once.
type Bridge struct {
	cfg      Config
	maxAsync int // the JetStream client's limit of pending publishes; never reached
	stats    counters
	mons     []*monitorState // one per cfg.Monitors, in order

	started  atomic.Bool
	stop     chan struct{} // closed by Shutdown: take no more blocks
	stopOnce sync.Once
	done     chan struct{} // closed when Run returns

	mu      sync.Mutex
	cancel  context.CancelFunc // Run's context
	aborted bool
}

// New validates cfg and returns a Bridge that is not yet running. An
// invalid configuration returns an error matching ErrInvalidConfig. Push
// settings beyond the address and user name are checked by the first
// session; a bad one ends Run with stream.ErrInvalidConfig.
func New(cfg Config) (*Bridge, error) {
	bad := func(format string, args ...any) (*Bridge, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if cfg.Conn == nil {
		return bad("Conn is required")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = DefaultSubjectPrefix
	}
	if err := ValidPrefix(cfg.SubjectPrefix); err != nil {
		return nil, err
	}
	if len(cfg.Monitors) == 0 {
		return bad("at least one monitor is required")
	}
	cfg.Monitors = slices.Clone(cfg.Monitors)
	seen := make(map[uint32]bool, len(cfg.Monitors))
	for _, id := range cfg.Monitors {
		if id == 0 || seen[id] {
			return bad("monitor ids must be non-zero and distinct; have %v", cfg.Monitors)
		}
		seen[id] = true
	}
	if cfg.MaxPending < 0 || cfg.AckTimeout < 0 {
		return bad("MaxPending and AckTimeout must not be negative")
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.NewBackOff == nil {
		cfg.NewBackOff = DefaultBackOff
	}
	if cfg.Push.Logger == nil {
		cfg.Push.Logger = cfg.Logger
	}
	if cfg.Push.DedupWindow == 0 {
		// JetStream removes replays by Nats-Msg-Id; the subscription's
		// own window would only cost time and memory.
		cfg.Push.DedupWindow = -1
	}
	// The subscriptions check the rest of Push when a session starts; a
	// bad setting then ends Run with stream.ErrInvalidConfig.
	if cfg.Push.Host == "" && cfg.Push.Addr == "" {
		return bad("Push.Host or Push.Addr is required")
	}
	if cfg.Push.Username == "" {
		return bad("Push.Username is required")
	}
	if cfg.Ownership != nil {
		own, err := cfg.Ownership.resolve()
		if err != nil {
			return nil, err
		}
		cfg.Ownership = own
	}
	b := &Bridge{
		cfg:      cfg,
		maxAsync: cfg.MaxPending + 1, // the pipeline keeps at most MaxPending pending
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, id := range cfg.Monitors {
		m := &monitorState{id: id}
		if cfg.Ownership == nil {
			m.owned.Store(true)
			m.setPhase(MonitorStarting)
		}
		b.mons = append(b.mons, m)
	}
	return b, nil
}

// String describes the bridge without credentials; a nil bridge is
// "<nil>".
func (b *Bridge) String() string {
	if b == nil {
		return "<nil>"
	}
	return fmt.Sprintf("bridge.Bridge{monitors %v → stream %q, subjects %s.>}", b.cfg.Monitors, b.cfg.Stream, b.cfg.SubjectPrefix)
}

// GoString is the same as String, so %#v cannot print the password.
func (b *Bridge) GoString() string { return b.String() }

// Format prints String for every verb.
func (b *Bridge) Format(f fmt.State, _ rune) { fmt.Fprint(f, b.String()) }

// Stats returns a snapshot of the counters.
func (b *Bridge) Stats() Stats {
	c := &b.stats
	return Stats{
		Sessions: c.sessions.Load(), Failures: c.failures.Load(), Blocks: c.blocks.Load(),
		Events: c.events.Load(), Stored: c.stored.Load(), Duplicates: c.duplicates.Load(),
		Acked: c.acked.Load(), AckLost: c.ackLost.Load(),
		LeasesAcquired: c.leasesAcquired.Load(), LeasesReleased: c.leasesReleased.Load(),
		LeasesLost: c.leasesLost.Load(), Fenced: c.fenced.Load(), StandBys: c.standBys.Load(),
	}
}

// Run bridges every monitor until Shutdown has completed (it returns nil),
// ctx ends (nil: an abrupt stop), or every monitor has stopped for good:
// then it returns their errors joined — Remote Manager refusing the login
// or the monitor (stream.ErrUnauthorized, stream.ErrBadRequest), TLS
// failures, events JetStream rejects (ErrRejected), a NATS connection
// closed for good (ErrConnClosed). Transient failures (lost connections,
// timeouts, JetStream unavailable) are retried with backoff and never
// returned. A monitor that stops does not stop the others.
//
// With Config.Ownership, Run bridges the monitors whose leases this
// replica holds (see Ownership); it returns, besides, ErrConnClosed when
// the NATS connection is closed for good and ErrInvalidConfig when the
// lease bucket cannot serve.
//
// Cancelling ctx stops at once, as a crash would: blocks in flight are
// not acknowledged, so Remote Manager replays them to the next bridge,
// and JetStream drops the copies of what it already stored. Leases are
// kept: they expire at their TTL.
func (b *Bridge) Run(ctx context.Context) error {
	if !b.started.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	defer close(b.done)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.mu.Lock()
	b.cancel = cancel
	if b.aborted {
		cancel()
	}
	b.mu.Unlock()

	if b.cfg.Ownership != nil {
		return b.runShared(ctx)
	}
	errs := make([]error, len(b.mons))
	var wg sync.WaitGroup
	for i, m := range b.mons {
		wg.Go(func() {
			errs[i] = b.runMonitor(ctx, m, b.stop)
			m.setPhase(MonitorStopped)
			m.owned.Store(false)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Shutdown stops the bridge gracefully: it stops taking blocks, waits for
// the PubAcks of everything published, acknowledges those blocks to
// Remote Manager, closes the push connections, releases the leases
// (Config.Ownership: other replicas take the monitors over at once) and
// waits for Run to return. If ctx ends first, it stops abruptly (as a cancel of Run's
// context would) and returns ctx.Err(). A Shutdown before Run makes Run
// return at once. It may be called more than once.
func (b *Bridge) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() { close(b.stop) })
	if !b.started.Load() {
		return nil
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.aborted = true
	if b.cancel != nil {
		b.cancel()
	}
	b.mu.Unlock()
	<-b.done
	return ctx.Err()
}

func (b *Bridge) log(level slog.Level, msg string, args ...any) {
	if l := b.cfg.Logger; l != nil {
		l.Log(context.Background(), level, msg, args...)
	}
}
