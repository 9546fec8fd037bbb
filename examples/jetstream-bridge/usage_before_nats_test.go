package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Flags that can never work — a monitor named twice, a stream or lease
// bucket name JetStream refuses — are bad usage (exit 2, the flag named),
// found before anything is started: not a bridge that first waits for
// NATS (for ever, while NATS is down) and then exits 1.
func TestBadNamesAreUsageErrorsBeforeNATS(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-monitors", "5, 7,5"}, "-monitors: monitor 5 is named twice"},
		{[]string{"-monitors", "5", "-stream", "rm.events"}, "-stream:"},
		{[]string{"-monitors", "5", "-stream", ""}, "-stream:"},
		{[]string{"-monitors", "5", "-ha", "-lease-bucket", "leases.v1"}, "-lease-bucket:"},
	} {
		logs := &syncBuffer{}
		r := runAsync(t, append([]string{"-nats", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))}, tc.args...), logs)
		deadline := time.Now().Add(hangTimeout)
		for {
			select {
			case <-r.done:
			case <-time.After(10 * time.Millisecond):
				if !strings.Contains(logs.String(), "NATS") && time.Now().Before(deadline) {
					continue
				}
				t.Errorf("%q: the bridge goes on to NATS; logs:\n%s", tc.args, logs)
			}
			break
		}
		if c := r.exit(t, logs); c != 2 || !strings.Contains(logs.String(), tc.want) {
			t.Errorf("%q: exit %d, want 2 and %q; logs:\n%s", tc.args, c, tc.want, logs)
		}
	}
}
