package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestStatusOnStderr: the status lines (connecting, waiting, and with -v
// the rate and lag line) go to stderr; stdout carries only the events.
func TestStatusOnStderr(t *testing.T) {
	srv := simulator(t)
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-output", "ndjson",
		"-v", "-stats-interval", "1s", "alice", "s3cr3t-sentinel")
	id := ownMonitor(t, srv, c)
	eventually(t, "the client says it waits for events", func() bool {
		return strings.Contains(c.stderr.String(), fmt.Sprintf("waiting for events on monitor %d …", id))
	})
	publish(srv, 3)
	for i := range 3 {
		if !c.stdout.Scan() {
			t.Fatalf("event %d missing\n%s", i, c.stderr)
		}
		if !json.Valid(c.stdout.Bytes()) {
			t.Errorf("stdout line %q is not an event", c.stdout.Text())
		}
	}
	stats := regexp.MustCompile(fmt.Sprintf(`level=INFO msg=stats monitor_id=%d state=connected events=3 rate=[0-9.]+/s lag=-?[0-9.hmsµn]+ duplicates=0 connects=1 `, id))
	eventually(t, "a stats line counts the 3 events", func() bool { return stats.MatchString(c.stderr.String()) })
	c.cmd.Process.Signal(syscall.SIGINT)
	for c.stdout.Scan() {
		t.Errorf("more on stdout: %q", c.stdout.Text())
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, c.stderr)
	}
	errText := c.stderr.String()
	for _, want := range []string{
		fmt.Sprintf("connecting to %s (REST) …", srv.URL()),
		fmt.Sprintf("connecting to %s (push) …", srv.PushAddr()),
		"signal received: stopping",
		fmt.Sprintf("monitor deleted\" monitor_id=%d", id),
	} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errText)
		}
	}
}
