package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/pushmon/pushmon/stream"
)

// inflight is a batch of blocks whose events are published and whose
// PubAcks are awaited.
type inflight struct {
	batch *stream.Batch
	msgs  []*outMsg

	events int       // events in the batch
	start  time.Time // when its first event was published
	newest time.Time // the latest event timestamp of the batch (zero: none)

	// guarded by pipeline.mu
	remaining int   // PubAcks still awaited
	err       error // the first failure
	done      chan struct{}
}

// pipeline is one session's publish pipeline: publish takes batches from
// the subscription and publishes their events asynchronously; the
// JetStream client's ack and error handlers (onAck, onErr) count each
// batch's PubAcks; confirm waits, batch after batch in the order they
// came, until a batch is complete and acknowledges it to Remote Manager.
// publish and confirm run under one errgroup: the first error ends the
// session with the blocks from the failed one on un-acknowledged.
//
// sem holds one unit per message in waiting: publish takes the unit
// before it registers and publishes the message, and onAck or onErr
// returns it when they remove the message from waiting. So at most
// MaxPending messages await their PubAck, however many events a batch
// holds, and the JetStream client (limited to MaxPending+1) never stalls.
type pipeline struct {
	b        *Bridge
	m        *monitorState
	id       uint32
	stop     <-chan struct{}      // closed for a graceful end: take no more batches
	js       jetstream.JetStream  // set before run
	batches  <-chan *stream.Batch // the subscription's; set before run
	srcErr   func() error         // why batches was closed; nil when the session's context ended
	pending  chan *inflight       // publish → confirm, closed by publish
	sem      *semaphore.Weighted  // one unit per message in waiting
	chunk    int                  // units publish waits for when the window is full
	connLost chan nats.Status     // the NATS connection's status changes away from CONNECTED
	progress bool                 // a batch was acked (Batch.Ack returned nil); read after run

	mu      sync.Mutex
	waiting map[*nats.Msg]*inflight // published messages awaiting their PubAck
}

func newPipeline(b *Bridge, m *monitorState, stop <-chan struct{}) *pipeline {
	return &pipeline{
		b:       b,
		m:       m,
		id:      m.id,
		stop:    stop,
		pending: make(chan *inflight, 256),
		sem:     semaphore.NewWeighted(int64(b.cfg.MaxPending)),
		chunk:   max(1, b.cfg.MaxPending/16),
		waiting: make(map[*nats.Msg]*inflight),
	}
}

func (p *pipeline) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.publish(gctx) })
	g.Go(func() error { return p.confirm(gctx) })
	return g.Wait()
}

// publish takes batches until the subscription ends, ctx ends or the
// bridge is shutting down.
func (p *pipeline) publish(ctx context.Context) error {
	defer close(p.pending)
	batches := p.batches
	prefix := p.b.cfg.SubjectPrefix
	monitor := strconv.FormatUint(uint64(p.id), 10)
	for {
		var bt *stream.Batch
		var ok bool
		select {
		case <-p.stop:
			return nil
		case <-ctx.Done():
			return nil
		case bt, ok = <-batches:
		}
		if !ok {
			return p.srcErr()
		}
		p.b.stats.blocks.Add(uint64(len(bt.Blocks)))
		events := bt.Events()
		it := &inflight{batch: bt, msgs: make([]*outMsg, len(events)),
			remaining: len(events), done: make(chan struct{}), events: len(events), start: time.Now()}
		for i := range events {
			// The stream library sets every event's MonitorID to the
			// subscription's, p.id.
			o := outMsgPool.Get().(*outMsg)
			o.fill(prefix, &events[i], monitor)
			it.msgs[i] = o
			if ts := events[i].Timestamp; ts.After(it.newest) {
				it.newest = ts
			}
		}
		if it.remaining == 0 {
			close(it.done)
		}
		for rest := it.msgs; len(rest) > 0; {
			n, err := p.acquire(ctx, len(rest))
			if n == 0 {
				return err // nil when ctx ended
			}
			chunk := rest[:n]
			rest = rest[n:]
			// Registered before publishing: a PubAck can come back before
			// PublishMsgAsync returns.
			p.mu.Lock()
			for _, o := range chunk {
				p.waiting[&o.Msg] = it
			}
			p.m.inflight.Add(int64(len(chunk)))
			p.mu.Unlock()
			for _, o := range chunk {
				select {
				case st := <-p.connLost:
					if st == nats.CLOSED {
						return ErrConnClosed
					}
					return fmt.Errorf("%w: the NATS connection went %v during the session", ErrJetStreamUnavailable, st)
				default:
				}
				if _, err := p.js.PublishMsgAsync(&o.Msg); err != nil {
					return p.publishErr(&o.Msg, err)
				}
			}
		}
		p.b.stats.events.Add(uint64(len(events)))
		select {
		case p.pending <- it:
		case <-ctx.Done():
			return nil
		}
	}
}

// acquire takes the semaphore units of the next messages to publish, of
// which want remain in the batch: all of them (up to MaxPending) when
// they are free, or else as many as chunk once PubAcks have returned
// them. It returns how many it took; 0 with a nil error when ctx ended,
// and 0 with a timeout error when no PubAck returned a unit within
// AckTimeout.
func (p *pipeline) acquire(ctx context.Context, want int) (int, error) {
	n := min(want, p.b.cfg.MaxPending)
	for {
		if p.sem.TryAcquire(int64(n)) {
			return n, nil
		}
		c := min(n, p.chunk)
		wctx, cancel := context.WithTimeout(ctx, p.b.cfg.AckTimeout)
		err := p.sem.Acquire(wctx, int64(c))
		cancel()
		switch {
		case err == nil:
			return c, nil
		case ctx.Err() != nil:
			return 0, nil
		}
		if err := p.stalledErr(); err != nil {
			return 0, err
		}
		// Units came back just as the wait timed out: try again.
	}
}

// stalledErr names a message still without its PubAck when publish has
// waited AckTimeout for one; nil if there is none any more.
func (p *pipeline) stalledErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for m, it := range p.waiting {
		if it.err != nil {
			return it.err
		}
		return &PublishError{MonitorID: p.id, Subject: m.Subject, MsgID: m.Header.Get(HeaderMsgID),
			Err: fmt.Errorf("no PubAck within %v: %w", p.b.cfg.AckTimeout, jetstream.ErrAsyncPublishTimeout)}
	}
	return nil
}

// onAck is the JetStream client's handler of every PubAck. It runs on the
// client's reader goroutine and must not block.
func (p *pipeline) onAck(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
	var wrong error
	if ack.Stream != p.b.cfg.Stream {
		wrong = &PublishError{MonitorID: p.id, Subject: m.Subject, MsgID: m.Header.Get(HeaderMsgID), permanent: true,
			Err: fmt.Errorf("stored in stream %q, not %q: the subjects overlap another stream", ack.Stream, p.b.cfg.Stream)}
	} else if ack.Duplicate {
		p.b.stats.duplicates.Add(1)
	} else {
		p.b.stats.stored.Add(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	it := p.waiting[m]
	if it == nil {
		return
	}
	delete(p.waiting, m)
	p.m.inflight.Add(-1)
	p.sem.Release(1)
	if it.err != nil {
		return
	}
	if wrong != nil {
		it.err = wrong
		close(it.done)
		return
	}
	it.remaining--
	if it.remaining == 0 {
		close(it.done)
	}
}

// onErr is the JetStream client's handler of failed publishes: error
// replies, lost connections (nats.ErrDisconnected) and the clean-up at the
// end of the session.
func (p *pipeline) onErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	it := p.waiting[m]
	if it == nil {
		return
	}
	delete(p.waiting, m)
	p.m.inflight.Add(-1)
	p.sem.Release(1)
	if it.err == nil {
		it.err = p.publishErr(m, err)
		close(it.done)
	}
}

// confirm acknowledges each batch once all its events are confirmed. A
// batch not complete within AckTimeout of the previous one's ack (or of
// its own publishing) fails the session.
func (p *pipeline) confirm(ctx context.Context) error {
	timer := time.NewTimer(p.b.cfg.AckTimeout)
	defer timer.Stop()
	for it := range p.pending {
		timer.Reset(p.b.cfg.AckTimeout)
		select {
		case <-it.done:
		case <-timer.C:
			return p.timeoutErr(it)
		case <-ctx.Done():
			return nil
		}
		if it.err != nil { // written before done was closed
			return it.err
		}
		for _, o := range it.msgs {
			o.recycle() // every one confirmed, so forgotten by the client
		}
		it.msgs = nil
		err := it.batch.Ack()
		blocks := uint64(len(it.batch.Blocks))
		switch {
		case err == nil:
			p.progress = true
			p.b.stats.acked.Add(blocks)
			p.acked(it)
		case errors.Is(err, stream.ErrSessionClosed):
			// The events are stored; the push connection that delivered
			// the blocks ended, so Remote Manager replays them on the next
			// one and JetStream drops the copies.
			p.b.stats.ackLost.Add(blocks)
		default:
			return err
		}
	}
	return nil
}

// timeoutErr names a message of it still without its PubAck.
func (p *pipeline) timeoutErr(it *inflight) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if it.err != nil {
		return it.err // failed just now
	}
	for _, o := range it.msgs {
		if m := &o.Msg; p.waiting[m] == it {
			return &PublishError{MonitorID: p.id, Subject: m.Subject, MsgID: m.Header.Get(HeaderMsgID),
				Err: fmt.Errorf("no PubAck within %v: %w", p.b.cfg.AckTimeout, jetstream.ErrAsyncPublishTimeout)}
		}
	}
	return nil // completed just now: cannot happen, done would be closed
}

// publishErr wraps a failed publish, marking those no retry can fix.
func (p *pipeline) publishErr(m *nats.Msg, err error) *PublishError {
	var api *jetstream.APIError
	perm := errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
	return &PublishError{MonitorID: p.id, Subject: m.Subject, MsgID: m.Header.Get(HeaderMsgID), Err: err, permanent: perm}
}

// acked records a batch acknowledged to Remote Manager: the monitor's
// last ack and lag, and the store latency for Config.ObserveStore.
func (p *pipeline) acked(it *inflight) {
	now := time.Now()
	p.m.acked(now, it.newest)
	if f := p.b.cfg.ObserveStore; f != nil {
		f(p.id, it.events, now.Sub(it.start))
	}
}

// forget drops the messages still awaiting a PubAck when the session
// ends, after the JetStream client has let go of them.
func (p *pipeline) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m.inflight.Add(-int64(len(p.waiting)))
	clear(p.waiting)
}
