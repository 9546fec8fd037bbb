package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// Stream limits JetStream refuses to create a stream with — a duplicate
// window longer than -max-age, a -max-age or -dup-window under 100 ms —
// are bad usage, found before NATS is dialled: not a bridge that first
// waits for NATS and then exits 1 with the server's refusal. The run's
// context is already ended (a signal at once), so a run that gets past
// the flags goes no further than its first NATS dial and exits 0.
func TestStreamLimitsAreUsageErrorsBeforeNATS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	nats := []string{"-nats", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), "-monitors", "5"}
	creds := env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-max-age", "30m"}, "-dup-window"},                       // default window 1h
		{[]string{"-max-age", "10m", "-dup-window", "11m"}, "-dup-window"}, // window over the age
		{[]string{"-max-age", "50ms", "-dup-window", "100ms"}, "-max-age"}, // server minimum
		{[]string{"-dup-window", "50ms"}, "-dup-window"},                   // server minimum
	} {
		var out, errOut bytes.Buffer
		code := run(ctx, append(append([]string{}, nats...), tc.args...), creds, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, want 2 naming %s; stderr:\n%s", tc.args, code, tc.want, errOut.String())
		}
	}
	// Limits the server accepts still pass the flags.
	for _, args := range [][]string{{"-max-age", "1h"}, {"-max-age", "2h", "-dup-window", "100ms"}, {"-max-age", "0"}} {
		var out, errOut bytes.Buffer
		if code := run(ctx, append(append([]string{}, nats...), args...), creds, &out, &errOut); code != 0 {
			t.Errorf("%q: exit %d, want 0; stderr:\n%s", args, code, errOut.String())
		}
	}
}
