package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A stream deleted while the bridge runs (with -create-stream, the
// default) is created again by the next session, as at start-up: the
// bridge does not retry a missing stream for ever while Remote Manager's
// queue grows, and the events that came meanwhile are stored, once.
func TestStreamDeletedWhileRunningIsRecreated(t *testing.T) {
	w := newWorld(t)
	logs := &syncBuffer{}
	r := runAsync(t, w.args("-ack-timeout", "5s"), logs)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	deleteStreamMidRun(ctx, t, w, logs)
	if err := w.sim.WaitIdle(ctx, w.monitor); err != nil {
		t.Fatalf("the events after the deletion were never acked: %v; %+v; logs:\n%s", err, w.sim.Stats(w.monitor), logs)
	}
	if n := w.streamMsgs(t); n != 200 {
		t.Errorf("the recreated stream holds %d messages, want the 200 published after the deletion", n)
	}
	if c := r.exit(t, logs); c != 0 {
		t.Errorf("exit %d; logs:\n%s", c, logs)
	}
}

// With -create-stream=false a deleted stream is waited for; recreated
// with a duplicate window shorter than -dup-window, it is refused as at
// start-up (replays after that window would be stored twice) until it is
// fixed: no event is stored in it or acked meanwhile.
func TestStreamRecreatedUnfitIsRefused(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if _, err := w.js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"rm.>"}, Duplicates: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	r := runAsync(t, w.args("-ack-timeout", "5s", "-create-stream=false"), logs)
	deleteStreamMidRun(ctx, t, w, logs)
	waitLog(t, logs, `stream not found`)
	short := jetstream.StreamConfig{Name: "T", Subjects: []string{"rm.>"}, Duplicates: time.Minute}
	if _, err := w.js.CreateStream(ctx, short); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, `session failed.*duplicate window 1m0s is shorter than 10m0s`)
	if n, acked := w.streamMsgs(t), w.sim.Stats(w.monitor).EventsAcked; n != 0 || acked != 100 {
		t.Errorf("into the stream with a short window: %d events stored, %d acked in all (want 0 and the 100 from before)", n, acked)
	}
	short.Duplicates = 10 * time.Minute
	if _, err := w.js.UpdateStream(ctx, short); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.WaitIdle(ctx, w.monitor); err != nil {
		t.Fatalf("after the fix: %v; logs:\n%s", err, logs)
	}
	if n := w.streamMsgs(t); n != 200 {
		t.Errorf("the fixed stream holds %d messages, want 200", n)
	}
	if c := r.exit(t, logs); c != 0 {
		t.Errorf("exit %d; logs:\n%s", c, logs)
	}
}

// deleteStreamMidRun waits for the bridge to connect and store 100 events,
// deletes stream T under it, and publishes 200 more.
func deleteStreamMidRun(ctx context.Context, t *testing.T, w *world, logs *syncBuffer) {
	t.Helper()
	if err := w.sim.WaitConnected(ctx, w.monitor); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	w.publish(0, 100)
	if err := w.sim.WaitIdle(ctx, w.monitor); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	if err := w.js.DeleteStream(ctx, "T"); err != nil {
		t.Fatal(err)
	}
	w.publish(100, 300)
}
