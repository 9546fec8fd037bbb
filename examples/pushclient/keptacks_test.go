package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestCountAcksWhatItPrinted: a run that stops after -count events
// acknowledges every block it printed before it closes the push
// connection, so that the next run on a kept, persistent monitor
// (-keep, then -monitor-id) gets exactly the events the first did not
// print — not those it printed again.
//
// The client used to cancel the subscription on -count (and on a signal),
// which drops the connection at once. While further blocks are already
// buffered the library holds acks back (they go with the next flush), so
// the acks of the blocks just printed never reached the server, which
// replayed those blocks, and the next run printed their events a second
// time. Stopping with Shutdown writes the queued acks first.
func TestCountAcksWhatItPrinted(t *testing.T) {
	srv := simulator(t)
	env := []string{"RM_USERNAME=alice", "RM_PASSWORD=s3cr3t-sentinel"}
	base := []string{"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-output", "ndjson",
		"-count", "5", "-b", "1", "-replay"}
	runOnce := func(c *client) []string {
		t.Helper()
		var got []string
		for c.stdout.Scan() {
			var l struct {
				Body struct{ DevConnectwareID string }
			}
			if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil {
				t.Fatalf("not JSON: %q", c.stdout.Text())
			}
			got = append(got, l.Body.DevConnectwareID)
		}
		if code := c.wait(t); code != 0 {
			t.Fatalf("exit %d\n%s", code, c.stderr)
		}
		return got
	}

	c := start(t, env, append(base, "-keep")...)
	id := waitMonitor(t, srv)
	for n := range 20 { // 20 blocks of one event, sent back to back
		srv.Publish(streamtest.Event{
			Topic: fmt.Sprintf("DeviceCore/%d/0", n), Operation: "UPDATE",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, n*int(time.Millisecond), time.UTC),
			Body:      map[string]any{"devConnectwareId": fmt.Sprintf("dev-%d", n)},
		})
	}
	if got := fmt.Sprint(runOnce(c)); got != "[dev-0 dev-1 dev-2 dev-3 dev-4]" {
		t.Fatalf("first run printed %s", got)
	}
	// The acks were written before the connection closed: the server
	// reads them, at the latest, as it sees the close.
	eventually(t, "the 5 printed events acked", func() bool { return srv.Stats(id).EventsAcked == 5 })

	c = start(t, env, append(base, "-monitor-id", fmt.Sprint(id))...)
	if got := fmt.Sprint(runOnce(c)); got != "[dev-5 dev-6 dev-7 dev-8 dev-9]" {
		t.Errorf("second run on the kept monitor printed %s, want dev-5 … dev-9 (the events the first run did not print)", got)
	}
	srv.DeleteMonitor(id)
}
