// Package harness runs the pushmon benchmarks: each scenario is a client
// in this process consuming the stream of a pushserver child process on
// loopback, measured over a fixed time (the pushbench command) or a fixed
// number of frames or events (the Go benchmarks).
package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// Transport is "tcp" or "tls".
type Transport string

// Transports.
const (
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// Kind is what the client does with the stream.
type Kind string

// Kinds of client.
const (
	// Ceiling is the bare reader: frames walked in a 64 KiB buffer, acks
	// coalesced into one write before each read; no decode, no delivery.
	Ceiling Kind = "ceiling"
	// Batches is stream.SubscribeBatches (AckOnReceive) with a consumer that
	// drains the channel: raw blocks, never split into events.
	Batches Kind = "batches"
	// BatchesEvents is Batches with a consumer that takes each Batch's
	// events (Batch.Events: split and de-duplicated).
	BatchesEvents Kind = "batches-events"
	// BatchesTyped is BatchesEvents with a consumer that also decodes each
	// event's body with Event.DataPoint.
	BatchesTyped Kind = "batches-typed"
	// IterEvents is stream.SubscribeBatches with AckManual consumed through
	// BatchSubscription.All: events yielded on the consumer's goroutine,
	// each block acked once the loop body has returned for its last event.
	IterEvents Kind = "iter-events"
	// IterTyped is IterEvents with a consumer that decodes each body with
	// Event.DataPoint.
	IterTyped Kind = "iter-typed"
	// EventsRoute is the Events API with a consumer that only routes on
	// Event.Resource (the body is never decoded).
	EventsRoute Kind = "events-route"
	// EventsTyped is the Events API with a consumer that decodes each body
	// with Event.DataPoint.
	EventsTyped Kind = "events-typed"
	// JSONEnvelope is the bare reader plus encoding/json into an
	// equivalent envelope struct, bodies kept as json.RawMessage.
	JSONEnvelope Kind = "json-envelope"
	// JSONTyped is the bare reader plus encoding/json into an equivalent
	// struct whose DataPoint is a *stream.DataPoint: the plain baseline.
	JSONTyped Kind = "json-typed"
)

// Scenario is one measurement: a kind of client, a transport and a
// dataset (events per frame, compression, stop-and-wait).
type Scenario struct {
	Kind      Kind
	Transport Transport
	Dataset   pushserver.Dataset
	// NoDedup turns the library's replay dedup off (DedupWindow -1); by
	// default it is on, as for users.
	NoDedup bool
}

// Name is "transport/kind/dataset", e.g. "tls/batches/1ev", with
// "-nodedup" appended when NoDedup is set.
func (s Scenario) Name() string {
	n := fmt.Sprintf("%s/%s/%s", s.Transport, s.Kind, s.Dataset)
	if s.NoDedup {
		n += "-nodedup"
	}
	return n
}

// countsEvents reports whether the scenario's unit of work is the event
// (Events API and the JSON baselines) rather than the frame.
func (s Scenario) countsEvents() bool {
	switch s.Kind {
	case EventsRoute, EventsTyped, JSONEnvelope, JSONTyped, BatchesEvents, BatchesTyped, IterEvents, IterTyped:
		return true
	}
	return false
}

// Env is a running push server child and how to reach it.
type Env struct {
	Child *pushserver.Child
	tls   *tls.Config
	tags  atomic.Uint64
}

// prepareTimeout bounds the wait for the child to build a dataset's
// frames: seconds of CPU time (more under -race), which a starved machine
// stretches to minutes. It is only against a hang, never a measure.
const prepareTimeout = 10 * time.Minute

// prepare has the child build s's frames before s connects, so that its
// handshake does not wait for them (see pushserver.Child.Prepare).
func (e *Env) prepare(s Scenario) error { return e.Child.Prepare(s.Dataset, prepareTimeout) }

// NewEnv starts a push server child process.
func NewEnv() (*Env, error) {
	c, err := pushserver.Start(pushserver.ChildSpec{Role: pushserver.RolePush})
	if err != nil {
		return nil, err
	}
	return &Env{Child: c, tls: c.ClientTLS()}, nil
}

// Close stops the child.
func (e *Env) Close() error { return e.Child.Close() }

func (e *Env) addr(t Transport) string {
	if t == TLS {
		return e.Child.Hello.TLS
	}
	return e.Child.Hello.TCP
}

func (e *Env) tlsConfig(t Transport) *tls.Config {
	if t == TLS {
		return e.tls
	}
	return nil
}

// Counters are a running scenario's progress.
type Counters struct {
	frames, events atomic.Uint64
	reads, writes  atomic.Uint64 // system calls on the TCP connection
	perFrame       uint64
	unitEvents     bool
	target         atomic.Uint64 // units that close reached; 0: none
	reached        chan struct{}
	once           sync.Once
}

func newCounters(s Scenario) *Counters {
	return &Counters{perFrame: uint64(s.Dataset.Events), unitEvents: s.countsEvents(),
		reached: make(chan struct{})}
}

// setTarget closes reached once units() >= target (at once if it already
// is); target 0 means none.
func (c *Counters) setTarget(target uint64) {
	c.target.Store(target)
	if target != 0 && c.units() >= target {
		c.once.Do(func() { close(c.reached) })
	}
}

// add counts frames and events; events < 0 means frames × events per
// frame.
func (c *Counters) add(frames uint64, events int) {
	if events < 0 {
		events = int(frames * c.perFrame)
	}
	f := c.frames.Add(frames)
	e := c.events.Add(uint64(events))
	u := f
	if c.unitEvents {
		u = e
	}
	if t := c.target.Load(); t != 0 && u >= t {
		c.once.Do(func() { close(c.reached) })
	}
}

// units returns the work done so far in the scenario's unit.
func (c *Counters) units() uint64 {
	if c.unitEvents {
		return c.events.Load()
	}
	return c.frames.Load()
}

// unitsAt returns the work done at sample a, in the scenario's unit.
func (c *Counters) unitsAt(a sample) uint64 {
	if c.unitEvents {
		return a.events
	}
	return a.frames
}

// run runs the scenario until ctx ends, then returns the server's report
// of the connection.
func (s Scenario) run(ctx context.Context, env *Env, c *Counters) (pushserver.Report, error) {
	tag := fmt.Sprintf("%s#%d", strings.ReplaceAll(s.Name(), "/", "-"), env.tags.Add(1))
	var err error
	switch s.Kind {
	case Ceiling, JSONEnvelope, JSONTyped:
		err = s.runBare(ctx, env, tag, c)
	case EventsRoute, EventsTyped:
		err = s.runEvents(ctx, env, tag, c)
	case Batches, BatchesEvents, BatchesTyped, IterEvents, IterTyped:
		err = s.runBatches(ctx, env, tag, c)
	default:
		err = fmt.Errorf("unknown kind %q", s.Kind)
	}
	if ctx.Err() != nil {
		err = nil // stopped on purpose
	}
	rep, rerr := env.Child.Report(tag, hangTimeout)
	if err == nil {
		err = rerr
	}
	if err == nil {
		err = s.checkAcks(rep, c)
	}
	return rep, err
}

// checkAcks checks the server's report of a run that has ended: every ack
// named the next block with status 200, no more acks than frames written
// in full, and, where a consumed block is acked before the run ends (all
// but AckManual, whose last Batch may be left un-acked), at least an ack
// per frame consumed.
func (s Scenario) checkAcks(rep pushserver.Report, c *Counters) error {
	if rep.BadAcks > 0 {
		return fmt.Errorf("%s: the server got %d bad acks", s.Name(), rep.BadAcks)
	}
	if rep.Acks > rep.Frames {
		return fmt.Errorf("%s: the server got %d acks for %d frames written", s.Name(), rep.Acks, rep.Frames)
	}
	if s.Kind == IterEvents || s.Kind == IterTyped {
		return nil
	}
	consumed := c.frames.Load()
	if s.Kind == EventsRoute || s.Kind == EventsTyped { // these count events only
		consumed = c.events.Load() / c.perFrame // whole frames
	}
	if rep.Acks < consumed {
		return fmt.Errorf("%s: the server got %d acks for %d frames consumed", s.Name(), rep.Acks, consumed)
	}
	return nil
}
