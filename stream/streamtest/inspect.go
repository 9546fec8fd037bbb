package streamtest

import (
	"cmp"
	"context"
	"maps"
	"slices"
)

// What a test reads of the Server's monitors: lookups, snapshots, counters,
// acks and connection state, and the waits for a monitor's state.

func (s *Server) lookup(id uint32) *monitor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.monitors[id]
}

// all returns every monitor, in no particular order.
func (s *Server) all() []*monitor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.monitors))
}

// snapshot returns every monitor, by id (for listings).
func (s *Server) snapshot() []*monitor {
	ms := s.all()
	slices.SortFunc(ms, func(a, b *monitor) int { return cmp.Compare(a.id, b.id) })
	return ms
}

// MonitorInfo returns a snapshot of monitor id.
func (s *Server) MonitorInfo(id uint32) (MonitorInfo, bool) {
	m := s.lookup(id)
	if m == nil {
		return MonitorInfo{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.infoLocked(), true
}

// Monitors returns snapshots of every monitor, by id.
func (s *Server) Monitors() []MonitorInfo {
	ms := s.snapshot()
	out := make([]MonitorInfo, 0, len(ms))
	for _, m := range ms {
		m.mu.Lock()
		if !m.deleted {
			out = append(out, m.infoLocked())
		}
		m.mu.Unlock()
	}
	return out
}

// Stats returns monitor id's counters (the zero Stats for unknown ids).
func (s *Server) Stats(id uint32) Stats {
	m := s.lookup(id)
	if m == nil {
		return Stats{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statsLocked()
}

// Acks returns a copy of every ack received for the monitor, in arrival
// order. (Only the latest 100 000 to 200 000 are kept.)
func (s *Server) Acks(id uint32) []AckRecord {
	m := s.lookup(id)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.acks)
}

// Connected reports whether a client is connected to monitor id.
func (s *Server) Connected(id uint32) bool {
	m := s.lookup(id)
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conn != nil
}

// waitFor blocks until cond (called with m.mu held) holds.
func (s *Server) waitFor(ctx context.Context, id uint32, cond func(*monitor) bool) error {
	m := s.lookup(id)
	if m == nil {
		return ErrUnknownMonitor
	}
	for {
		m.mu.Lock()
		ok, deleted, ch := cond(m), m.deleted, m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		if deleted {
			return ErrUnknownMonitor
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrServerClosed
		}
	}
}

// WaitIdle blocks until monitor id has nothing left to deliver: no events
// queued (recorded ones included) and none sent but un-acked (for
// explicit-ack monitors) or still being written (ack off). It returns
// ctx.Err(), ErrUnknownMonitor if the monitor does not exist or is
// deleted, or ErrServerClosed.
func (s *Server) WaitIdle(ctx context.Context, id uint32) error {
	return s.waitFor(ctx, id, (*monitor).idleLocked)
}

// WaitConnected blocks until a client is connected to monitor id (its
// ConnectRequest accepted), so that events published afterwards reach it.
// Errors as for WaitIdle.
func (s *Server) WaitConnected(ctx context.Context, id uint32) error {
	return s.waitFor(ctx, id, func(m *monitor) bool { return m.conn != nil })
}
