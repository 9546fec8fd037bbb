package faultnet

import (
	"os"
	"sync"
	"time"
)

// deadline mirrors one of the inner conn's deadlines so that waits the
// wrapper itself makes (stalls, delays, rate limiting) end when it fires.
// Waiters take the channel from wait and select on it; set keeps the same
// channel while it has not fired, so a waiter sees a deadline moved while
// it waits. Safe for concurrent use. It starts no goroutine: the timer's
// function runs only when the deadline fires.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer   // pending expiry; nil when none
	ch    chan struct{} // closed once the deadline has passed
}

func newDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	fired := isClosed(d.ch)
	if t.IsZero() {
		if fired {
			d.ch = make(chan struct{})
		}
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		if !fired {
			close(d.ch)
		}
		return
	}
	if fired {
		d.ch = make(chan struct{})
	}
	var tm *time.Timer
	tm = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		// A timer stopped too late still runs; only the current one counts.
		if d.timer == tm {
			close(d.ch)
			d.timer = nil
		}
	})
	d.timer = tm
}

// wait returns a channel closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// stop releases the pending timer, if any.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// errDeadline is what the wrapper's own waits return when a deadline fires,
// matching what net.Conn implementations return.
var errDeadline error = os.ErrDeadlineExceeded
