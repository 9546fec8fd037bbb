package bridge

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A replica's life in Run with Ownership: its rounds (heartbeat,
// membership, then taking or giving back leases), the return of its lease
// holders, its graceful leave, and the report of a lease bucket that keeps
// failing. Membership is in membership.go; taking and giving back monitors
// in rebalance.go.

// replica is the state of Run with Ownership: the leases this replica
// holds and the monitors that stopped for good here. Only Run's goroutine
// uses it.
type replica struct {
	b       *Bridge
	kv      jetstream.KeyValue
	name    string
	set     string // the fingerprint of the monitor set (monitorSet)
	member  string // heartbeat key
	value   []byte // of the heartbeats and leases: "<replica> <instance>"
	foreign bool   // replicas of another monitor set were in the last listing
	twin    bool   // another process with this replica's name was reported
	// memberRev is the revision of the last heartbeat write; 0 when the
	// next one is a plain put.
	memberRev uint64
	// failingSince is when the rounds began to fail (zero: the last one
	// succeeded); warned, whether that was reported.
	failingSince time.Time
	warned       bool
	timing       leaseTiming // zero until the bucket's TTL is known
	rounds       int         // successful rounds
	over         int         // consecutive rounds holding more than the share
	held         map[uint32]*lease
	failed       map[uint32]error
	ended        chan leaseEnd
	wg           sync.WaitGroup
	lctx         context.Context // the lease holders'
	lcancel      context.CancelFunc

	// Stand-by (see Ownership): since when this replica has held leases
	// without a push session connected, and since when another replica
	// has streamed without a break (zero: not so); until when it stands
	// by, and for how long the next stand-by lasts (0: StandByAfter).
	quietSince, othersSince time.Time
	standByUntil            time.Time
	nextStandBy             time.Duration
}

type leaseEnd struct {
	id  uint32
	err error
}

// runShared is Run with Ownership.
func (b *Bridge) runShared(ctx context.Context) error {
	own := b.cfg.Ownership
	set := monitorSet(b.cfg.Monitors)
	r := &replica{
		b: b, kv: own.Leases, name: own.Replica, set: set, member: memberPrefix + set + "." + own.Replica,
		value: []byte(own.Replica + " " + instance()),
		held:  make(map[uint32]*lease), failed: make(map[uint32]error),
		ended: make(chan leaseEnd, len(b.mons)), // at most one holder per monitor, each ends once
	}
	r.lctx, r.lcancel = context.WithCancel(ctx)
	defer func() {
		r.lcancel()
		r.wg.Wait()
		for _, m := range b.mons {
			if _, ok := r.failed[m.id]; !ok {
				m.setPhase(MonitorUnowned)
			}
		}
	}()
	b.log(slog.LevelInfo, "bridge: sharing monitors with other replicas", "replica", r.name, "monitors", len(b.mons))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.stop:
			return r.leave(ctx)
		case e := <-r.ended:
			if err := r.end(e); err != nil {
				return err
			}
			timer.Reset(0) // take another monitor if the share allows
		case <-timer.C:
			if err := r.round(ctx); err != nil {
				b.log(slog.LevelError, "bridge: replica stopped", "replica", r.name, "err", err)
				return err
			}
			every := time.Second
			if r.timing.ttl != 0 {
				every = r.timing.round
			}
			timer.Reset(every)
		}
	}
}

// end handles a lease holder's return; a non-nil result ends Run.
func (r *replica) end(e leaseEnd) error {
	delete(r.held, e.id)
	switch {
	case e.err == nil, errors.Is(e.err, errLeaseLost):
		return nil
	case errors.Is(e.err, ErrConnClosed):
		return ErrConnClosed
	}
	r.failed[e.id] = e.err
	if len(r.failed) == len(r.b.mons) {
		return r.failures()
	}
	return nil
}

func (r *replica) failures() error {
	errs := make([]error, 0, len(r.failed))
	for _, m := range r.b.mons {
		if err := r.failed[m.id]; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// leave is the graceful end: the heartbeat is deleted first, so that the
// others count this replica out while its sessions end and its leases are
// released (each holder sees b.stop).
func (r *replica) leave(ctx context.Context) error {
	if r.timing.ttl != 0 {
		dctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
		_ = r.kv.Delete(dctx, r.member)
		cancel()
	}
	for len(r.held) > 0 {
		_ = r.end(<-r.ended) // the holders end by themselves, gracefully or, if ctx ends, abruptly
	}
	return r.failures()
}

// round is one ownership round: heartbeat, membership, then taking or
// giving back leases. Transient failures skip the round; the error
// returned is permanent.
func (r *replica) round(ctx context.Context) error {
	b := r.b
	if b.cfg.Conn.IsClosed() {
		return ErrConnClosed
	}
	if r.timing.ttl == 0 {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := r.kv.Status(sctx)
		cancel()
		if err != nil {
			b.log(slog.LevelWarn, "bridge: lease bucket not reachable", "err", err)
			return nil
		}
		if err := checkLeaseTTL(st.Bucket(), st.TTL()); err != nil {
			return err
		}
		r.timing = newLeaseTiming(st.TTL())
	}
	t := r.timing
	now := time.Now()
	if now.Before(r.standByUntil) {
		return nil // no heartbeat, no lease taken
	}
	if err := r.heartbeat(ctx); err != nil {
		// As at the start, the next successful round waits for the peers'
		// heartbeats (they are gone too after a long NATS outage).
		r.rounds = 0
		b.log(slog.LevelDebug, "bridge: heartbeat failed", "err", err)
		r.trouble(now, err)
		return nil
	}
	streaming := r.streaming()
	if streaming {
		rctx, cancel := context.WithTimeout(ctx, t.opTimeout)
		_, err := r.kv.Put(rctx, streamingPrefix+r.set+"."+r.name, r.value)
		cancel()
		if err != nil {
			b.log(slog.LevelDebug, "bridge: streaming heartbeat failed", "err", err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, t.opTimeout)
	members, leased, others, err := r.list(rctx)
	cancel()
	if err != nil {
		b.log(slog.LevelDebug, "bridge: listing the leases failed", "err", err)
		r.trouble(now, err)
		return nil
	}
	r.fine()
	if r.standBy(ctx, now, streaming, others) {
		return nil
	}
	r.rounds++
	if r.rounds == 1 {
		return nil // let the peers' heartbeats in first
	}
	members = max(members, 1)
	share := (len(b.mons) + members - 1) / members
	owned := 0
	for _, l := range r.held {
		if !l.releasing.Load() {
			owned++
		}
	}
	if owned > share {
		r.over++
	} else {
		r.over = 0
	}
	if r.over >= 2 {
		r.giveBack(owned-share, share, members)
		r.over = 0
		return nil
	}
	for _, m := range r.candidates(leased) {
		if owned >= share {
			break
		}
		rev, sent, err := r.claim(ctx, m.id)
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue
		}
		if err != nil {
			b.log(slog.LevelDebug, "bridge: taking a lease failed", "monitor_id", m.id, "err", err)
			break
		}
		b.stats.leasesAcquired.Add(1)
		r.hold(newLease(m, r.value, rev, sent))
		owned++
	}
	return nil
}

// trouble records a failed round: when the bucket has failed every round
// for a TTL, a warning says so, once (a debug line says each failure).
func (r *replica) trouble(now time.Time, err error) {
	if r.failingSince.IsZero() {
		r.failingSince = now
	}
	if !r.warned && now.Sub(r.failingSince) >= r.timing.ttl {
		r.warned = true
		r.b.log(slog.LevelWarn, "bridge: the lease bucket refuses or does not answer: no monitor is taken or kept until it does",
			"replica", r.name, "for", now.Sub(r.failingSince).Round(time.Millisecond), "err", err)
	}
}

// fine records a successful round.
func (r *replica) fine() {
	if r.warned {
		r.b.log(slog.LevelInfo, "bridge: the lease bucket answers again", "replica", r.name)
	}
	r.failingSince, r.warned = time.Time{}, false
}
