package bridge

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// haTTL is the lease TTL of the replica tests: renewals every 2 s, each
// given 2.5 s, fencing at 5 s. Shorter TTLs work too, but a machine
// starved of CPU (the race detector, other work) then fences sessions
// again and again — the TTL trade-off: with 4 s, a load of 25 on two cores
// made renewals miss their 1 s so often that three replicas never had
// every monitor streaming at once within two minutes.
const haTTL = 10 * time.Second

// settleWait bounds the waits for every monitor to stream: generous, for
// loaded machines.
const settleWait = 2 * time.Minute

// One replica takes every monitor; two more join and the monitors spread
// (at most ceil(20/3) = 7 each) through graceful hand-overs. At no time is
// a monitor connected by two replicas, and the stream holds every event
// exactly once.
func TestReplicasShareMonitorsExactlyOnce(t *testing.T) {
	w := newHAWorld(t, 20, haTTL)
	w.startPublishing()
	a := w.startReplica("a")
	w.waitSettled(settleWait, "replica a to stream every monitor", a)
	if n := len(a.owned()); n != 20 {
		t.Fatalf("a alone owns %d monitors", n)
	}
	b, c := w.startReplica("b"), w.startReplica("c")
	reps := []*testReplica{a, b, c}
	w.waitShared(settleWait, 7, reps...)
	t.Logf("spread:\n%s", describe(reps))
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps...)
	shutdown(t, reps...)
	w.checkPeaks()
	n := w.checkStream()
	if a.b.Stats().LeasesReleased < 13 {
		t.Errorf("a handed over %d leases, want at least 13", a.b.Stats().LeasesReleased)
	}
	t.Logf("%d events exactly once; replicas:\n%s", n, describe(reps))
}

// spread reports whether every replica owns at least one and at most share
// monitors.
func spread(reps []*testReplica, share int) bool {
	for _, r := range reps {
		if n := len(r.owned()); n < 1 || n > share {
			return false
		}
	}
	return true
}

// shutdown stops the replicas gracefully, all at once.
func shutdown(t *testing.T, reps ...*testReplica) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	errs := make(chan error, len(reps))
	for _, r := range reps {
		go func() { errs <- r.b.Shutdown(ctx) }()
	}
	for range reps {
		if err := <-errs; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	for _, r := range reps {
		if err := r.run.wait(t, hangTimeout); err != nil {
			t.Errorf("%s: Run: %v", r.name, err)
		}
	}
}

// A replica killed abruptly keeps its leases until they expire; then the
// others take its monitors over, and nothing is lost or duplicated.
func TestReplicaKilledMonitorsTakenOver(t *testing.T) {
	w := newHAWorld(t, 20, haTTL)
	w.startPublishing()
	reps := []*testReplica{w.startReplica("a"), w.startReplica("b"), w.startReplica("c")}
	// Wait for the spread too: a replica handing a monitor over after the
	// victim was chosen would leave a release marker on its lease.
	w.waitShared(settleWait, 7, reps...)
	victim := slices.MaxFunc(reps, func(x, y *testReplica) int { return len(x.owned()) - len(y.owned()) })
	lost := victim.owned()
	survivors := slices.DeleteFunc(slices.Clone(reps), func(r *testReplica) bool { return r == victim })

	killed := time.Now()
	victim.kill()
	// Nothing was released: each lease is still the victim's, or has
	// expired (leaving nothing), or was taken after that; a release would
	// have left a delete marker.
	for _, id := range lost {
		if op, owner := leaseRecord(t, w.js, id); op != "PUT" && op != "" {
			t.Errorf("monitor %d: the killed replica's lease was released (%s, %q)", id, op, owner)
		}
	}
	// Not a wall-clock budget: the deadline only bounds the wait.
	w.waitSettled(haTTL+settleWait, "the survivors to take the killed replica's monitors over", survivors...)
	t.Logf("replica %s (%d monitors) killed; its monitors taken over after %v (lease TTL %v)",
		victim.name, len(lost), time.Since(killed).Round(time.Millisecond), haTTL)
	for _, r := range survivors {
		if n := len(r.owned()); n > 10 {
			t.Errorf("%s owns %d monitors, more than its share of 10", r.name, n)
		}
	}
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(survivors...)
	shutdown(t, survivors...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// Shutdown releases the leases at once: with a lease TTL far longer than
// the test may run, the other replicas can only take the monitors over
// because they were released.
func TestReplicaShutdownReleasesLeasesAtOnce(t *testing.T) {
	const ttl = time.Hour
	w := newHAWorld(t, 12, ttl)
	w.startPublishing()
	reps := []*testReplica{w.startReplica("a"), w.startReplica("b"), w.startReplica("c")}
	// Wait for the spread too: the leaving replica must hold some.
	w.waitShared(settleWait, 4, reps...)
	leaving := reps[0]
	mine := leaving.owned()
	if len(mine) == 0 {
		t.Fatalf("a owns nothing; replicas:\n%s", describe(reps))
	}
	stopped := time.Now()
	shutdown(t, leaving)
	for _, id := range mine {
		if owner := leaseOwner(t, w.js, id); owner == leaving.name {
			t.Errorf("monitor %d: the lease is still a's after its Shutdown", id)
		}
	}
	if st := leaving.b.Stats(); st.LeasesReleased < uint64(len(mine)) {
		t.Errorf("a released %d leases, held %d", st.LeasesReleased, len(mine))
	}
	// Not a speed budget: the TTL is far beyond this wait (and beyond the
	// test binary's timeout), so no lease expired on the way.
	w.waitSettled(settleWait, "the others to take a's monitors over", reps[1:]...)
	t.Logf("a's %d monitors taken over %v after its Shutdown began (lease TTL %v)", len(mine), time.Since(stopped), ttl)
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps[1:]...)
	shutdown(t, reps[1:]...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// A replica whose NATS connection hangs (no error, no disconnection: the
// network silently stops carrying its packets) cannot renew its leases:
// it closes its push connections by itself (fencing) while the leases are
// still its own, and the others take the monitors over once the leases
// have expired. When its network comes back it finds the leases gone and
// joins again. No monitor is ever connected twice, and the stream holds
// every event once. The TTL is long enough here (10 s) for the test to see
// the leases still alive when the push connections are closed.
func TestReplicaHungNATSIsFenced(t *testing.T) {
	const ttl = 10 * time.Second
	w := newHAWorld(t, 12, ttl)
	w.startPublishing()
	reps := []*testReplica{w.startReplica("a"), w.startReplica("b"), w.startReplica("c")}
	// Wait for the spread too: a replica still handing monitors over
	// would not own, once stalled, what it owned a moment before.
	w.waitShared(settleWait, 4, reps...)
	hung := reps[0]
	mine := hung.owned()
	hung.dial.stall()
	stalled := time.Now()
	waitFor(t, hangTimeout, "the hung replica to close its push connections", func() bool {
		for _, id := range mine {
			if open, _ := w.sim.PushSessions(id); open != 0 {
				return false
			}
		}
		return true
	})
	closedAt := time.Now()
	// The promise: closed before the lease could expire and be taken.
	// Each lease lives a TTL from its last write (the server's clock, the
	// test's clock too).
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	kv, err := w.js.KeyValue(ctx, testBucket)
	if err != nil {
		t.Fatal(err)
	}
	least, checked := ttl, 0
	for _, id := range mine {
		e, err := kv.Get(ctx, leaseKey(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			// Expired while this test was held up: nothing to check.
			t.Logf("monitor %d: the lease expired before it could be read", id)
			continue
		}
		if err != nil || replicaOf(e.Value()) != hung.name {
			t.Fatalf("monitor %d: the lease is not the hung replica's any more (%v)", id, err)
		}
		least = min(least, e.Created().Add(ttl).Sub(closedAt))
		checked++
	}
	t.Logf("push connections closed %v after the stall, each lease then alive for %v more at least (TTL %v, fencing at %v)",
		closedAt.Sub(stalled).Round(time.Millisecond), least.Round(time.Millisecond), ttl, ttl/2)
	if checked == 0 || least <= 0 {
		t.Errorf("a lease had expired when the push connections were closed (%d leases checked)", checked)
	}
	w.waitSettled(ttl+settleWait, "the others to take the hung replica's monitors over", reps[1:]...)
	if st := hung.b.Stats(); st.Fenced < uint64(len(mine)) {
		t.Errorf("the hung replica fenced %d sessions, held %d monitors", st.Fenced, len(mine))
	}
	hung.dial.resume()
	w.waitShared(settleWait, 4, reps...) // the hung replica rejoins
	if st := hung.b.Stats(); st.LeasesLost < uint64(len(mine)) {
		t.Errorf("the hung replica lost %d leases, held %d", st.LeasesLost, len(mine))
	}
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps...)
	shutdown(t, reps...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// While the NATS server is down every replica stops its sessions; after it
// is back, each monitor is bridged again by exactly one replica, and no
// event is lost or duplicated.
func TestReplicasNATSOutage(t *testing.T) {
	w := newHAWorld(t, 20, haTTL)
	w.startPublishing()
	reps := []*testReplica{w.startReplica("a"), w.startReplica("b"), w.startReplica("c")}
	w.waitSettled(settleWait, "the replicas to stream every monitor", reps...)
	w.ns.stop()
	waitFor(t, hangTimeout, "every push session to stop and every lease to be given up", func() bool {
		for _, id := range w.mons {
			if open, _ := w.sim.PushSessions(id); open != 0 {
				return false
			}
		}
		for _, r := range reps {
			if len(r.owned()) != 0 {
				return false
			}
		}
		return true
	})
	w.ns.restart()
	w.waitSettled(haTTL+settleWait, "the replicas to stream every monitor again", reps...)
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps...)
	shutdown(t, reps...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// Replicas with different monitor sets on one lease bucket (two shards
// left on the default bucket, or a rolling update that changes the
// monitors): every monitor of every set is still bridged, by one replica.
func TestReplicasWithDifferentMonitorSetsShareABucket(t *testing.T) {
	w := newHAWorld(t, 12, haTTL)
	w.startPublishing()
	reps := []*testReplica{
		w.startReplicaWith("a1", replicaOpts{monitors: w.mons[:6]}),
		w.startReplicaWith("b1", replicaOpts{monitors: w.mons[6:]}),
		w.startReplicaWith("b2", replicaOpts{monitors: w.mons[6:]}),
		w.startReplicaWith("all", replicaOpts{monitors: w.mons}),
	}
	w.waitSettled(settleWait, "every monitor of every set to stream", reps...)
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps...)
	shutdown(t, reps...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// Two running replicas with the same name (a -replica-name copied into
// every replica's command line) are reported, and still never share a
// lease: each monitor is connected once, and the stream holds every event
// once.
func TestReplicasWithTheSameNameAreReported(t *testing.T) {
	w := newHAWorld(t, 6, haTTL)
	w.startPublishing()
	var logs logBuffer
	reps := []*testReplica{
		w.startReplicaWith("twin", replicaOpts{logs: &logs}),
		w.startReplicaWith("twin", replicaOpts{logs: &logs}),
	}
	waitFor(t, settleWait, "a replica to report its twin", func() bool {
		return strings.Contains(logs.String(), "another running replica uses this replica's name")
	})
	w.waitSettled(settleWait, "every monitor to stream", reps...)
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(reps...)
	shutdown(t, reps...)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}
