package stream

import (
	"sync"
	"time"
)

// logThrottle bounds how often one recurring problem is logged and
// reported on States, so that a peer that repeats it on every block (or
// request) cannot flood the log and crowd other changes out of the
// States channel. The first occurrence is let through at once and opens a
// window; the later ones within the window are only counted, and given
// back as a count to summarise once the window has passed (at the next
// occurrence, or when the caller asks with due). Its memory is a count:
// nothing grows with the occurrences. Counters meant to be exact (Stats)
// are kept apart, for every occurrence.
//
// It is safe for concurrent use. Its zero value lets everything through.
type logThrottle struct {
	window time.Duration

	mu    sync.Mutex
	until time.Time // the end of the window the last occurrence let through opened
	held  int       // occurrences counted, not let through, since then
}

// admit is called for each occurrence. It reports whether this one is
// let through, and then how many were held back before it, whose summary
// should come first; held is 0 when ok is false.
func (t *logThrottle) admit() (ok bool, held int) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.window > 0 && now.Before(t.until) {
		t.held++
		return false, 0
	}
	held, t.held = t.held, 0
	t.until = now.Add(t.window)
	return true, held
}

// due returns, and forgets, how many occurrences were held back, once the
// window they fell in has passed, or at once when final is set (the end
// of whatever they happened in): a summary then says what the next
// occurrence would otherwise tell late, or never. It returns 0 when there
// is nothing to summarise yet, and then reads no clock. The window stays:
// an occurrence right after an early summary is still held back.
func (t *logThrottle) due(final bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held == 0 || !final && time.Now().Before(t.until) {
		return 0
	}
	held := t.held
	t.held = 0
	return held
}
