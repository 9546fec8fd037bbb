package stream_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestGroupPollerResumesFromItsPosition: the poller Group.Poll returns
// gives the Position of what the group's consumer took, and a group
// started from it delivers the rest, and nothing taken already.
func TestGroupPollerResumesFromItsPosition(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	id, err := srv.TryCreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(k int) {
		srv.Publish(streamtest.Event{Topic: "DataPoint/dev/x", Operation: "INSERTION",
			Timestamp: time.Date(2025, 1, 1, 0, 0, k, 0, time.UTC),
			Body:      map[string]any{"id": fmt.Sprint(k), "data": k}})
	}
	for k := range 3 {
		publish(k)
	}
	bodyID := func(ev stream.Event) string {
		dp, err := ev.DataPoint()
		if err != nil {
			t.Fatal(err)
		}
		return dp.ID
	}

	g := stream.NewGroup(ctx, stream.GroupConfig{})
	p, err := g.Poll(stream.PollerConfig{Client: api, MonitorID: id, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for k, ev := range collectN(t, "first group", g.Events(), 2) {
		if got := bodyID(ev); got != fmt.Sprint(k) {
			t.Fatalf("first group, event %d: id %s", k, got)
		}
	}
	g.Close()
	<-g.Done()
	pos := p.Position()
	if pos.Since.IsZero() {
		t.Fatal("the group's poller has no position after its consumer took two events")
	}

	publish(3) // the marker: the event after the one the first group did not take
	g2 := stream.NewGroup(ctx, stream.GroupConfig{})
	defer g2.Close()
	if _, err := g2.Poll(stream.PollerConfig{Client: api, MonitorID: id, Interval: time.Hour, Start: pos}); err != nil {
		t.Fatal(err)
	}
	for k, ev := range collectN(t, "second group", g2.Events(), 2) {
		if got, want := bodyID(ev), fmt.Sprint(k+2); got != want {
			t.Fatalf("second group, event %d: id %s, want %s (the first group took 0 and 1)", k, got, want)
		}
	}
}
