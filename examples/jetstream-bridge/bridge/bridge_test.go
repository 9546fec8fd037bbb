package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// 10 000 events (50 000 with PUSHMON_LONG=1), half recorded while no
// bridge was connected (replayed) and half live, end up in the stream once
// each, in order per subject, with the bridge's subjects, headers and
// data, and every block acked.
func TestBridgeEventsExactlyOnceInOrder(t *testing.T) {
	n := 10_000
	if os.Getenv("PUSHMON_LONG") == "1" {
		n = 50_000
	}
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 250)
	sim.Publish(events(0, n/2)...)

	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	for i := n / 2; i < n; i += 1000 {
		sim.Publish(events(i, i+1000)...)
	}
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatalf("simulator not idle: %v; %+v; bridge %+v", err, sim.Stats(mon), b.Stats())
	}

	st := sim.Stats(mon)
	if st.EventsAcked != n || st.Unacked != 0 || st.Queued != 0 || st.ConnectsOK != 1 {
		t.Errorf("simulator: %+v, want %d events acked on one connection, none pending", st, n)
	}
	// The simulator can see the last ack an instant before the bridge counts it.
	waitFor(t, hangTimeout, "the bridge to count its last ack", func() bool { s := b.Stats(); return s.Acked == s.Blocks })
	bs := b.Stats()
	if bs.Events != uint64(n) || bs.Stored != uint64(n) || bs.Duplicates != 0 || bs.Acked != bs.Blocks || bs.Failures != 0 || bs.Sessions != 1 {
		t.Errorf("bridge stats %+v, want %d events stored once, every block acked", bs, n)
	}

	msgs := readStream(t, js, DefaultStream)
	checkExactlyOnce(t, msgs, n, true)
	for _, m := range msgs {
		replay := strconv.FormatBool(m.N < n/2)
		if got := m.Header.Get(HeaderReplay); got != replay {
			t.Fatalf("event %d: %s %q, want %q", m.N, HeaderReplay, got, replay)
		}
	}
	// One message in full.
	m := msgs[0]
	ev := event(m.N)
	want := map[string]string{
		HeaderTopic:     fmt.Sprintf("%d/%s", streamtest.DefaultCustomerID, ev.Topic),
		HeaderOperation: "INSERTION",
		HeaderTimestamp: ev.Timestamp.UTC().Format(time.RFC3339Nano),
		HeaderMonitor:   strconv.FormatUint(uint64(mon), 10),
		HeaderFormat:    "json",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(m.Data) != string(ev.Body.(json.RawMessage)) {
		t.Errorf("data %s, want %s", m.Data, ev.Body)
	}

	sctx, scancel := context.WithTimeout(context.Background(), hangTimeout)
	defer scancel()
	if err := b.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Errorf("Run after Shutdown: %v", err)
	}
	if err := b.Run(ctx); !errors.Is(err, ErrAlreadyRun) {
		t.Errorf("second Run: %v", err)
	}
}
