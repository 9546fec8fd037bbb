package stream_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// countingObserver counts what a subscription does. A Prometheus or
// OpenTelemetry adapter has the same shape, with counters, gauges and
// histograms labelled by MonitorID instead of integers.
type countingObserver struct {
	stream.NopObserver // methods added to Observer later do nothing

	connects, connected, blocks, events, acks atomic.Int64
	lag                                       atomic.Int64 // the last hand-off's, in nanoseconds
}

func (o *countingObserver) Connected(stream.ConnectInfo)       { o.connects.Add(1); o.connected.Add(1) }
func (o *countingObserver) Disconnected(stream.DisconnectInfo) { o.connected.Add(-1) }
func (o *countingObserver) BlockReceived(stream.BlockInfo)     { o.blocks.Add(1) }
func (o *countingObserver) Acked(c stream.CountInfo)           { o.acks.Add(int64(c.N)) }
func (o *countingObserver) Delivered(d stream.DeliveryInfo) {
	o.events.Add(int64(d.Events))
	o.lag.Store(int64(d.Lag))
}

// An Observer turns what a subscription does into metrics as it happens,
// without polling Stats; what it sees equals what Stats counts.
func ExampleObserver() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
	ctx := context.Background()

	obs := &countingObserver{}
	sub, err := stream.Subscribe(ctx, stream.Config{
		Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New("password"), MonitorID: id,
		Observer: obs, // also HTTPConfig.Observer, PollerConfig.Observer
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.WaitConnected(ctx, id); err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		srv.Publish(streamtest.Event{Topic: "DataPoint/dev1/temp", Timestamp: time.Now().Add(-2 * time.Second),
			Body: map[string]any{"id": fmt.Sprint("dp-", i), "data": i}})
	}
	for range 3 {
		<-sub.Events()
	}
	fmt.Println("connected:", obs.connected.Load(), "lag over 2s:", time.Duration(obs.lag.Load()) >= 2*time.Second)
	if err := sub.Shutdown(ctx); err != nil { // writes the last acks
		log.Fatal(err)
	}
	st := sub.Stats()
	fmt.Println("connects:", obs.connects.Load(), "connected:", obs.connected.Load())
	fmt.Println("blocks:", obs.blocks.Load(), "events:", obs.events.Load(), "acks:", obs.acks.Load())
	fmt.Println("as Stats counts:", uint64(obs.blocks.Load()) == st.Blocks && uint64(obs.events.Load()) == st.Events &&
		uint64(obs.acks.Load()) == st.Acks)
	// Output:
	// connected: 1 lag over 2s: true
	// connects: 1 connected: 0
	// blocks: 3 events: 3 acks: 3
	// as Stats counts: true
}
