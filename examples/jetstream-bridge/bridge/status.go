package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/stream"
)

// MonitorState is what the bridge is doing with one monitor.
type MonitorState int32

// Monitor states. Without Config.Ownership a monitor is never
// MonitorUnowned, MonitorFenced or MonitorReleasing.
const (
	// MonitorUnowned: another replica holds the monitor's lease, or
	// nobody does yet (Config.Ownership).
	MonitorUnowned MonitorState = iota
	// MonitorStarting: checking that the stream answers before
	// connecting to Remote Manager.
	MonitorStarting
	// MonitorConnecting: the push connection is being set up.
	MonitorConnecting
	// MonitorStreaming: the push session is connected; blocks flow.
	MonitorStreaming
	// MonitorRetrying: waiting after a failed session or push connection.
	MonitorRetrying
	// MonitorFenced: the lease could not be renewed in time, so the push
	// session is stopped until a renewal succeeds (Config.Ownership).
	MonitorFenced
	// MonitorReleasing: the session is ending gracefully so that the
	// lease can be released (rebalancing or Shutdown).
	MonitorReleasing
	// MonitorStopped: stopped for good by a permanent error, or the
	// bridge has stopped.
	MonitorStopped
)

var monitorStateNames = [...]string{"unowned", "starting", "connecting", "streaming", "retrying", "fenced", "releasing", "stopped"}

// MonitorStates lists every state, in order: for metrics that export one
// series per state.
func MonitorStates() []MonitorState {
	out := make([]MonitorState, len(monitorStateNames))
	for i := range out {
		out[i] = MonitorState(i)
	}
	return out
}

func (s MonitorState) String() string {
	if s >= 0 && int(s) < len(monitorStateNames) {
		return monitorStateNames[s]
	}
	return fmt.Sprintf("MonitorState(%d)", int32(s))
}

// MonitorStatus is a snapshot of one monitor on this bridge.
type MonitorStatus struct {
	ID    uint32
	State MonitorState
	// Owned: this bridge runs the monitor. Without Config.Ownership,
	// until the monitor stops for good; with it, while this replica holds
	// the monitor's lease.
	Owned bool
	// InFlight is the number of events published and awaiting their
	// PubAck.
	InFlight int
	// LastAck is when a block of the monitor was last acknowledged to
	// Remote Manager by this bridge; zero if never.
	LastAck time.Time
	// Lag is, at LastAck, the time since the newest event timestamp of
	// the acknowledged batch: how far the stream was behind the source.
	// Replays make it large. Zero when the events had no timestamp.
	Lag time.Duration
	// Err is the error of the last failed session, nil if none failed
	// since the last one that acknowledged a block.
	Err error
}

// monitorState is one monitor's live status; the fields are written by
// its session loop and lease holder and read by Monitors.
type monitorState struct {
	id    uint32
	phase atomic.Int32 // MonitorState outside a push session
	owned atomic.Bool
	// MonitorFenced or MonitorReleasing while the lease holder stops the
	// session, else 0; it overrides phase.
	leasePhase atomic.Int32
	sub        atomic.Pointer[stream.BatchSubscription] // the push session in progress
	inflight   atomic.Int64
	lastAck    atomic.Int64 // Unix nanoseconds
	lag        atomic.Int64 // nanoseconds

	errMu sync.Mutex
	err   error
}

func (m *monitorState) setPhase(s MonitorState) { m.phase.Store(int32(s)) }

func (m *monitorState) setErr(err error) {
	m.errMu.Lock()
	m.err = err
	m.errMu.Unlock()
}

// acked records an acknowledged batch whose newest event timestamp is
// newest (zero: none).
func (m *monitorState) acked(now, newest time.Time) {
	m.lastAck.Store(now.UnixNano())
	if !newest.IsZero() {
		m.lag.Store(int64(max(0, now.Sub(newest))))
	}
	m.setErr(nil)
}

func (m *monitorState) status() MonitorStatus {
	st := MonitorStatus{
		ID:       m.id,
		State:    MonitorState(m.phase.Load()),
		Owned:    m.owned.Load(),
		InFlight: int(m.inflight.Load()),
		Lag:      time.Duration(m.lag.Load()),
	}
	if ns := m.lastAck.Load(); ns != 0 {
		st.LastAck = time.Unix(0, ns)
	}
	m.errMu.Lock()
	st.Err = m.err
	m.errMu.Unlock()
	switch lp := MonitorState(m.leasePhase.Load()); {
	case !st.Owned && st.State != MonitorStopped:
		st.State = MonitorUnowned
	case st.Owned && lp != 0:
		st.State = lp
	case st.State == MonitorStarting:
		if sub := m.sub.Load(); sub != nil {
			switch sub.State() {
			case stream.StateConnecting:
				st.State = MonitorConnecting
			case stream.StateConnected:
				st.State = MonitorStreaming
			case stream.StateBackoff:
				st.State = MonitorRetrying
			}
		}
	}
	return st
}

// Monitors returns the status of every monitor of Config.Monitors, in
// that order. Safe for concurrent use, at any time.
func (b *Bridge) Monitors() []MonitorStatus {
	out := make([]MonitorStatus, len(b.mons))
	for i, m := range b.mons {
		out[i] = m.status()
	}
	return out
}
