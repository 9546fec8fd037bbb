package stream_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// The whole flow, as the README's walk-through: find this service's
// persistent monitor over REST (create it only the first time), subscribe
// to its push stream, range over events, stop gracefully. The monitor is
// kept: it records events while the service is away and replays them when
// it is back. The simulator stands in for Remote Manager; against the real
// service, use its URL and Host instead.
func Example() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	// Another service's monitor on the same topics: not ours to use.
	srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore", "DataPoint"}, Description: "billing-service"})
	ctx, cancel := context.WithCancel(context.Background()) // main: signal.NotifyContext
	defer cancel()

	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", "password"))
	topics := []string{"DeviceCore", "DataPoint"}
	const description = "inventory-service" // tells this service's monitor from others on the same topics
	var id uint32
	found, err := api.FindByTopics(ctx, topics)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range found {
		if m.Description == description {
			id = m.ID
		}
	}
	if id == 0 {
		id, err = api.Create(ctx, monitor.Spec{
			Topics:        topics,
			Description:   description,
			Transport:     monitor.TransportTCP,
			Format:        monitor.JSON,
			Compression:   monitor.Zlib,
			BatchSize:     100,
			BatchDuration: time.Second,
			Ack:           monitor.AckExplicit,
			Persistent:    true,
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("created this service's monitor")
	}

	sub, err := stream.Subscribe(context.WithoutCancel(ctx), stream.Config{
		Addr:      srv.PushTLSAddr(),     // real service: Host: "remotemanager.digi.com"
		TLSConfig: srv.ClientTLSConfig(), // real service: nil (system roots)
		Username:  "user", Password: secret.New("password"),
		MonitorID: id,
	})
	if err != nil {
		log.Fatal(err)
	}
	// When ctx ends (Ctrl-C), stop gracefully: the acks of what was
	// received are written first, so nothing is replayed needlessly.
	stopShutdown := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sub.Shutdown(sctx)
	})
	defer stopShutdown()

	// Somewhere, devices report data.
	for i := range 3 {
		srv.Publish(streamtest.Event{
			Topic: "DataPoint/dev1/temperature", Operation: "INSERTION",
			Timestamp: time.Date(2025, 6, 1, 12, 0, i, 0, time.UTC),
			Body:      map[string]any{"id": fmt.Sprint("dp-", i), "streamId": "dev1/temperature", "data": 20.5 + float64(i)},
		})
	}

	n := 0
	for ev := range sub.Events() {
		dp, err := ev.DataPoint()
		if err != nil {
			log.Print(err)
			continue
		}
		fmt.Println(ev.Timestamp.Format(time.TimeOnly), ev.Operation, dp.StreamID, dp.Data)
		if n++; n == 3 {
			cancel() // as Ctrl-C would: Shutdown; the range ends when the channel closes
		}
	}
	fmt.Println("err:", sub.Err())
	// Both monitors are still there: the next run finds this one, with the
	// events recorded meanwhile.
	again, _ := api.FindByTopics(context.Background(), topics)
	for _, m := range again {
		fmt.Println(m.Description, "ours:", m.ID == id)
	}
	// Output:
	// created this service's monitor
	// 12:00:00 INSERTION dev1/temperature 20.5
	// 12:00:01 INSERTION dev1/temperature 21.5
	// 12:00:02 INSERTION dev1/temperature 22.5
	// err: <nil>
	// billing-service ours: false
	// inventory-service ours: true
}

// Batches with manual acks: store a whole batch, then ack it, so that a
// crash before the ack makes a persistent monitor replay its blocks.
func ExampleBatchSubscription_Batches() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, BatchSize: 2, AckExplicit: true, Persistent: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := stream.SubscribeBatches(ctx, stream.Config{
		Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New("password"), MonitorID: id,
	}, stream.AckManual)
	if err != nil {
		log.Fatal(err)
	}
	srv.Publish(
		streamtest.Event{Topic: "DeviceCore/1/0", Body: map[string]any{"devConnectwareId": "00000000-00000000-00409DFF-FF000001", "dpConnectionStatus": 1}},
		streamtest.Event{Topic: "DeviceCore/2/0", Body: map[string]any{"devConnectwareId": "00000000-00000000-00409DFF-FF000002", "dpConnectionStatus": 0}},
	)
	b := <-sub.Batches()
	for _, ev := range b.Events() {
		dc, _ := ev.DeviceCore()
		fmt.Println(dc.ConnectwareID, dc.Connected())
	}
	if err := b.Ack(); err != nil { // after storing the batch
		log.Print(err)
	}
	// Shutdown, unlike Close, makes sure the server reads that ack.
	if err := sub.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	srv.WaitIdle(ctx, id)
	fmt.Println("acked blocks:", srv.Stats(id).BlocksAcked)
	// Output:
	// 00000000-00000000-00409DFF-FF000001 true
	// 00000000-00000000-00409DFF-FF000002 false
	// acked blocks: 1
}

// Events one at a time, in a plain loop, at the speed of batches: All
// yields each Batch's events on the loop's goroutine. With AckManual a
// block is acked only once the loop body has returned for its last event,
// so an event is never acked before it was stored.
func ExampleBatchSubscription_All() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 2, AckExplicit: true, Persistent: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := stream.SubscribeBatches(ctx, stream.Config{
		Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New("password"), MonitorID: id,
	}, stream.AckManual)
	if err != nil {
		log.Fatal(err)
	}
	// Four events, published once connected: two blocks of two.
	if err := srv.WaitConnected(ctx, id); err != nil {
		log.Fatal(err)
	}
	var evs []streamtest.Event
	for i := range 4 {
		evs = append(evs, streamtest.Event{Topic: "DataPoint/dev1/temperature",
			Body: map[string]any{"id": fmt.Sprint("dp-", i), "streamId": "dev1/temperature", "data": 20 + i}})
	}
	srv.Publish(evs...)
	n := 0
	for ev, err := range sub.All() {
		if err != nil { // the subscription ended with a permanent error
			log.Fatal(err)
		}
		dp, err := ev.DataPoint()
		if err != nil {
			log.Print(err)
			continue
		}
		fmt.Println(dp.ID, dp.Data) // store it here
		if n++; n == 4 {
			break // the block of this event stays un-acked: see All
		}
	}
	// Shutdown writes the acks of the finished blocks before it closes.
	if err := sub.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	srv.WaitStatus(ctx, id, streamtest.StatusSuspended) // recording, for the next connection
	st := srv.Stats(id)
	fmt.Println("acked blocks:", st.BlocksAcked, "to send again:", st.Queued)
	// Output:
	// dp-0 20
	// dp-1 21
	// dp-2 22
	// dp-3 23
	// acked blocks: 1 to send again: 2
}
