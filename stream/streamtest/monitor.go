package streamtest

import (
	"sync"
	"time"
)

// A monitor's server-side state: its status, snapshot and counters, its
// creation, update and deletion, and the queueing of the events routed to
// it. What a monitor is made of, and its validation, are in spec.go.

// Monitor statuses (monStatus) this server reports.
const (
	StatusInactive  = "INACTIVE"  // no client connected (non-persistent monitor)
	StatusActive    = "ACTIVE"    // a client is connected
	StatusSuspended = "SUSPENDED" // persistent and no client connected: recording events
)

// MonitorInfo is a snapshot of one monitor.
type MonitorInfo struct {
	ID          uint32
	CustomerID  uint32
	Spec        MonitorSpec // normalised: defaults filled in
	Status      string      // StatusInactive, StatusActive or StatusSuspended; for http monitors also StatusConnecting or StatusDisabled
	Stats       Stats
	Created     time.Time
	LastConnect time.Time // zero if never connected
	LastSent    time.Time // zero if nothing was sent
	// Kicks counts bare PUTs (<Monitor><monId>N</monId></Monitor>), v1
	// PUTs that set no writable field, v1 resets and ResetMonitor calls;
	// Updates counts other PUTs of either API.
	Kicks, Updates int
}

// Stats are a monitor's counters, accumulated over all its connections.
// For http monitors, BlocksSent and EventsSent count push attempts (a
// retried block counts each time) and BlocksAcked and EventsAcked the
// pushes answered 2xx; HTTPAttempts has the details.
type Stats struct {
	Connections     int // push connections open now (0 or 1)
	ConnectsOK      int // ConnectRequests answered 200
	ConnectsRefused int // ConnectRequests for this monitor answered 400 or 403
	BlocksSent      int // PublishMessages written
	BlocksAcked     int // blocks acked with status 200 while outstanding
	EventsSent      int // events in BlocksSent
	EventsAcked     int // events in BlocksAcked
	Unacked         int // events sent (or being written) and not yet delivered, on the open connection
	Queued          int // events waiting to be sent, recorded ones included
	Replayed        int // events sent with replay=true
	Dropped         int // events discarded: disconnect of a non-persistent monitor, queue limit, render failure
	BadAcks         int // acks naming no outstanding block, or with a status other than 200
	LegacyAcks      int // acks in the 6-byte legacy form (only with Options.AcceptLegacyAck)
	ProtocolErrors  int // connections closed because the client sent a malformed or unexpected frame
}

// AckRecord is one ack received for a monitor.
type AckRecord struct {
	ConnIndex   int    // which accepted connection of the monitor: 0 for the first, 1 for the second, …
	DataBlockID uint16 // the block it names
	Events      int    // events in that block, 0 if it named no outstanding block
	Status      uint16 // as sent; only 200 acks a block
	Outstanding bool   // it named a block that was sent on that connection and not yet acked
	Legacy      bool   // it came in the 6-byte legacy form
	At          time.Time
}

// maxAckRecords bounds the ack history kept per monitor; older records are
// discarded first.
const maxAckRecords = 100_000

// monitor is the server-side state of one monitor. Everything below mu is
// guarded by it.
type monitor struct {
	id uint32
	s  *Server

	mu          sync.Mutex
	spec        MonitorSpec
	filters     []topicFilter
	deleted     bool
	created     time.Time
	lastConnect time.Time
	lastSent    time.Time
	kicks       int
	updates     int
	queue       queue
	conn        *pushConn // the attached connection, if any
	writing     int       // blocks being written on any connection, detached ones included
	connCount   int
	stats       Stats
	acks        []AckRecord
	changed     chan struct{} // closed and replaced on every change waiters care about
	dropLogged  bool
	x           monitorExt // history, HTTP push and template state; httpsender.go
}

// broadcast wakes WaitIdle and WaitConnected callers. m.mu must be held.
func (m *monitor) broadcast() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// notify wakes the attached connection's sender (and an http monitor's
// sender). m.mu must be held.
func (m *monitor) notify() {
	m.wakeSenderLocked()
	if m.conn != nil {
		select {
		case m.conn.wake <- struct{}{}:
		default:
		}
	}
}

// statusLocked returns monStatus. m.mu must be held.
func (m *monitor) statusLocked() string {
	if st := m.extStatusLocked(); st != "" { // http and polling: httpsender.go
		return st
	}
	switch {
	case m.conn != nil:
		return StatusActive
	case m.spec.Persistent && m.spec.Transport == "tcp":
		return StatusSuspended
	}
	return StatusInactive
}

func (m *monitor) idleLocked() bool {
	// A block being written is not idle either: its BlocksSent is counted
	// when the write returns, which may be after the client's ack — also
	// on a connection the client has closed meanwhile (m.writing).
	return m.queue.Len() == 0 && m.writing == 0 && (m.conn == nil || m.conn.holding == 0) && m.x.pending == nil
}

func (m *monitor) infoLocked() MonitorInfo {
	return MonitorInfo{
		ID:          m.id,
		CustomerID:  m.s.cst,
		Spec:        cloneSpec(m.spec),
		Status:      m.statusLocked(),
		Stats:       m.statsLocked(),
		Created:     m.created,
		LastConnect: m.lastConnect,
		LastSent:    m.lastSent,
		Kicks:       m.kicks,
		Updates:     m.updates,
	}
}

func (m *monitor) statsLocked() Stats {
	st := m.stats
	st.Queued = m.queue.Len()
	if m.conn != nil {
		st.Connections = 1
		st.Unacked = m.conn.holding
	}
	return st
}

// TryCreateMonitor creates a monitor from spec, as a REST POST would, and
// returns its id. An invalid spec returns an error matching
// ErrInvalidMonitor (a *SpecError); a closed server returns
// ErrServerClosed.
func (s *Server) TryCreateMonitor(spec MonitorSpec) (uint32, error) {
	spec, filters, err := normalizeSpec(spec)
	if err != nil {
		return 0, err
	}
	m, err := s.addMonitor(spec, filters)
	if err != nil {
		return 0, err
	}
	return m.id, nil
}

// CreateMonitor is TryCreateMonitor for tests that pass a spec known to be
// valid: on error it logs through Options.Logf and returns 0, which is
// never a monitor id (a connection naming it is refused with 400).
func (s *Server) CreateMonitor(spec MonitorSpec) uint32 {
	id, err := s.TryCreateMonitor(spec)
	if err != nil {
		s.logf("streamtest: CreateMonitor: %v", err)
		return 0
	}
	return id
}

// addMonitor registers a new monitor and returns it; callers use the
// returned monitor rather than looking its id up again, which a concurrent
// DELETE could make fail.
func (s *Server) addMonitor(spec MonitorSpec, filters []topicFilter) (*monitor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	s.nextID++
	m := &monitor{
		id:      s.nextID,
		s:       s,
		spec:    spec,
		filters: filters,
		created: time.Now().UTC(),
		changed: make(chan struct{}),
	}
	s.monitors[m.id] = m
	m.startSenderLocked() // http monitors; httpsender.go
	return m, nil
}

// DeleteMonitor deletes a monitor as a REST DELETE would: its push
// connection is closed and its queued events are discarded. It reports
// whether the monitor existed.
func (s *Server) DeleteMonitor(id uint32) bool {
	s.mu.Lock()
	m := s.monitors[id]
	delete(s.monitors, id)
	s.mu.Unlock()
	if m == nil {
		return false
	}
	m.mu.Lock()
	m.deleted = true
	c := m.conn
	if c != nil {
		m.detachLocked(c)
	}
	m.queue.Clear()
	m.broadcast()
	m.mu.Unlock()
	if c != nil {
		c.shutdown(false)
	}
	return true
}

// updateLocked replaces a monitor's spec (REST PUT); kick marks a bare
// PUT. Effects: a monitor that stops being tcp loses its connection and
// queue; one that stops being persistent while disconnected discards what
// it recorded; batching changes apply to the next block. It returns a
// connection the caller must shut down after unlocking. m.mu must be held.
func (m *monitor) updateLocked(spec MonitorSpec, filters []topicFilter, kick bool) *pushConn {
	if kick {
		m.kicks++
	} else {
		m.updates++
	}
	m.spec, m.filters = spec, filters
	var c *pushConn
	if spec.Transport != "tcp" && m.conn != nil {
		c = m.conn
		m.detachLocked(c)
	}
	if spec.Transport == "polling" || spec.Transport == "tcp" && !spec.Persistent && m.conn == nil {
		m.stats.Dropped += m.queue.Len()
		m.queue.Clear()
	}
	m.resetHTTPLocked()   // any PUT resets the monitor's state
	m.startSenderLocked() // it may have become an http monitor
	m.notify()
	m.broadcast()
	return c
}

// enqueue routes events to m and returns how many it queued.
func (m *monitor) enqueue(evs []*rendered, now time.Time, limit int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted {
		return 0
	}
	polling := m.spec.Transport == "polling"
	keep := m.keepsHistoryLocked() // history.go
	live := !polling && (m.conn != nil || m.spec.Transport == "http" && !m.x.disabled)
	if !live && !keep {
		return 0 // at-most-once: nobody listens, nothing is kept
	}
	xmlFormat := m.spec.Format == "xml"
	n, stored, dropped := 0, 0, 0
	for _, r := range evs {
		if !m.matches(r) {
			continue
		}
		if keep {
			m.x.hist.add(r, limit)
			stored++
		}
		if polling {
			continue // stored for the history API only
		}
		if xmlFormat {
			if err := r.renderXML(); err != nil {
				dropped++
				m.s.logf("streamtest: monitor %d: event on %q cannot be rendered as XML, dropped: %v", m.id, r.ev.Topic, err)
				continue
			}
		}
		if m.queue.Len() >= limit {
			dropped++
			if !m.dropLogged {
				m.dropLogged = true
				m.s.logf("streamtest: monitor %d: queue limit of %d events reached; dropping new events", m.id, limit)
			}
			continue
		}
		m.queue.PushBack(qitem{ev: r, at: now, replay: !live})
		n++
	}
	if polling {
		return stored
	}
	m.stats.Dropped += dropped
	if n > 0 {
		m.notify()
	}
	return n
}

func (m *monitor) matches(r *rendered) bool {
	for i := range m.filters {
		if m.filters[i].match(r.segs, r.op, r.group) {
			return true
		}
	}
	return false
}

func (m *monitor) recordAckLocked(rec AckRecord) {
	if len(m.acks) >= 2*maxAckRecords {
		m.acks = append(m.acks[:0], m.acks[len(m.acks)-maxAckRecords:]...)
	}
	m.acks = append(m.acks, rec)
}
