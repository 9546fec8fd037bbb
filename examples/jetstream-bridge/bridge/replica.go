package bridge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

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

// heartbeat writes the replica's heartbeat key. After the first write it
// updates the key at the revision of its last one: a change in between
// that is not its own is another running replica with the same name,
// which it reports (such twins count as one replica, so the monitors do
// not spread evenly; they never share a lease, whose value names the
// process).
func (r *replica) heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
	defer cancel()
	var (
		rev uint64
		err error
	)
	if r.memberRev != 0 {
		rev, err = r.kv.Update(ctx, r.member, r.value, r.memberRev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
			// Expired (a long NATS outage) or written by another process.
			if e, gerr := r.kv.Get(ctx, r.member); gerr == nil && e.Operation() == jetstream.KeyValuePut &&
				!bytes.Equal(e.Value(), r.value) && !r.twin {
				r.twin = true
				r.b.log(slog.LevelError, "bridge: another running replica uses this replica's name; names must be unique "+
					"(the monitors do not spread evenly until then)", "replica", r.name)
			}
			rev, err = r.kv.Put(ctx, r.member, r.value)
		}
	} else {
		rev, err = r.kv.Put(ctx, r.member, r.value)
	}
	if err != nil {
		r.memberRev = 0 // a lost answer may have stored it: write it anew
		return err
	}
	r.memberRev = rev
	return nil
}

// instance returns 8 random hex digits naming this process in the lease
// values, beside the replica's name.
func instance() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// streaming reports whether a monitor this replica holds has its push
// session connected.
func (r *replica) streaming() bool {
	for _, l := range r.held {
		if l.m.status().State == MonitorStreaming {
			return true
		}
	}
	return false
}

// standBy updates the replica's health with this round's observations —
// whether one of its monitors streams, whether another replica does — and
// starts a stand-by when it has held leases without a push session
// connected for StandByAfter while another replica streamed all along
// (see Ownership). It reports whether it did.
func (r *replica) standBy(ctx context.Context, now time.Time, streaming, others bool) bool {
	after := r.b.cfg.Ownership.StandByAfter
	switch {
	case streaming:
		r.quietSince, r.nextStandBy = time.Time{}, 0
	case len(r.held) == 0:
		r.quietSince = time.Time{}
	case r.quietSince.IsZero():
		r.quietSince = now
	}
	switch {
	case !others:
		r.othersSince = time.Time{}
	case r.othersSince.IsZero():
		r.othersSince = now
	}
	if after < 0 || r.quietSince.IsZero() || r.othersSince.IsZero() ||
		now.Sub(r.quietSince) < after || now.Sub(r.othersSince) < after {
		return false
	}
	d := r.nextStandBy
	if d == 0 {
		d = after
	}
	r.b.stats.standBys.Add(1)
	r.b.log(slog.LevelWarn, "bridge: no push session connected while other replicas stream: Remote Manager unreachable from here? "+
		"handing the monitors over and standing by", "replica", r.name, "quiet_for", now.Sub(r.quietSince).Round(time.Second),
		"monitors", len(r.held), "stand_by", d)
	r.nextStandBy = min(2*d, maxStandBy)
	r.standByUntil = now.Add(d)
	r.quietSince, r.othersSince = time.Time{}, time.Time{}
	r.rounds, r.over = 0, 0
	// Counted out of the others' share at once, rather than at the
	// heartbeat's expiry.
	dctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
	_ = r.kv.Delete(dctx, r.member)
	cancel()
	r.memberRev = 0
	for _, l := range r.held {
		l.handOver()
	}
	return true
}

// claim creates monitor id's lease, returning its revision and when the
// write that made it was sent (the lease lives at least a TTL from then).
func (r *replica) claim(ctx context.Context, id uint32) (rev uint64, sent time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
	defer cancel()
	key := leaseKey(id)
	sent = time.Now()
	rev, err = r.kv.Create(ctx, key, r.value)
	if err == nil || errors.Is(err, jetstream.ErrKeyExists) {
		return rev, sent, err
	}
	// The create may have been stored with its answer lost: then the key
	// holds this replica's name, and an update at its revision confirms
	// the lease with a known time.
	if cur, ok := ours(ctx, r.kv, key, r.value); ok {
		sent = time.Now()
		rev, err = r.kv.Update(ctx, key, r.value, cur)
	}
	return rev, sent, err
}

// hold starts l's holder.
func (r *replica) hold(l *lease) {
	r.held[l.m.id] = l
	r.wg.Go(func() {
		err := r.b.holdLease(r.lctx, r.timing, l)
		r.ended <- leaseEnd{id: l.m.id, err: err}
	})
}

// giveBack hands n of the held monitors over: those not streaming first,
// then the highest ids.
func (r *replica) giveBack(n, share, members int) {
	var ls []*lease
	for _, l := range r.held {
		if !l.releasing.Load() {
			ls = append(ls, l)
		}
	}
	slices.SortFunc(ls, func(a, b *lease) int {
		sa, sb := a.m.status().State == MonitorStreaming, b.m.status().State == MonitorStreaming
		if sa != sb {
			if sa {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.m.id, a.m.id)
	})
	r.b.log(slog.LevelInfo, "bridge: handing monitors over to rebalance", "count", n, "share", share, "replicas", members)
	for _, l := range ls[:min(n, len(ls))] {
		l.handOver()
	}
}

// candidates are the monitors this replica may try to take: not held by
// it or (as listed) by another, not stopped for good here; in an order
// that starts at a place of its own, so that replicas starting together
// rarely try the same monitor.
func (r *replica) candidates(leased map[uint32]bool) []*monitorState {
	mons := r.b.mons
	h := fnv.New32a()
	h.Write([]byte(r.name))
	start := int(h.Sum32() % uint32(len(mons)))
	var out []*monitorState
	for i := range mons {
		m := mons[(start+i)%len(mons)]
		if r.held[m.id] != nil || leased[m.id] || r.failed[m.id] != nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

// monitorSet is the fingerprint of a set of monitor ids, whatever their
// order: 16 hex digits.
func monitorSet(ids []uint32) string {
	h := sha256.New()
	for _, id := range slices.Sorted(slices.Values(ids)) {
		h.Write(binary.BigEndian.AppendUint32(nil, id))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// list reads the bucket's keys: the number of live replicas of this
// monitor set (heartbeats), the monitors leased, and whether another
// replica of the set streams. Replicas of other monitor sets are counted
// apart: each set's own replicas take all of its monitors between them.
func (r *replica) list(ctx context.Context) (members int, leased map[uint32]bool, others bool, err error) {
	kl, err := r.kv.ListKeys(ctx)
	if err != nil {
		return 0, nil, false, err
	}
	defer kl.Stop()
	leased = make(map[uint32]bool)
	self, foreign := false, false
	for k := range kl.Keys() {
		if rest, ok := strings.CutPrefix(k, memberPrefix); ok {
			if set, name, ok := strings.Cut(rest, "."); !ok || set != r.set {
				foreign = true
			} else {
				members++
				self = self || name == r.name
			}
			continue
		}
		if rest, ok := strings.CutPrefix(k, streamingPrefix); ok {
			set, name, _ := strings.Cut(rest, ".")
			others = others || set == r.set && name != r.name
			continue
		}
		if id, ok := strings.CutPrefix(k, "lease."); ok {
			if n, err := strconv.ParseUint(id, 10, 32); err == nil {
				leased[uint32(n)] = true
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, false, err // the listing may be cut short
	}
	if !self {
		members++ // the heartbeat was written just before
	}
	if foreign && !r.foreign {
		r.b.log(slog.LevelWarn, "bridge: replicas with other monitors use this lease bucket; each set of monitors is shared among "+
			"its own replicas (expected during a rolling update that changes the monitors; otherwise give each set its own bucket)",
			"replica", r.name)
	}
	r.foreign = foreign
	return members, leased, others, nil
}
