package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// BenchmarkBridgeVsBarePublish measures, in the same run and against the
// same embedded JetStream (file storage), the events per second
//
//   - through the bridge: events recorded by a persistent monitor of the
//     simulator → push protocol → stream subscription → bridge →
//     JetStream, until the simulator has every block acked;
//   - through a bare loop of JetStream async publishes of the same
//     messages (same subjects under another prefix, same headers and data,
//     built beforehand), with the same in-flight bound, until every
//     PubAck is in.
//
// Each round runs both on 50 000 fresh events, in alternating order. It
// reports both rates over all rounds, and bridge/bare, the median of the
// rounds' ratios (robust to other load on the machine); the goal is
// ≥ 0.8. The simulator's monitor sends uncompressed blocks: compression
// would bill Remote Manager's own work to this process.
//
//	go test -run '^$' -bench BridgeVsBare -benchtime 7x ./bridge/
func BenchmarkBridgeVsBarePublish(b *testing.B) {
	const n = 50_000
	ns := startNATS(b)
	nc := connect(b, ns.url())
	js := newJS(b, nc)
	testStream(b, js, "BRIDGED", "rm")
	testStream(b, js, "BARE", "bare")
	sim, err := streamtest.Start(streamtest.Options{HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var bridged, bare time.Duration
	var ratios []float64
	round := 0
	for b.Loop() {
		from := round * n
		mon := sim.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 250,
			BatchDuration: -1, AckExplicit: true, Persistent: true})
		sim.Publish(events(from, from+n)...)
		msgs := make([]*nats.Msg, n)
		for i := range msgs {
			ev := simEvent(from+i, mon, sim.CustomerID())
			msgs[i] = Message("bare", &ev)
		}
		var db, dp time.Duration
		if round%2 == 0 {
			db = bridgeRound(b, ctx, nc, sim, mon, n)
			dp = bareRound(b, ctx, nc, msgs)
		} else {
			dp = bareRound(b, ctx, nc, msgs)
			db = bridgeRound(b, ctx, nc, sim, mon, n)
		}
		if round == 0 {
			checkSameMessages(b, js, msgs[:100])
		}
		bridged += db
		bare += dp
		ratios = append(ratios, dp.Seconds()/db.Seconds())
		round++
	}
	events := float64(round * n)
	slices.Sort(ratios)
	b.ReportMetric(events/bridged.Seconds(), "bridge-ev/s")
	b.ReportMetric(events/bare.Seconds(), "bare-ev/s")
	b.ReportMetric(ratios[len(ratios)/2], "bridge/bare")
	b.ReportMetric(0, "ns/op")
}

// bridgeRound bridges the n events recorded by monitor mon and returns the
// time from Run to the simulator holding every ack.
func bridgeRound(b *testing.B, ctx context.Context, nc *nats.Conn, sim *streamtest.Server, mon uint32, n int) time.Duration {
	br, err := New(Config{Conn: nc, Stream: "BRIDGED", SubjectPrefix: "rm", Push: pushConfig(sim), Monitors: []uint32{mon}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	r := runBridge(b, br)
	if err := sim.WaitIdle(ctx, mon); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	if err := br.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
	if err := r.wait(b, hangTimeout); err != nil {
		b.Fatal(err)
	}
	if s := br.Stats(); s.Stored != uint64(n) {
		b.Fatalf("%d stored, want %d", s.Stored, n)
	}
	return d
}

// bareRound publishes msgs asynchronously, with the bridge's default
// in-flight bound, and returns the time until every PubAck is in.
func bareRound(b *testing.B, ctx context.Context, nc *nats.Conn, msgs []*nats.Msg) time.Duration {
	pub, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(DefaultMaxPending))
	if err != nil {
		b.Fatal(err)
	}
	defer pub.CleanupPublisher()
	start := time.Now()
	for _, m := range msgs {
		for {
			_, err := pub.PublishMsgAsync(m)
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				continue // the in-flight bound held it back for 200 ms
			}
			if err != nil {
				b.Fatal(err)
			}
			break
		}
	}
	select {
	case <-pub.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("bare publishes not acknowledged")
	}
	return time.Since(start)
}

// simEvent is event(i) as the bridge receives it from monitor mon: a
// replayed, recorded event under the simulator's customer id.
func simEvent(i int, mon, cst uint32) stream.Event {
	ev := event(i)
	return stream.Event{
		Topic: fmt.Sprintf("%d/%s", cst, ev.Topic), Resource: "DataPoint", Operation: ev.Operation,
		Timestamp: ev.Timestamp.UTC(), Replay: true, Format: stream.FormatJSON,
		Body: ev.Body.(json.RawMessage), MonitorID: mon,
	}
}

// checkSameMessages checks that the bare messages equal what the bridge
// stored, but for the prefix.
func checkSameMessages(b *testing.B, js jetstream.JetStream, msgs []*nats.Msg) {
	s, err := js.Stream(context.Background(), "BRIDGED")
	if err != nil {
		b.Fatal(err)
	}
	for i, m := range msgs {
		got, err := s.GetMsg(context.Background(), uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		if "bare"+strings.TrimPrefix(got.Subject, "rm") != m.Subject || string(got.Data) != string(m.Data) {
			b.Fatalf("message %d: bridged %s %s, bare %s %s", i, got.Subject, got.Data, m.Subject, m.Data)
		}
		if d := cmp.Diff(nats.Header(m.Header), got.Header); d != "" {
			b.Fatalf("message %d headers (-bare +bridged):\n%s", i, d)
		}
	}
}
