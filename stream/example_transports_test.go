package stream_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// An http monitor: Remote Manager pushes each batch to your URL. The
// receiver is an http.Handler; mount it wherever the monitor's URL points.
func ExampleHTTPReceiver() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := streamtest.NewServer(streamtest.Options{}) // stands in for remotemanager.digi.com
	defer srv.Close()
	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()

	const token = "rm:a-long-random-secret" // the server authenticates to you with it
	rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{Token: secret.New(token)})
	if err != nil {
		panic(err)
	}
	web := httptest.NewServer(rcv) // your web server; Remote Manager needs a public https URL
	defer web.Close()
	defer rcv.Close()

	_, err = api.V1().Create(ctx, monitor.Spec{
		Topics: []string{"DataPoint"}, Transport: monitor.TransportHTTP,
		URL: web.URL + "/rm", Token: secret.New(token), Method: "POST", BatchSize: 1,
	})
	if err != nil {
		panic(err)
	}
	srv.Publish(streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION",
		Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Body: map[string]any{"id": "a1", "data": 21.5}})
	ev := <-rcv.Events() // the push is answered 200 only now
	dp, _ := ev.DataPoint()
	fmt.Println(ev.Operation, ev.Topic, dp.Data)
	// Output: INSERTION 1234/DataPoint/dev1/temp 21.5
}

// A polling monitor: events are stored by the server and read through the
// history API — no inbound connection, nothing to expose.
func ExamplePoller() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()

	m, err := api.V1().Create(ctx, monitor.Spec{Topics: []string{"DeviceCore"}, Transport: monitor.TransportPolling})
	if err != nil {
		panic(err)
	}
	srv.Publish(streamtest.Event{Topic: "DeviceCore/882/7", Operation: "UPDATE",
		Timestamp: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Body: map[string]any{"devConnectwareId": "00000000-00000000-00409DFF-FF000001"}})

	p, err := stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: m.ID, Interval: time.Second})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ev := <-p.Events()
	dc, _ := ev.DeviceCore()
	fmt.Println(ev.Operation, ev.Topic, dc.ConnectwareID)
	// Save p.Position() after processing; give it back as PollerConfig.Start
	// to continue where this poller stopped.

	// Output: UPDATE 1234/DeviceCore/882/7 00000000-00000000-00409DFF-FF000001
}

// Many monitors of any transport, one merged channel.
func ExampleGroup() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()
	tcp := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchDuration: -1})
	polling := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Transport: "polling"})

	g := stream.NewGroup(ctx, stream.GroupConfig{})
	defer g.Close()
	if err := g.Subscribe(stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user", Password: secret.New("password"), MonitorID: tcp}); err != nil {
		panic(err)
	}
	if _, err := g.Poll(stream.PollerConfig{Client: api, MonitorID: polling, Interval: time.Second}); err != nil {
		panic(err)
	}
	srv.WaitConnected(ctx, tcp)
	srv.Publish(
		streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION", Body: map[string]any{"id": "a1"}},
		streamtest.Event{Topic: "DeviceCore/882/7", Operation: "UPDATE"},
	)
	seen := map[uint32]string{}
	for ev := range g.Events() {
		seen[ev.MonitorID] = ev.Resource
		if len(seen) == 2 {
			break
		}
	}
	fmt.Println(seen[tcp], seen[polling], len(g.Status()))
	// Output: DataPoint DeviceCore 2
}
