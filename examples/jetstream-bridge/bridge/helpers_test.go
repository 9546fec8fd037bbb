package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// natsServer is an embedded nats-server with JetStream, on a port and in a
// store directory that survive a restart.
type natsServer struct {
	t    testing.TB
	opts server.Options
	srv  *server.Server
}

func startNATS(t testing.TB) *natsServer {
	t.Helper()
	n := &natsServer{t: t, opts: server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}}
	n.start()
	n.opts.Port = n.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) start() {
	n.t.Helper()
	opts := n.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		n.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(hangTimeout) {
		srv.Shutdown()
		n.t.Fatal("nats-server did not start")
	}
	n.srv = srv
}

// stop shuts the server down and waits for it; restart starts it again
// on the same port with the same store.
func (n *natsServer) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

func (n *natsServer) restart() { n.start() }

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port) }

// dropDialer records the TCP connections it dials so that a test can
// reset them, as a crash of the host or the network would.
type dropDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dropDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.conns = append(d.conns, c)
	d.mu.Unlock()
	return c, nil
}

// drop resets every connection dialled so far.
func (d *dropDialer) drop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
	d.conns = nil
}

// connect opens a NATS connection that reconnects forever, quickly.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	opts = append([]nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.ReconnectWait(20 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.Timeout(2 * time.Second),
		// The default handler prints the resets the tests cause.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newJS(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// testStream creates the bridge's stream with a 10-minute window.
func testStream(t testing.TB, js jetstream.JetStream, name, prefix string) {
	t.Helper()
	cfg := StreamConfig(name, prefix)
	cfg.Duplicates = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if _, err := EnsureStream(ctx, js, cfg, prefix, false); err != nil {
		t.Fatalf("EnsureStream: %v", err)
	}
}

// startSim starts the simulator with one persistent, explicit-ack monitor.
func startSim(t testing.TB, batchSize int) (*streamtest.Server, uint32) {
	t.Helper()
	sim, err := streamtest.Start(streamtest.Options{HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	id, err := sim.TryCreateMonitor(streamtest.MonitorSpec{
		Topics: []string{"DataPoint", "DeviceCore"}, BatchSize: batchSize, BatchDuration: -1,
		AckExplicit: true, Persistent: true, Compression: "zlib",
	})
	if err != nil {
		t.Fatal(err)
	}
	return sim, id
}

// fastBackOff retries every 20 ms.
func fastBackOff() backoff.BackOff { return backoff.NewConstantBackOff(20 * time.Millisecond) }

func pushConfig(sim *streamtest.Server) stream.Config {
	return stream.Config{
		Addr: sim.PushAddr(), Plaintext: true, Username: "user", Password: secret.New("password"),
		NewBackOff: fastBackOff,
	}
}

// event i of a test: a DataPoint with id "dp<i>" on one of 7 streams of 3
// devices, the number i in its body.
func event(i int) streamtest.Event {
	return streamtest.Event{
		Topic:     fmt.Sprintf("DataPoint/dev%d/s%d", i%3, i%7),
		Operation: "INSERTION",
		Timestamp: time.Unix(1_700_000_000, 0).Add(time.Duration(i) * time.Millisecond),
		Body:      json.RawMessage(fmt.Sprintf(`{"id":"dp%d","streamId":"dev%d/s%d","data":%d}`, i, i%3, i%7, i)),
	}
}

// eventID is the stream.Event.Identity of e as the simulator delivers it
// (its Nats-Msg-Id).
func eventID(e streamtest.Event) string {
	return (&stream.Event{Topic: fmt.Sprintf("%d/%s", streamtest.DefaultCustomerID, e.Topic), Resource: "DataPoint",
		Operation: e.Operation, Timestamp: e.Timestamp, Body: e.Body.(json.RawMessage)}).Identity()
}

// storedID is the stream.Event.Identity of the event a stored message
// carries, from its headers and data.
func storedID(m stored) string {
	topic, _ := url.PathUnescape(m.Header.Get(HeaderTopic))
	var ts time.Time
	if h := m.Header.Get(HeaderTimestamp); h != "" {
		ts, _ = time.Parse(time.RFC3339Nano, h)
	}
	return (&stream.Event{Topic: topic, Resource: "DataPoint", Operation: m.Header.Get(HeaderOperation), Timestamp: ts, Body: m.Data}).Identity()
}

func events(from, to int) []streamtest.Event {
	out := make([]streamtest.Event, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, event(i))
	}
	return out
}

// stored is one message read back from the stream.
type stored struct {
	Seq     uint64
	Subject string
	Header  nats.Header
	Data    []byte
	N       int // the "data" number of the body
}

// readStream reads every message of the stream, in stream order.
func readStream(t testing.TB, js jetstream.JetStream, name string) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	total := int(s.CachedInfo().State.Msgs)
	out := make([]stored, 0, total)
	if total == 0 {
		return out
	}
	cons, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for len(out) < total {
		batch, err := cons.Fetch(min(2000, total-len(out)), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatalf("fetch after %d of %d: %v", len(out), total, err)
		}
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Data int }
			if err := json.Unmarshal(m.Data(), &body); err != nil {
				t.Fatalf("seq %d: body %q: %v", meta.Sequence.Stream, m.Data(), err)
			}
			out = append(out, stored{Seq: meta.Sequence.Stream, Subject: m.Subject(), Header: m.Headers(), Data: m.Data(), N: body.Data})
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("fetch after %d of %d: %v", len(out), total, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d messages", len(out), total)
		}
	}
	return out
}

// checkExactlyOnce verifies that msgs hold events 0…n-1 each exactly once
// with the id, subject and body the bridge gives them, and, when ordered,
// that each subject holds its events in publishing order. It returns how
// many events follow a later event of their subject.
func checkExactlyOnce(t testing.TB, msgs []stored, n int, ordered bool) (outOfOrder int) {
	t.Helper()
	seen := make([]int, n)
	last := map[string]int{}
	for _, m := range msgs {
		if m.N < 0 || m.N >= n {
			t.Errorf("seq %d: unknown event %d", m.Seq, m.N)
			continue
		}
		seen[m.N]++
		if id := m.Header.Get(HeaderMsgID); id != storedID(m) || !strings.HasPrefix(id, "ev-") {
			t.Errorf("seq %d: event %d has Nats-Msg-Id %q", m.Seq, m.N, id)
		}
		if want := fmt.Sprintf("rm.%d.DataPoint.dev%d.s%d", streamtest.DefaultCustomerID, m.N%3, m.N%7); m.Subject != want {
			t.Errorf("seq %d: event %d on %q, want %q", m.Seq, m.N, m.Subject, want)
		}
		if prev, ok := last[m.Subject]; ok && prev >= m.N {
			if ordered && outOfOrder < 10 {
				t.Errorf("seq %d: on %s event %d follows event %d", m.Seq, m.Subject, m.N, prev)
			}
			outOfOrder++
		}
		last[m.Subject] = max(last[m.Subject], m.N)
	}
	missing, dup := 0, 0
	for i, c := range seen {
		switch {
		case c == 0:
			if missing < 10 {
				t.Errorf("event %d missing", i)
			}
			missing++
		case c > 1:
			if dup < 10 {
				t.Errorf("event %d stored %d times", i, c)
			}
			dup++
		}
	}
	if missing+dup > 0 || len(msgs) != n {
		t.Fatalf("%d messages for %d events: %d missing, %d duplicated", len(msgs), n, missing, dup)
	}
	return outOfOrder
}

// hangTimeout bounds every wait of these tests for something that must
// happen. It is no speed budget: it only turns a hang into a failure, and
// is generous so that a machine starved of CPU (the race detector, other
// work) does not fail a test that would have passed.
const hangTimeout = 3 * time.Minute

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running is a Bridge's Run on a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, once done is closed
}

// runBridge starts b.Run; the test's cleanup stops it abruptly.
func runBridge(t testing.TB, b *Bridge) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = b.Run(ctx)
	}()
	t.Cleanup(func() { r.kill() })
	return r
}

// kill cancels Run's context (an abrupt stop) and returns Run's error.
func (r *running) kill() error {
	r.cancel()
	<-r.done
	return r.err
}

// wait waits up to d for Run to return by itself.
func (r *running) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(d):
		t.Fatalf("Run did not return within %v", d)
		return nil
	}
}
