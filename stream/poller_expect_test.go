package stream

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Expectations of the poller tests that run on synctest's fake clock.

// expectIDs takes to-from events from ch, waiting up to an hour of the
// bubble's clock, and ends the test (Fatal) unless they are the DataPoints
// dp-from … dp-(to-1), in that order.
func expectIDs(t *testing.T, ch <-chan Event, from, to int) {
	t.Helper()
	if got, want := dpIDs(t, takeWithin(t, ch, to-from, time.Hour)), wantIDs(from, to); !slices.Equal(got, want) {
		t.Fatalf("got ids %v, want %v", got, want)
	}
}

// expectQuiet lets d of the bubble's clock pass — polls go on meanwhile —
// and ends the test (Fatal) if ch then holds an event: nothing more is
// delivered, nothing twice.
func expectQuiet(t *testing.T, ch <-chan Event, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	synctest.Wait()
	expectNoEvent(t, ch)
}
