package bridge

import (
	"cmp"
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Taking and giving back monitors: the candidates a replica tries, a lease
// claimed and its holder started, the surplus handed over when the share
// shrinks, and the stand-by of a replica that cannot reach Remote Manager
// while others stream.

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
	key := leaseKey(id)
	cctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
	sent = time.Now()
	rev, err = r.kv.Create(cctx, key, r.value)
	cancel()
	if err == nil || errors.Is(err, jetstream.ErrKeyExists) || ctx.Err() != nil {
		return rev, sent, err
	}
	// The create may have been stored with its answer lost: then the key
	// holds this replica's name, and an update at its revision confirms
	// the lease with a known time. A lost answer is mostly a timeout, so
	// this check gets a time of its own: left on the server, the lease
	// would keep the monitor from everyone, this replica included, for a
	// TTL.
	cctx, cancel = context.WithTimeout(ctx, r.timing.opTimeout)
	defer cancel()
	if cur, ok := ours(cctx, r.kv, key, r.value); ok {
		sent = time.Now()
		rev, err = r.kv.Update(cctx, key, r.value, cur)
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
