package stream_test

import (
	"context"
	"fmt"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Save the position after each event; a poller started from it goes on
// with the next event, none lost and none repeated.
func ExamplePoller_Position() {
	ctx := context.Background()
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", "password"))
	defer api.CloseIdleConnections()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
	for i := range 3 {
		srv.Publish(streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION",
			Timestamp: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), Body: map[string]any{"id": fmt.Sprint("dp", i)}})
	}

	var saved []byte // a file or a database row in a real program
	for range 3 {
		var start stream.PollPosition
		if saved != nil {
			if err := start.UnmarshalText(saved); err != nil {
				panic(err)
			}
		}
		p, err := stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: id, Start: start})
		if err != nil {
			panic(err)
		}
		ev := <-p.Events()
		dp, _ := ev.DataPoint()
		fmt.Println("processed", dp.ID)
		saved, _ = p.Position().MarshalText()
		p.Close() // a crash here loses nothing
	}
	// Output:
	// processed dp0
	// processed dp1
	// processed dp2
}

// A source of your own in a Group: it hands each event over with
// Handoff.Send, which returns once the group's consumer has it.
func ExampleGroup_Add() {
	g := stream.NewGroup(context.Background(), stream.GroupConfig{})
	defer g.Close()
	err := g.Add(7, "ticker", func(ctx context.Context, h stream.Handoff) (stream.Runner, error) {
		src := &ticker{done: make(chan struct{})}
		go func() {
			defer close(src.done)
			for i := 0; ; i++ {
				ev := stream.Event{MonitorID: 7, Topic: fmt.Sprintf("tick/%d", i)}
				if err := h.Send(ctx, ev); err != nil {
					return // not handed over: the group or the member was closed
				}
				// ev is with the group's consumer: acknowledge it upstream here.
			}
		}()
		return src, nil
	})
	if err != nil {
		panic(err)
	}
	for ev := range g.Events() {
		fmt.Println(ev.MonitorID, ev.Topic)
		if ev.Topic == "tick/1" {
			break
		}
	}
	// Output:
	// 7 tick/0
	// 7 tick/1
}

type ticker struct{ done chan struct{} }

func (t *ticker) Done() <-chan struct{} { return t.done }
func (t *ticker) Err() error            { return nil }
