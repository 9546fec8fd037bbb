package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

const testBucket = "test_leases"

// haWorld is a NATS server, the stream, a lease bucket, and a simulator
// with n persistent explicit-ack monitors, monitor k receiving the events
// on DataPoint/m<k>/… only.
type haWorld struct {
	t    *testing.T
	ns   *natsServer
	js   jetstream.JetStream
	sim  *streamtest.Server
	mons []uint32

	pubMu     sync.Mutex
	published []int // events published per monitor
	stopPub   context.CancelFunc
	pubWG     sync.WaitGroup
}

func newHAWorld(t *testing.T, monitors int, ttl time.Duration) *haWorld {
	t.Helper()
	w := &haWorld{t: t, ns: startNATS(t), published: make([]int, monitors)}
	w.js = newJS(t, connect(t, w.ns.url()))
	testStream(t, w.js, DefaultStream, DefaultSubjectPrefix)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if _, err := EnsureLeaseBucket(ctx, w.js, testBucket, ttl, 1); err != nil {
		t.Fatal(err)
	}
	sim, err := streamtest.Start(streamtest.Options{HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	w.sim = sim
	for k := range monitors {
		id, err := sim.TryCreateMonitor(streamtest.MonitorSpec{
			Topics: []string{fmt.Sprintf("DataPoint/m%d", k)}, BatchSize: 10, BatchDuration: -1,
			AckExplicit: true, Persistent: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.mons = append(w.mons, id)
	}
	t.Cleanup(w.stopPublishing)
	return w
}

// haEvent is event i of monitor k; its body's "data" is k·10⁶+i.
func haEvent(k, i int) streamtest.Event {
	return streamtest.Event{
		Topic:     fmt.Sprintf("DataPoint/m%d/s%d", k, i%5),
		Operation: "INSERTION",
		Timestamp: time.Now(),
		Body:      json.RawMessage(fmt.Sprintf(`{"id":"m%de%d","data":%d}`, k, i, k*1_000_000+i)),
	}
}

// publish publishes n more events to every monitor.
func (w *haWorld) publish(n int) {
	w.pubMu.Lock()
	defer w.pubMu.Unlock()
	evs := make([]streamtest.Event, 0, n*len(w.mons))
	for k := range w.mons {
		for range n {
			evs = append(evs, haEvent(k, w.published[k]))
			w.published[k]++
		}
	}
	w.sim.Publish(evs...)
}

// startPublishing publishes an event to every monitor every 50 ms until
// stopPublishing.
func (w *haWorld) startPublishing() {
	ctx, cancel := context.WithCancel(context.Background())
	w.stopPub = cancel
	w.pubWG.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				w.publish(1)
			}
		}
	})
}

func (w *haWorld) stopPublishing() {
	if w.stopPub != nil {
		w.stopPub()
	}
	w.pubWG.Wait()
}

// waitIdle waits until the simulator has every event of every monitor
// acknowledged.
func (w *haWorld) waitIdle(reps ...*testReplica) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	for _, id := range w.mons {
		if err := w.sim.WaitIdle(ctx, id); err != nil {
			w.t.Fatalf("monitor %d not idle: %v; %+v; replicas:\n%s", id, err, w.sim.Stats(id), describe(reps))
		}
	}
}

// checkPeaks fails the test for every monitor that had two push sessions
// open at once, and returns the number of sessions each had in all.
func (w *haWorld) checkPeaks() {
	w.t.Helper()
	for _, id := range w.mons {
		if open, peak := w.sim.PushSessions(id); peak > 1 {
			w.t.Errorf("monitor %d had %d push sessions open at once (%d now)", id, peak, open)
		}
	}
}

// checkStream verifies that the stream holds every published event exactly
// once, and nothing else.
func (w *haWorld) checkStream() int {
	w.t.Helper()
	msgs := readStream(w.t, w.js, DefaultStream)
	w.pubMu.Lock()
	defer w.pubMu.Unlock()
	seen := map[int]int{}
	for _, m := range msgs {
		seen[m.N]++
		k, i := m.N/1_000_000, m.N%1_000_000
		if id := m.Header.Get(HeaderMsgID); id != storedID(m) {
			w.t.Errorf("seq %d: event %d of monitor #%d has Nats-Msg-Id %q, want its identity", m.Seq, i, k, id)
		}
	}
	total, missing, dup := 0, 0, 0
	for k, n := range w.published {
		total += n
		for i := range n {
			switch c := seen[k*1_000_000+i]; {
			case c == 0:
				if missing < 10 {
					w.t.Errorf("monitor #%d: event %d missing", k, i)
				}
				missing++
			case c > 1:
				if dup < 10 {
					w.t.Errorf("monitor #%d: event %d stored %d times", k, i, c)
				}
				dup++
			}
		}
	}
	if missing+dup > 0 || len(msgs) != total {
		w.t.Fatalf("%d messages for %d events: %d missing, %d duplicated", len(msgs), total, missing, dup)
	}
	return total
}

// testReplica is one replica of the bridge with its own NATS connection.
type testReplica struct {
	name string
	b    *Bridge
	run  *running
	nc   *nats.Conn
	dial *stallDialer
}

func (w *haWorld) startReplica(name string) *testReplica {
	w.t.Helper()
	return w.startReplicaWith(name, replicaOpts{})
}

// replicaOpts change a test replica: its push configuration (default
// pushConfig), its Ownership, its monitors (default all the world's).
type replicaOpts struct {
	push     *stream.Config
	own      func(*Ownership)
	monitors []uint32
	logs     io.Writer // receives the replica's log too
}

func (w *haWorld) startReplicaWith(name string, ro replicaOpts) *testReplica {
	w.t.Helper()
	push := pushConfig(w.sim)
	if ro.push != nil {
		push = *ro.push
	}
	mons := w.mons
	if ro.monitors != nil {
		mons = ro.monitors
	}
	var logs io.Writer = testWriter{w.t}
	if ro.logs != nil {
		logs = io.MultiWriter(logs, ro.logs)
	}
	d := &stallDialer{}
	nc := connect(w.t, w.ns.url(), nats.SetCustomDialer(d), nats.Name(name))
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	kv, err := newJS(w.t, nc).KeyValue(ctx, testBucket)
	if err != nil {
		w.t.Fatal(err)
	}
	o := &Ownership{Leases: kv, Replica: name}
	if ro.own != nil {
		ro.own(o)
	}
	// A long AckTimeout: no test here relies on it (a NATS drop fails the
	// pending PubAcks at once, a hung connection is fenced), and on a
	// machine starved of CPU a short one failed sessions that were only
	// slow — each failure replaying every un-acked block, until nothing
	// was acknowledged any more.
	b, err := New(Config{
		Conn: nc, Push: push, Monitors: mons, NewBackOff: fastBackOff,
		AckTimeout: time.Minute, Ownership: o,
		Logger: slog.New(slog.NewTextHandler(logs, nil)).With("replica", name),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	r := &testReplica{name: name, b: b, nc: nc, dial: d}
	r.run = runBridge(w.t, b)
	w.t.Cleanup(d.resume) // first: a replica stopping waits for its NATS requests
	return r
}

// kill stops the replica as a crash would: its context cancelled (the push
// connections close, no lease is released), then, once Run has returned
// (so that a release would have happened by then), its NATS connection
// reset.
func (r *testReplica) kill() {
	r.run.cancel()
	<-r.run.done
	r.dial.drop()
	r.nc.Close()
}

// owned returns the monitors the replica holds.
func (r *testReplica) owned() []uint32 {
	var out []uint32
	for _, st := range r.b.Monitors() {
		if st.Owned {
			out = append(out, st.ID)
		}
	}
	return out
}

// settled reports whether every monitor has one push session open and
// exactly one of reps streams it.
func (w *haWorld) settled(reps ...*testReplica) bool {
	streaming := map[uint32]int{}
	for _, r := range reps {
		for _, st := range r.b.Monitors() {
			if st.Owned && st.State == MonitorStreaming {
				streaming[st.ID]++
			}
		}
	}
	for _, id := range w.mons {
		if open, _ := w.sim.PushSessions(id); open != 1 || streaming[id] != 1 {
			return false
		}
	}
	return true
}

func (w *haWorld) waitSettled(d time.Duration, what string, reps ...*testReplica) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for !w.settled(reps...) {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %v waiting for %s; replicas:\n%s", d, what, describe(reps))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitShared waits until every monitor streams and each of reps owns at
// least one and at most share of them: the replicas are done handing
// monitors over, so that what one owns stays put.
func (w *haWorld) waitShared(d time.Duration, share int, reps ...*testReplica) {
	w.t.Helper()
	deadline := time.Now().Add(d)
	for !w.settled(reps...) || !spread(reps, share) {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %v waiting for the replicas to share the monitors, at most %d each; replicas:\n%s", d, share, describe(reps))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// describe lists what each replica holds, for failure messages and logs.
func describe(reps []*testReplica) string {
	s := ""
	for _, r := range reps {
		states := map[MonitorState]int{}
		for _, st := range r.b.Monitors() {
			states[st.State]++
		}
		s += fmt.Sprintf("  %s: owns %d %v, stats %+v\n", r.name, len(r.owned()), states, r.b.Stats())
	}
	return s
}

// leaseOwner returns who holds monitor id's lease in the bucket, "" if
// nobody.
func leaseOwner(t *testing.T, js jetstream.JetStream, id uint32) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	kv, err := js.KeyValue(ctx, testBucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, leaseKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return replicaOf(e.Value())
}

// replicaOf is the replica name in a lease's value "<replica> <instance>".
func replicaOf(value []byte) string {
	name, _, _ := strings.Cut(string(value), " ")
	return name
}

// logBuffer collects log lines for a test to read while replicas write.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testWriter writes a log line to the test's log, shown when it fails
// (or with -v). The replicas have stopped when the test's cleanups end.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// leaseRecord returns the last record of monitor id's lease in the bucket:
// its operation ("PUT", "DEL" or "PURGE"; "" when there is none, as after
// its expiry) and, for a PUT, the owner.
func leaseRecord(t *testing.T, js jetstream.JetStream, id uint32) (op, owner string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	s, err := js.Stream(ctx, "KV_"+testBucket)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "$KV."+testBucket+"."+leaseKey(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return "", ""
	}
	if err != nil {
		t.Fatal(err)
	}
	if op := m.Header.Get("KV-Operation"); op != "" {
		return op, ""
	}
	return "PUT", replicaOf(m.Data)
}
