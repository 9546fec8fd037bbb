package streamtest

import "sync"

// Concurrent push sessions per monitor.
//
// Remote Manager keeps one push connection per monitor: a second client
// takes the monitor over and the first is closed. A test that runs several
// clients (replicas of a consumer that share monitors) can check that they
// never overlap with PushSessions: a session is open from the moment the
// simulator accepts its ConnectRequest for the monitor until the simulator
// has closed the connection (the client went away, was replaced or dropped,
// the monitor was deleted, or the Server closed). A takeover therefore
// shows as two open sessions for an instant: the new one is counted before
// the old one is closed.

// sessionTable counts open push sessions per monitor id.
type sessionTable struct {
	mu sync.Mutex
	m  map[uint32]*sessionCount
}

type sessionCount struct{ open, peak int }

func (t *sessionTable) opened(id uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[uint32]*sessionCount)
	}
	c := t.m[id]
	if c == nil {
		c = &sessionCount{}
		t.m[id] = c
	}
	c.open++
	c.peak = max(c.peak, c.open)
}

func (t *sessionTable) closed(id uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.m[id]; c != nil && c.open > 0 {
		c.open--
	}
}

// PushSessions reports, for monitor id, how many push sessions are open
// now and the most that were open at the same time since the first
// connection to the monitor or the last ResetPushSessionsPeak. Both are 0
// for a monitor nobody connected to (or an unknown id). Safe for
// concurrent use; the two numbers are read together.
func (s *Server) PushSessions(id uint32) (open, peak int) {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.m[id]; c != nil {
		return c.open, c.peak
	}
	return 0, 0
}

// ResetPushSessionsPeak lowers monitor id's peak to the number of push
// sessions open now, so that a test can check a phase on its own (after a
// deliberate takeover, say).
func (s *Server) ResetPushSessionsPeak(id uint32) {
	t := &s.sessions
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.m[id]; c != nil {
		c.peak = c.open
	}
}

// countSession records that pc's session with m is open; uncountSession
// (from shutdown) that it is closed. Each runs at most once per
// connection, in either order: a connection shut down before it was
// counted is never counted.
func (pc *pushConn) countSession(m *monitor) {
	if pc.session.CompareAndSwap(0, 1) {
		pc.s.sessions.opened(m.id)
	}
}

func (pc *pushConn) uncountSession() {
	if pc.session.Swap(2) == 1 {
		if m := pc.mon.Load(); m != nil {
			pc.s.sessions.closed(m.id)
		}
	}
}
