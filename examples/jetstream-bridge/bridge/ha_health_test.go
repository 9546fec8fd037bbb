package bridge

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
)

// unreachablePush is a push configuration whose address refuses every
// connection: a replica that reaches NATS but not Remote Manager.
func unreachablePush(t *testing.T, w *haWorld) *stream.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := pushConfig(w.sim)
	c.Addr = addr
	return &c
}

func standByAfter(d time.Duration) func(*Ownership) {
	return func(o *Ownership) { o.StandByAfter = d }
}

// A replica that reaches NATS but not Remote Manager does not keep the
// monitors it cannot connect while another replica streams: it hands them
// over and stands by, and the other replica bridges every monitor.
func TestReplicaWithoutRemoteManagerStandsBy(t *testing.T) {
	w := newHAWorld(t, 6, haTTL)
	w.startPublishing()
	bad := w.startReplicaWith("bad", replicaOpts{push: unreachablePush(t, w), own: standByAfter(3 * time.Second)})
	waitFor(t, settleWait, "the cut-off replica to take every monitor", func() bool { return len(bad.owned()) == len(w.mons) })
	good := w.startReplicaWith("good", replicaOpts{own: standByAfter(3 * time.Second)})
	reps := []*testReplica{bad, good}
	w.waitSettled(settleWait, "the other replica to stream every monitor", reps...)
	if st := bad.b.Stats(); st.StandBys == 0 {
		t.Errorf("the cut-off replica never stood by: %+v", st)
	}
	if st := good.b.Stats(); st.StandBys != 0 {
		t.Errorf("the streaming replica stood by: %+v", st)
	}
	// The cut-off replica joins again after its stand-by and would hold
	// some monitors unconnected for a while: stop it before the last
	// events.
	shutdown(t, bad)
	w.publish(20)
	w.stopPublishing()
	w.waitIdle(good)
	shutdown(t, good)
	w.checkPeaks()
	t.Logf("%d events exactly once; replicas:\n%s", w.checkStream(), describe(reps))
}

// When no replica can reach Remote Manager (it is down), none stands by:
// the replicas keep their monitors and keep trying.
func TestReplicasWithoutRemoteManagerKeepMonitors(t *testing.T) {
	w := newHAWorld(t, 6, haTTL)
	push := unreachablePush(t, w)
	const after = time.Second
	a := w.startReplicaWith("a", replicaOpts{push: push, own: standByAfter(after)})
	b := w.startReplicaWith("b", replicaOpts{push: push, own: standByAfter(after)})
	reps := []*testReplica{a, b}
	waitFor(t, settleWait, "the replicas to share the monitors", func() bool { return spread(reps, 3) && len(a.owned())+len(b.owned()) == 6 })
	// Nothing should happen while many rounds pass: wait for 40 more
	// writes to the bucket (about 4 a second: each replica's heartbeat
	// and 3 renewals every 2 s), many times StandByAfter.
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	s, err := w.js.Stream(ctx, "KV_"+testBucket)
	if err != nil {
		t.Fatal(err)
	}
	writes := func() uint64 {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	// The first replica may have taken every monitor before the second
	// joined and handed three over to balance: count from the settled
	// state, not from the start.
	before := map[string]Stats{}
	owned := map[string][]uint32{}
	for _, r := range reps {
		before[r.name], owned[r.name] = r.b.Stats(), r.owned()
	}
	from := writes()
	waitFor(t, settleWait, "40 writes to the lease bucket", func() bool { return writes() >= from+40 })
	for _, r := range reps {
		st, was := r.b.Stats(), before[r.name]
		if st.StandBys != 0 || st.LeasesReleased != was.LeasesReleased || st.LeasesAcquired != was.LeasesAcquired {
			t.Errorf("%s stood by, took or released leases while nobody streamed: %+v, was %+v", r.name, st, was)
		}
		if now := r.owned(); !slices.Equal(now, owned[r.name]) {
			t.Errorf("%s owns %v, owned %v when the replicas had settled", r.name, now, owned[r.name])
		}
	}
	shutdown(t, reps...)
}

// A lease bucket that refuses every write (here, created by someone else
// with values limited to 4 bytes) is reported at warning level: the
// replica takes no monitor, and the operator must learn why.
func TestLeaseBucketRefusingWritesIsReported(t *testing.T) {
	w := newHAWorld(t, 2, haTTL)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := w.js.DeleteKeyValue(ctx, testBucket); err != nil {
		t.Fatal(err)
	}
	if _, err := w.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: testBucket, TTL: haTTL, MaxValueSize: 4}); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	r := w.startReplicaWith("a", replicaOpts{logs: &logs})
	waitFor(t, settleWait, "a warning about the lease bucket", func() bool {
		return strings.Contains(logs.String(), `level=WARN msg="bridge: the lease bucket refuses`)
	})
	if n := len(r.owned()); n != 0 {
		t.Errorf("owns %d monitors", n)
	}
}
