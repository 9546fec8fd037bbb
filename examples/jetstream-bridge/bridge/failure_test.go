package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream/streamtest"

	"github.com/pushmon/pushmon/stream"
)

// While the NATS server is down the bridge acknowledges nothing: Remote
// Manager keeps every block, to replay it. When the server is back (same
// port, same store), the bridge resumes and the stream holds every event
// once, in order.
//
// AckTimeout bounds the waits for PubAcks, which stop coming during the
// outage. It is no speed budget, but it must not fire while NATS is up:
// at 500 ms, PubAcks delayed by a starved machine failed session after
// session (before or after the outage), each one's blocks replayed to the
// next, and the events were never all acked within hangTimeout. 5 s (as
// in TestCrashRestartsLoseAndDuplicateNothing) is beyond any starvation;
// the test waits for two failures during the outage, not the first only.
func TestJetStreamOutageHoldsAcksAndRecovers(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 50)
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon},
		AckTimeout: 5 * time.Second, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	sim.Publish(events(0, 2000)...)
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatal(err)
	}

	failed := b.Stats().Failures
	ns.stop()
	sim.Publish(events(2000, 5000)...)
	// The bridge notices (the session under way ends at its AckTimeout),
	// and tries again and fails again: the outage goes on.
	waitFor(t, hangTimeout, "two failures during the outage", func() bool { return b.Stats().Failures >= failed+2 })
	time.Sleep(time.Second) // still more time to ack wrongly
	st := sim.Stats(mon)
	if st.EventsAcked != 2000 {
		t.Errorf("%d events acked during the outage, want the 2000 from before", st.EventsAcked)
	}
	if st.Unacked+st.Queued != 3000 {
		t.Errorf("simulator holds %d un-acked + %d queued events, want the 3000 published during the outage", st.Unacked, st.Queued)
	}

	ns.restart()
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatalf("after the outage: %v; %+v; bridge %+v", err, sim.Stats(mon), b.Stats())
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("simulator %+v; bridge %+v", sim.Stats(mon), b.Stats())
	checkExactlyOnce(t, readStream(t, js, DefaultStream), 5000, true)
}

// Shutdown stops taking blocks, waits for the PubAcks of what is in
// flight and acks it: every block the bridge took reaches the simulator
// as an ack, and what the stream holds is exactly what was acked.
func TestShutdownAcksWhatItStored(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 20)
	sim.Publish(events(0, 20_000)...) // more than can be bridged before the shutdown
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, MaxPending: 1000, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	waitFor(t, hangTimeout, "some acks", func() bool { return b.Stats().Acked > 10 })
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Fatalf("Run: %v", err)
	}
	bs := b.Stats()
	waitFor(t, hangTimeout, "the simulator to see the close", func() bool { return !sim.Connected(mon) })
	st := sim.Stats(mon)
	if bs.Blocks != bs.Acked || bs.AckLost != 0 || st.BlocksAcked != int(bs.Acked) {
		t.Errorf("bridge took %d blocks and acked %d (%d lost); the simulator received %d acks", bs.Blocks, bs.Acked, bs.AckLost, st.BlocksAcked)
	}
	if st.Queued != 20_000-st.EventsAcked {
		t.Errorf("after the shutdown the simulator has %+v", st)
	}
	msgs := readStream(t, js, DefaultStream)
	if len(msgs) != st.EventsAcked {
		t.Errorf("stream holds %d events, %d were acked", len(msgs), st.EventsAcked)
	}
	checkExactlyOnce(t, msgs, len(msgs), true) // the first EventsAcked events
	if err := b.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// A Shutdown whose context ends first stops abruptly and says so.
func TestShutdownTimeoutStopsAbruptly(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 100)
	sim.Publish(events(0, 50_000)...)
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	waitFor(t, hangTimeout, "some acks", func() bool { return b.Stats().Acked > 0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with an ended context: %v", err)
	}
	select {
	case <-r.done:
	default:
		t.Error("Run still running after Shutdown returned")
	}
}

// An event larger than the stream accepts stops its monitor with
// ErrRejected and leaves its block un-acked; nothing after it is acked.
// (The blocks before it are acked when they came in a batch of their own;
// in the batch of the rejected one they are replayed, and JetStream drops
// the copies.)
func TestRejectedEventStopsMonitorUnacked(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	cfg := StreamConfig(DefaultStream, DefaultSubjectPrefix)
	cfg.MaxMsgSize = 512
	if _, err := js.CreateStream(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	sim, mon := startSim(t, 1)
	sim.Publish(events(0, 3)...)
	big := event(3)
	big.Body = json.RawMessage(`{"id":"dp3","data":3,"pad":"` + strings.Repeat("x", 1000) + `"}`)
	sim.Publish(big)
	sim.Publish(events(4, 6)...)
	var mu sync.Mutex
	var acked []string
	sim.SetHooks(mon, streamtest.Hooks{OnAck: func(ai streamtest.AckInfo) streamtest.AckAction {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range ai.Events {
			acked = append(acked, string(ev.Body.(json.RawMessage)))
		}
		return streamtest.AckAction{}
	}})
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	err = r.wait(t, hangTimeout)
	var pe *PublishError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &pe) || pe.MsgID != eventID(big) || !pe.Permanent() {
		t.Fatalf("Run: %v, want ErrRejected for event 3 (%s)", err, eventID(big))
	}
	if !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Errorf("cause %v, want the stream's maximum message size", err)
	}
	mu.Lock()
	for i, body := range acked {
		if i >= 3 || body != string(event(i).Body.(json.RawMessage)) {
			t.Errorf("acked %q, want at most events 0, 1 and 2, in order", acked)
			break
		}
	}
	mu.Unlock()
	// Events after the rejected one may be stored (they were published
	// before the rejection came back) but are not acked: a replay brings
	// them again and JetStream drops the copies.
	have := map[int]int{}
	for _, m := range readStream(t, js, DefaultStream) {
		have[m.N]++
	}
	if have[0] != 1 || have[1] != 1 || have[2] != 1 || have[3] != 0 {
		t.Errorf("stream holds events %v, want 0, 1 and 2 once and not 3", have)
	}
}

// PubAcks from another stream than the configured one stop the monitor:
// the events would be stored where nobody looks for them.
func TestPubAckFromAnotherStreamIsRejected(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, "OTHER", DefaultSubjectPrefix) // captures rm.>
	if _, err := js.CreateStream(context.Background(), StreamConfig("CONFIGURED", "elsewhere")); err != nil {
		t.Fatal(err)
	}
	sim, mon := startSim(t, 1)
	sim.Publish(events(0, 1)...)
	b, err := New(Config{Conn: nc, Stream: "CONFIGURED", Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	err = runBridge(t, b).wait(t, hangTimeout)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), `"OTHER"`) {
		t.Fatalf("Run: %v, want ErrRejected naming stream OTHER", err)
	}
	if st := sim.Stats(mon); st.EventsAcked != 0 {
		t.Errorf("%d events acked", st.EventsAcked)
	}
}

// Wrong Remote Manager credentials end that monitor at once with
// stream.ErrUnauthorized; another monitor with a working id keeps going
// until the bridge is stopped.
func TestPermanentPushErrorStopsOnlyItsMonitor(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 10)
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon, 999_999}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	sim.Publish(events(0, 100)...)
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatal(err)
	}
	// The unknown monitor stops by itself, whatever the other one does; a
	// Shutdown before its first session is refused would end it quietly.
	waitFor(t, hangTimeout, "the unknown monitor to stop", func() bool {
		return b.Monitors()[1].State == MonitorStopped
	})
	if st := b.Monitors()[0].State; st == MonitorStopped {
		t.Errorf("the good monitor stopped with the unknown one (%v)", b.Monitors()[0].Err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, hangTimeout); !errors.Is(err, stream.ErrBadRequest) {
		t.Errorf("Run: %v, want the unknown monitor's stream.ErrBadRequest", err)
	}
	checkExactlyOnce(t, readStream(t, js, DefaultStream), 100, true)

	push := pushConfig(sim)
	push.Password = secret.New("wrong")
	b, err = New(Config{Conn: nc, Push: push, Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	err = runBridge(t, b).wait(t, hangTimeout)
	if !errors.Is(err, stream.ErrUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Run: %v, want stream.ErrUnauthorized without the password", err)
	}
}

// A backoff policy that gives up ends the monitor with the last error.
func TestBackOffStopEndsMonitor(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	sim, mon := startSim(t, 10)
	// No stream: every session fails its check.
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon},
		NewBackOff: func() backoff.BackOff { return backoff.WithMaxRetries(fastBackOff(), 2) }})
	if err != nil {
		t.Fatal(err)
	}
	err = runBridge(t, b).wait(t, hangTimeout)
	if !errors.Is(err, ErrJetStreamUnavailable) || !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("Run: %v, want ErrJetStreamUnavailable for a missing stream", err)
	}
	if s := b.Stats(); s.Failures != 3 || s.Sessions != 0 {
		t.Errorf("stats %+v, want 3 failed checks and no session", s)
	}
	if sim.Stats(mon).ConnectsOK != 0 {
		t.Error("the bridge connected to Remote Manager without a stream to store into")
	}
}

func TestNewValidates(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	push := stream.Config{Addr: "127.0.0.1:1", Plaintext: true, Username: "u", Password: secret.New("p")}
	cases := map[string]Config{
		"no conn":       {Push: push, Monitors: []uint32{1}},
		"no monitor":    {Conn: nc, Push: push},
		"zero monitor":  {Conn: nc, Push: push, Monitors: []uint32{0}},
		"twice":         {Conn: nc, Push: push, Monitors: []uint32{1, 1}},
		"wildcard":      {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "rm.*"},
		"empty token":   {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "rm..x"},
		"system":        {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "$JS"},
		"negative":      {Conn: nc, Push: push, Monitors: []uint32{1}, MaxPending: -1},
		"no push addr":  {Conn: nc, Push: stream.Config{Username: "u"}, Monitors: []uint32{1}},
		"no push user":  {Conn: nc, Push: stream.Config{Addr: "h:1"}, Monitors: []uint32{1}},
		"space in pfx":  {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "r m"},
		"neg. timeout":  {Conn: nc, Push: push, Monitors: []uint32{1}, AckTimeout: -time.Second},
		"trailing dot":  {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "rm."},
		"gt in prefix":  {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "rm.>"},
		"long prefix":   {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: strings.Repeat("a", MaxSubjectLen)},
		"non-ascii pfx": {Conn: nc, Push: push, Monitors: []uint32{1}, SubjectPrefix: "é"},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", name, err)
		}
	}
	cfg := Config{Conn: nc, Push: push, Monitors: []uint32{1}}
	cfg.Push.Password = secret.New("sentinel-pw")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d"} {
		if out := fmt.Sprintf(verb, cfg); strings.Contains(out, "sentinel-pw") || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s of a Config: %s", verb, out)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "config", cfg)
	if strings.Contains(logged.String(), "sentinel-pw") || !strings.Contains(logged.String(), "REDACTED") {
		t.Errorf("slog of a Config: %s", logged.String())
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, b); !strings.Contains(out, DefaultStream) || strings.Contains(out, "sentinel-pw") {
			t.Errorf("%s of a Bridge: %s", verb, out)
		}
	}
	// A Shutdown before Run makes Run return at once.
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(context.Background()); err != nil {
		t.Errorf("Run after Shutdown: %v", err)
	}
}

// A NATS connection closed for good ends the bridge with ErrConnClosed
// instead of retrying forever.
func TestClosedConnEndsRun(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 10)
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
	nc.Close()
	sim.Publish(events(0, 10)...)
	if err := r.wait(t, hangTimeout); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Run: %v, want ErrConnClosed", err)
	}
	if st := sim.Stats(mon); st.EventsAcked != 0 {
		t.Errorf("%d events acked with no NATS connection", st.EventsAcked)
	}
}
