package stream

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestLogThrottle: the first occurrence is let through and opens a
// window; the next ones within it are held and counted, given back once
// (by the next occurrence let through, or by due once the window has
// passed, or at once when final); its zero value lets everything through.
func TestLogThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var zero logThrottle
		for i := range 3 {
			if ok, held := zero.admit(); !ok || held != 0 {
				t.Fatalf("zero value, occurrence %d: admit = %v, %d; want true, 0", i, ok, held)
			}
		}
		th := logThrottle{window: time.Minute}
		check := func(what string, ok bool, held int, wantOK bool, wantHeld int) {
			t.Helper()
			if ok != wantOK || held != wantHeld {
				t.Errorf("%s: %v, %d; want %v, %d", what, ok, held, wantOK, wantHeld)
			}
		}
		ok, held := th.admit()
		check("first", ok, held, true, 0)
		for range 5 {
			ok, held = th.admit()
			check("within the window", ok, held, false, 0)
		}
		if n := th.due(false); n != 0 {
			t.Errorf("due within the window: %d, want 0", n)
		}
		time.Sleep(time.Minute)
		ok, held = th.admit() // the window has passed: let through, with the count
		check("after the window", ok, held, true, 5)
		ok, held = th.admit()
		check("within the new window", ok, held, false, 0)
		if n := th.due(true); n != 1 {
			t.Errorf("due, final: %d, want 1", n)
		}
		ok, held = th.admit() // the window stays after an early summary
		check("after a final due, within the window", ok, held, false, 0)
		time.Sleep(time.Minute)
		if n, again := th.due(false), th.due(false); n != 1 || again != 0 {
			t.Errorf("due after the window: %d then %d, want 1 then 0", n, again)
		}
		ok, held = th.admit()
		check("after a due", ok, held, true, 0)
	})
}
