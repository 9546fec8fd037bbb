package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// The acks of what a run printed reach the server before the run closes
// its push connection, so that the next run on a kept, persistent monitor
// (-keep, then -monitor-id) gets exactly the events the first did not
// print — not those it printed again.
//
// The client used to cancel the subscription on -count, on a signal and
// when stdout closed, which drops the connection at once. While further
// blocks are already buffered the library holds acks back (they go with
// the next flush), so the acks of the blocks just printed never reached
// the server, which replayed those blocks, and the next run printed their
// events a second time. The client now ends a push session with Shutdown,
// which writes the queued acks first.

// keptArgs are the flags of the runs on one monitor: ndjson lines, blocks
// of one event, a persistent monitor.
func keptArgs(srv *streamtest.Server, more ...string) []string {
	return append([]string{"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-output", "ndjson",
		"-b", "1", "-replay"}, more...)
}

var keptEnv = []string{"RM_USERNAME=alice", "RM_PASSWORD=s3cr3t-sentinel"}

// publishDevices publishes n events, dev-0 … dev-(n-1), which the
// simulator sends as n blocks back to back.
func publishDevices(srv *streamtest.Server, n int) {
	evs := make([]streamtest.Event, n)
	for i := range evs {
		evs[i] = streamtest.Event{
			Topic: fmt.Sprintf("DeviceCore/%d/0", i), Operation: "UPDATE",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, i*int(time.Millisecond), time.UTC),
			Body:      map[string]any{"devConnectwareId": fmt.Sprintf("dev-%d", i)},
		}
	}
	srv.Publish(evs...)
}

// devices returns dev-from … dev-(to-1).
func devices(from, to int) []string {
	var ds []string
	for i := from; i < to; i++ {
		ds = append(ds, fmt.Sprintf("dev-%d", i))
	}
	return ds
}

// nextDevice reads c's next line and returns its device, or false at the
// end of its output.
func nextDevice(t *testing.T, c *client) (string, bool) {
	t.Helper()
	if !c.stdout.Scan() {
		return "", false
	}
	var l struct {
		Body struct{ DevConnectwareID string }
	}
	if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil {
		t.Fatalf("not JSON: %q", c.stdout.Text())
	}
	return l.Body.DevConnectwareID, true
}

// printedAll reads c's devices until its output ends, and checks that it
// exits 0.
func printedAll(t *testing.T, c *client) []string {
	t.Helper()
	var got []string
	for {
		d, ok := nextDevice(t, c)
		if !ok {
			break
		}
		got = append(got, d)
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, c.stderr)
	}
	return got
}

// checkAckedThenNext checks that the server has the acks of the first
// run's printed events, dev-0 … dev-(printed-1), of published, and that a
// second run on the monitor prints the events that follow them.
func checkAckedThenNext(t *testing.T, srv *streamtest.Server, id uint32, printed, published int) {
	t.Helper()
	// The client waits for the server's close after its acks (up to a
	// second), and the server closes once it has read them: they are
	// counted by then, or soon after on a machine too busy for that
	// second.
	eventually(t, "the printed events acked", func() bool { return srv.Stats(id).EventsAcked >= printed })
	if st := srv.Stats(id); st.EventsAcked != printed {
		t.Fatalf("the server counts %d events acked, want the %d printed (%+v)", st.EventsAcked, printed, st)
	}
	n := min(5, published-printed)
	if n == 0 {
		return
	}
	c := start(t, keptEnv, keptArgs(srv, "-count", fmt.Sprint(n), "-monitor-id", fmt.Sprint(id))...)
	if got, want := printedAll(t, c), devices(printed, printed+n); !slices.Equal(got, want) {
		t.Errorf("second run on the kept monitor printed %v, want %v (the events the first run did not print)", got, want)
	}
}

// TestCountAcksWhatItPrinted: a run that stops after -count events acks
// every block it printed, and none it did not.
func TestCountAcksWhatItPrinted(t *testing.T) {
	srv := simulator(t)
	c := start(t, keptEnv, keptArgs(srv, "-count", "5", "-keep")...)
	id := waitMonitor(t, srv)
	publishDevices(srv, 20)
	if got, want := printedAll(t, c), devices(0, 5); !slices.Equal(got, want) {
		t.Fatalf("first run printed %v, want %v", got, want)
	}
	checkAckedThenNext(t, srv, id, 5, 20)
	srv.DeleteMonitor(id)
}

// TestSignalAcksWhatItPrinted: a run stopped by a signal while it has a
// backlog (blocks buffered behind the one it hands over, and so acks held
// back) acks every block it printed, and none it did not.
func TestSignalAcksWhatItPrinted(t *testing.T) {
	const published = 2000 // more than a pipe holds, printed
	srv := simulator(t)
	c := start(t, keptEnv, keptArgs(srv, "-keep")...)
	id := waitMonitor(t, srv)
	publishDevices(srv, published)
	// Its output unread, the client stalls once the pipe is full, and the
	// blocks that follow pile up unacked in its buffers.
	eventually(t, "a backlog of sent blocks", func() bool { return srv.Stats(id).Unacked >= 100 })
	var got []string
	for range 3 {
		d, ok := nextDevice(t, c)
		if !ok {
			t.Fatalf("output ended early\n%s", c.stderr)
		}
		got = append(got, d)
	}
	c.cmd.Process.Signal(os.Interrupt)
	got = append(got, printedAll(t, c)...)
	if want := devices(0, len(got)); !slices.Equal(got, want) {
		t.Fatalf("first run printed %v, want dev-0 … dev-%d in order", got, len(got)-1)
	}
	t.Logf("the first run printed %d of the %d events", len(got), published)
	checkAckedThenNext(t, srv, id, len(got), published)
	srv.DeleteMonitor(id)
}
