package main

// Status lines on stderr (never stdout, which carries the events): what
// the client is waiting for, and with -v a periodic rate and lag line
// built from the Source's public counters.

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/stream"
)

// progress reports a Source's progress. Its methods are safe for
// concurrent use.
type progress struct {
	log    *slog.Logger
	id     uint32
	addr   string       // tcp: the push address
	lag    atomic.Int64 // the last timed event's lag, in nanoseconds
	hasLag atomic.Bool
}

// seen records an event just printed: its lag is the time from its
// server timestamp to now (server clock skew included).
func (p *progress) seen(ev stream.Event) {
	if !ev.Timestamp.IsZero() {
		p.lag.Store(int64(time.Since(ev.Timestamp)))
		p.hasLag.Store(true)
	}
}

// watch reports src's state changes, and with every > 0 its counters at
// that interval, until the returned stop is called (which waits for the
// goroutines to end) or src ends.
func (p *progress) watch(ctx context.Context, src stream.Source, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if sub, ok := src.(*stream.Subscription); ok {
		wg.Go(func() { p.states(ctx, sub) })
	} else {
		p.log.Info(fmt.Sprintf("waiting for events on monitor %d …", p.id))
	}
	if every > 0 {
		wg.Go(func() { p.tick(ctx, src, every) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// states turns a Subscription's state changes into status lines. (Failed
// attempts are logged by the Subscription itself, with their error.)
func (p *progress) states(ctx context.Context, sub *stream.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case sc, ok := <-sub.States():
			if !ok {
				return
			}
			switch sc.State {
			case stream.StateConnecting:
				p.log.Info(fmt.Sprintf("connecting to %s (push) …", p.addr))
			case stream.StateConnected:
				p.log.Info(fmt.Sprintf("waiting for events on monitor %d …", p.id))
			}
		}
	}
}

// tick prints a counters line every interval until ctx ends or src ends.
func (p *progress) tick(ctx context.Context, src stream.Source, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	last, lastAt := counts(src).events, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-src.Done():
			return
		case now := <-t.C:
			c := counts(src)
			rate := float64(c.events-last) / now.Sub(lastAt).Seconds()
			last, lastAt = c.events, now
			attrs := []any{"monitor_id", p.id, "state", c.state, "events", c.events, "rate", fmt.Sprintf("%.1f/s", rate)}
			if p.hasLag.Load() {
				attrs = append(attrs, "lag", time.Duration(p.lag.Load()).Round(time.Millisecond))
			} else {
				attrs = append(attrs, "lag", "none yet")
			}
			p.log.Info("stats", append(attrs, c.extra...)...)
		}
	}
}

// sourceCounts are what the -v line shows of a Source.
type sourceCounts struct {
	state  string
	events uint64
	extra  []any // per-transport counters, as slog key-value pairs
}

// counts reads src's public counters.
func counts(src stream.Source) sourceCounts {
	var c sourceCounts
	if s, ok := src.(interface{ State() stream.State }); ok {
		c.state = s.State().String()
	}
	switch s := src.(type) {
	case *stream.Subscription:
		st := s.Stats()
		c.events = st.Events
		c.extra = []any{"duplicates", st.Duplicates, "connects", st.Connects, "resets", st.Resets, "bytes", st.BytesRead}
	case *stream.HTTPReceiver:
		st := s.Stats()
		c.events = st.Events
		c.extra = []any{"duplicates", st.Duplicates, "requests", st.Requests, "unauthorized", st.Unauthorized, "rejected", st.Rejected}
	case *stream.Poller:
		st := s.Stats()
		c.events = st.Events
		c.extra = []any{"duplicates", st.Duplicates, "requests", st.Requests, "failures", st.Failures}
	}
	return c
}
