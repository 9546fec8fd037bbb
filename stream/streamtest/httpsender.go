package streamtest

// The HTTP transport (protocol package documentation §7): for each http monitor a sender
// goroutine PUTs (or POSTs) its blocks to monTransportUrl, with Basic auth
// from monTransportToken and the monTransportHeaders, retrying a failed
// block every Options.HTTPRetryInterval until Options.HTTPDisableAfter has
// passed since the first failure, when the monitor becomes DISABLED. This
// file holds the sender's schedule and state; one attempt is in
// httpsender_post.go.

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Monitor statuses of http monitors (besides StatusInactive and
// StatusActive).
const (
	// StatusConnecting: the last push to the monitor's URL failed and the
	// block is being retried.
	StatusConnecting = "CONNECTING"
	// StatusDisabled: pushes failed for Options.HTTPDisableAfter; nothing
	// is sent until the monitor is reset (any PUT, the v1 reset, or
	// Server.ResetMonitor).
	StatusDisabled = "DISABLED"
)

// Defaults of the HTTP sender: the service's documented schedule.
const (
	DefaultHTTPRetryInterval = 16 * time.Minute
	DefaultHTTPDisableAfter  = 24 * time.Hour
)

// HTTPAttempt is one push of a block to an http monitor's URL.
type HTTPAttempt struct {
	At     time.Time
	Events int    // events in the block
	Status int    // the HTTP status, 0 when no answer was received
	Err    string // the transport error, "" when an answer was received
	// Delivered is true for a 2xx answer.
	Delivered bool
}

// maxAttemptRecords bounds the attempts kept per monitor.
const maxAttemptRecords = 10_000

// monitorExt is the state this file, history.go and template_exec.go add
// to a monitor; it is guarded by the monitor's mutex.
type monitorExt struct {
	hist historyLog

	// http transport
	sender       bool // a sender goroutine is running
	wake         chan struct{}
	pending      []qitem   // the block being pushed or retried
	failingSince time.Time // first failure of the current pending block; zero when none
	nextTry      time.Time // when the pending block may be retried
	disabled     bool
	delivered    bool // a push succeeded since the last reset
	attempts     []HTTPAttempt

	// template cache; template_exec.go
	tmplSrc string
	tmpl    *template
}

// senderState is the server-wide part: the context of every push request,
// and the flag that stops new senders once Close has begun.
type senderState struct {
	mu     sync.Mutex
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *Server) senders() *senderState {
	s.x.mu.Lock()
	defer s.x.mu.Unlock()
	if s.x.ctx == nil {
		s.x.ctx, s.x.cancel = context.WithCancel(context.Background())
	}
	return &s.x
}

// stopSenders keeps new senders from starting and cancels every push in
// flight. Close calls it before waiting for the goroutines.
func (s *Server) stopSenders() {
	s.x.mu.Lock()
	s.x.closed = true
	if s.x.cancel != nil {
		s.x.cancel()
	}
	s.x.mu.Unlock()
}

// startSenderLocked starts the monitor's HTTP sender if it is an http
// monitor without one. m.mu must be held (or m not yet shared).
func (m *monitor) startSenderLocked() {
	if m.deleted || m.spec.Transport != "http" || m.x.sender {
		return
	}
	st := m.s.senders()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	if m.x.wake == nil {
		m.x.wake = make(chan struct{}, 1)
	}
	m.x.sender = true
	m.s.wg.Add(1)
	go m.sendHTTP(st.ctx)
}

// wakeSenderLocked nudges the HTTP sender. m.mu must be held.
func (m *monitor) wakeSenderLocked() {
	if m.x.wake != nil {
		select {
		case m.x.wake <- struct{}{}:
		default:
		}
	}
}

// resetHTTPLocked clears the failure state (any PUT resets a monitor):
// a DISABLED monitor is enabled again and a pending block is retried at
// once. m.mu must be held.
func (m *monitor) resetHTTPLocked() {
	m.x.disabled = false
	m.x.failingSince = time.Time{}
	m.x.nextTry = time.Time{}
	m.wakeSenderLocked()
}

// extStatusLocked returns the status of http monitors, "" for others.
// m.mu must be held.
func (m *monitor) extStatusLocked() string {
	switch m.spec.Transport {
	case "http":
		switch {
		case m.x.disabled:
			return StatusDisabled
		case !m.x.failingSince.IsZero():
			return StatusConnecting
		case m.x.delivered:
			return StatusActive
		}
		return StatusInactive
	}
	return ""
}

// nextPush decides what the sender does next: push (ok and p.items set),
// wait (until wait passes, 0 = until woken), or stop (!ok).
func (m *monitor) nextPush(now time.Time) (p httpPush, wait time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted || m.spec.Transport != "http" {
		m.x.sender = false
		if !m.deleted && m.x.pending != nil {
			// No longer an http monitor: the block being pushed is lost.
			m.stats.Dropped += len(m.x.pending)
			m.x.pending = nil
		}
		return p, 0, false
	}
	if m.x.disabled {
		return p, 0, true
	}
	spec := &m.spec
	if m.x.pending == nil {
		if m.queue.Len() == 0 {
			return p, 0, true
		}
		front := m.queue.Front()
		if spec.BatchDuration > 0 && m.queue.Len() < spec.BatchSize {
			if due := front.at.Add(spec.BatchDuration); now.Before(due) {
				return p, due.Sub(now), true
			}
		}
		n := min(m.queue.Len(), spec.BatchSize)
		items := make([]qitem, 0, n)
		for len(items) < n {
			items = append(items, m.queue.PopFront())
		}
		m.x.pending = items
	} else if now.Before(m.x.nextTry) {
		return p, m.x.nextTry.Sub(now), true
	}
	p = httpPush{
		url: spec.TransportURL, method: spec.TransportMethod, token: string(spec.TransportToken),
		headers: spec.TransportHeaders, timeout: spec.ConnectTimeout + spec.ResponseTimeout,
		xml: spec.Format == "xml", zlib: spec.Compression != "none", tmpl: m.templateLocked(),
		items: m.x.pending,
	}
	return p, 0, true
}

// pushed records the outcome of one attempt.
func (m *monitor) pushed(p httpPush, a HTTPAttempt) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.x.attempts) >= 2*maxAttemptRecords {
		m.x.attempts = append(m.x.attempts[:0], m.x.attempts[len(m.x.attempts)-maxAttemptRecords:]...)
	}
	m.x.attempts = append(m.x.attempts, a)
	if m.deleted || len(m.x.pending) == 0 || &m.x.pending[0] != &p.items[0] {
		return // deleted or changed meanwhile
	}
	n := len(p.items)
	m.stats.BlocksSent++
	m.stats.EventsSent += n
	if a.Delivered {
		m.stats.BlocksAcked++
		m.stats.EventsAcked += n
		m.x.pending = nil
		m.x.failingSince, m.x.nextTry = time.Time{}, time.Time{}
		m.x.delivered = true
		m.lastSent = a.At
		m.broadcast()
		return
	}
	if m.x.failingSince.IsZero() {
		m.x.failingSince = a.At
	}
	m.x.nextTry = a.At.Add(m.s.opts.HTTPRetryInterval)
	if a.At.Sub(m.x.failingSince) >= m.s.opts.HTTPDisableAfter {
		m.x.disabled = true
		m.s.logf("streamtest: monitor %d: pushes failed for %v; DISABLED", m.id, a.At.Sub(m.x.failingSince))
		if !m.spec.Persistent {
			m.stats.Dropped += n + m.queue.Len()
			m.x.pending = nil
			m.queue.Clear()
		}
	}
	m.broadcast()
}

// sendHTTP is the sender goroutine of one http monitor.
func (m *monitor) sendHTTP(ctx context.Context) {
	s := m.s
	defer s.wg.Done()
	hc := s.opts.HTTPClient
	var tr *http.Transport
	if hc == nil {
		tr = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 1,
			Proxy:               nil, // the simulator reaches its targets directly
		}
		hc = &http.Client{Transport: tr}
	}
	// Redirects are not followed: only a 2xx from the monitor's URL
	// delivers a block. Following a 301, 302 or 303 would turn the push
	// into a GET without the document, and count its 200 as delivered.
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc = &c
	defer func() {
		if tr != nil {
			tr.CloseIdleConnections()
		}
	}()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var doc []byte
	for {
		p, wait, ok := m.nextPush(time.Now())
		if !ok {
			return
		}
		if p.items == nil {
			var tc <-chan time.Time
			if wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				tc = timer.C
			}
			m.mu.Lock()
			wake, changed := m.x.wake, m.changed
			m.mu.Unlock()
			select {
			case <-wake:
			case <-changed:
			case <-tc:
			case <-ctx.Done():
				return
			}
			continue
		}
		doc = m.blockDocument(doc, p.xml, p.items, p.tmpl)
		a := m.post(ctx, hc, p, doc)
		if ctx.Err() != nil {
			return
		}
		m.pushed(p, a)
	}
}

// HTTPAttempts returns a copy of the push attempts made to monitor id's URL,
// oldest first (only the latest 10 000 to 20 000 are kept).
func (s *Server) HTTPAttempts(id uint32) []HTTPAttempt {
	m := s.lookup(id)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.x.attempts)
}

// ResetMonitor resets monitor id's HTTP push state, as any REST PUT does,
// and counts a kick: an http monitor that is DISABLED or waiting to retry
// pushes again at once. Unlike a REST PUT it leaves the push connection
// and the queue alone. It returns ErrUnknownMonitor for unknown ids.
func (s *Server) ResetMonitor(id uint32) error {
	m := s.lookup(id)
	if m == nil {
		return ErrUnknownMonitor
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted {
		return ErrUnknownMonitor
	}
	m.kicks++
	m.resetHTTPLocked()
	m.broadcast()
	return nil
}

// WaitStatus blocks until monitor id reports status (StatusActive,
// StatusDisabled, …). Errors as for WaitIdle.
func (s *Server) WaitStatus(ctx context.Context, id uint32, status string) error {
	return s.waitFor(ctx, id, func(m *monitor) bool { return m.statusLocked() == status })
}
