package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
)

func TestOwnershipValidates(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	kv, err := EnsureLeaseBucket(ctx, js, "leases", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != DefaultLeaseTTL || st.History() != 1 {
		t.Fatalf("created bucket: %+v, %v", st, err)
	}
	push := stream.Config{Addr: "127.0.0.1:1", Plaintext: true, Username: "u"}
	for name, own := range map[string]*Ownership{
		"no bucket":   {Replica: "r1"},
		"dot":         {Leases: kv, Replica: "a.b"},
		"space":       {Leases: kv, Replica: "a b"},
		"wildcard":    {Leases: kv, Replica: "a*"},
		"too long":    {Leases: kv, Replica: strings.Repeat("r", 65)},
		"non-ascii":   {Leases: kv, Replica: "é"},
		"gt":          {Leases: kv, Replica: ">"},
		"empty other": {},
	} {
		if _, err := New(Config{Conn: nc, Push: push, Monitors: []uint32{1}, Ownership: own}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
	b, err := New(Config{Conn: nc, Push: push, Monitors: []uint32{1}, Ownership: &Ownership{Leases: kv}})
	if err != nil {
		t.Fatal(err)
	}
	name := b.cfg.Ownership.Replica
	if ValidReplicaName(name) != nil || name == DefaultReplicaName() {
		t.Errorf("default replica name %q: not valid, or not random", name)
	}
	if s := fmt.Sprint(b.cfg); !strings.Contains(s, "replica "+name) {
		t.Errorf("Config prints as %s", s)
	}

	// TTLs the fencing cannot work with.
	if _, err := EnsureLeaseBucket(ctx, js, "short", 500*time.Millisecond, 1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("a 500 ms TTL: %v", err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "forever"}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureLeaseBucket(ctx, js, "forever", time.Second, 1); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("an existing bucket without TTL: %v", err)
	}
	// Run checks the bucket too.
	forever, err := js.KeyValue(ctx, "forever")
	if err != nil {
		t.Fatal(err)
	}
	b, err = New(Config{Conn: nc, Push: push, Monitors: []uint32{1}, Ownership: &Ownership{Leases: forever, Replica: "r"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runBridge(t, b).wait(t, hangTimeout); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Run on a bucket without TTL: %v", err)
	}
	// An existing bucket keeps its TTL.
	kv, err = EnsureLeaseBucket(ctx, js, "leases", 3*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != DefaultLeaseTTL {
		t.Errorf("existing bucket: %+v, %v", st, err)
	}
}

// Monitors and ObserveStore tell what a single bridge does: streaming,
// nothing in flight once idle, the last ack and lag, a latency per batch;
// stopped once it has shut down.
func TestMonitorsStatusAndObserveStore(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 10)
	var mu sync.Mutex
	observed, batches := 0, 0
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff,
		ObserveStore: func(id uint32, events int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if id != mon || d <= 0 {
				t.Errorf("ObserveStore(%d, %d, %v)", id, events, d)
			}
			observed += events
			batches++
		}})
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Monitors(); len(st) != 1 || st[0].ID != mon || !st[0].Owned || st[0].State != MonitorStarting {
		t.Errorf("before Run: %+v", st)
	}
	r := runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	sim.Publish(events(0, 500)...)
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatal(err)
	}
	waitFor(t, hangTimeout, "the bridge to count its last ack", func() bool { s := b.Stats(); return s.Acked == s.Blocks })
	st := b.Monitors()[0]
	if st.State != MonitorStreaming || !st.Owned || st.InFlight != 0 || st.LastAck.IsZero() || st.Lag <= 0 || st.Err != nil {
		t.Errorf("while streaming: %+v", st)
	}
	mu.Lock()
	if observed != 500 || batches == 0 || uint64(batches) > b.Stats().Acked {
		t.Errorf("ObserveStore saw %d events in %d batches; %d blocks acked", observed, batches, b.Stats().Acked)
	}
	mu.Unlock()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Fatal(err)
	}
	if st := b.Monitors()[0]; st.State != MonitorStopped || st.Owned {
		t.Errorf("after Shutdown: %+v", st)
	}
	for _, s := range MonitorStates() {
		if strings.HasPrefix(s.String(), "MonitorState(") {
			t.Errorf("state %d has no name", s)
		}
	}
}

// A monitor that fails for good on a replica (Remote Manager does not know
// it) is released and tried by the other replica in turn; the good monitor
// keeps streaming, and after Shutdown Run returns the monitor's error.
func TestReplicaPermanentFailureReleasesMonitor(t *testing.T) {
	w := newHAWorld(t, 2, haTTL)
	w.mons = append(w.mons, 999_999)
	a, b := w.startReplica("a"), w.startReplica("b")
	reps := []*testReplica{a, b}
	waitFor(t, hangTimeout, "both replicas to give up the unknown monitor", func() bool {
		for _, r := range reps {
			if st := r.b.Monitors()[2]; st.State != MonitorStopped || !errors.Is(st.Err, stream.ErrBadRequest) {
				return false
			}
		}
		return true
	})
	w.mons = w.mons[:2]
	w.waitSettled(settleWait, "the good monitors to stream", reps...)
	if op, _ := leaseRecord(t, w.js, 999_999); op == "PUT" {
		t.Error("the unknown monitor's lease is still held")
	}
	w.publish(50)
	w.waitIdle(reps...)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	for _, r := range reps {
		if err := r.b.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.run.wait(t, hangTimeout); !errors.Is(err, stream.ErrBadRequest) {
			t.Errorf("%s: Run: %v, want the unknown monitor's stream.ErrBadRequest", r.name, err)
		}
	}
	w.checkPeaks()
	w.checkStream()
}
