package streamtest

import (
	"fmt"
	"time"
)

// Publishing: events validated and rendered once, then routed to every
// monitor whose topics match them.

// Publish routes each event to every monitor whose topics match it and
// returns the number of (monitor, event) deliveries queued. A tcp monitor
// with a connected client queues the event for sending; a disconnected
// persistent monitor records it for replay; a disconnected non-persistent
// monitor drops it (and does not count it). An http monitor queues it for
// its sender (unless DISABLED and not persistent); a polling monitor
// stores it for the history API. Invalid events are skipped and logged;
// use TryPublish to get an error instead.
func (s *Server) Publish(events ...Event) int {
	now := time.Now().UTC()
	rs := make([]*rendered, 0, len(events))
	for i, ev := range events {
		r, err := prepare(ev, s.cst, now)
		if err != nil {
			s.logf("streamtest: Publish: event %d (%q) skipped: %v", i, ev.Topic, err)
			continue
		}
		rs = append(rs, r)
	}
	return s.route(rs, now)
}

// TryPublish is Publish that validates every event first: if any is
// invalid it publishes nothing and returns an error matching
// ErrInvalidEvent. It returns ErrServerClosed on a closed Server.
func (s *Server) TryPublish(events ...Event) (int, error) {
	now := time.Now().UTC()
	rs := make([]*rendered, 0, len(events))
	for i, ev := range events {
		r, err := prepare(ev, s.cst, now)
		if err != nil {
			return 0, fmt.Errorf("%w: event %d (%q): %v", ErrInvalidEvent, i, ev.Topic, err)
		}
		rs = append(rs, r)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0, ErrServerClosed
	}
	return s.route(rs, now), nil
}

func (s *Server) route(rs []*rendered, now time.Time) int {
	if len(rs) == 0 {
		return 0
	}
	n := 0
	for _, m := range s.all() { // routing needs no order
		n += m.enqueue(rs, now, s.opts.MaxQueuedEvents)
	}
	return n
}
