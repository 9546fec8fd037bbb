package streamtest

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the Server. Match them with errors.Is.
var (
	// ErrServerClosed: the Server was closed.
	ErrServerClosed = errors.New("streamtest: server closed")
	// ErrUnknownMonitor: no monitor has the given id (it may have been
	// deleted).
	ErrUnknownMonitor = errors.New("streamtest: unknown monitor")
	// ErrInvalidOptions: an Options field is out of range.
	ErrInvalidOptions = errors.New("streamtest: invalid options")
	// ErrInvalidMonitor: a MonitorSpec (or REST <Monitor>) is invalid; the
	// error is a *SpecError naming the field.
	ErrInvalidMonitor = errors.New("streamtest: invalid monitor")
	// ErrInvalidEvent: an Event cannot be published (bad topic, body that
	// encoding/json cannot marshal).
	ErrInvalidEvent = errors.New("streamtest: invalid event")
	// ErrInvalidGenerator: a Generator field is out of range.
	ErrInvalidGenerator = errors.New("streamtest: invalid generator")
)

// DefaultUsers returns the credentials accepted when Options.Users is nil:
// user "user", password "password". Each call returns a new map, which the
// caller owns.
func DefaultUsers() map[string]string { return map[string]string{"user": "password"} }

// Defaults.
const (
	// DefaultCustomerID is the customer id when Options.CustomerID is 0.
	DefaultCustomerID = 1234
	// DefaultMaxQueuedEvents bounds each monitor's queue (events waiting
	// to be sent, recorded ones included) when Options.MaxQueuedEvents is
	// 0. Events published beyond it are dropped and counted in
	// Stats.Dropped.
	DefaultMaxQueuedEvents = 1_000_000
	// DefaultHandshakeTimeout bounds the time from accepting a push
	// connection to having read its ConnectRequest.
	DefaultHandshakeTimeout = 30 * time.Second
	// FirstMonitorID is the id of the first monitor a Server creates; ids
	// above 65535 catch clients that squeeze them into 16 bits.
	FirstMonitorID = 100001
)

// Options configures a Server. The zero value is a working server on
// loopback ports with DefaultUsers.
//
// Options implements String, GoString and Format so that printing it never
// shows a password.
type Options struct {
	// Users maps user names to passwords. They are accepted by REST Basic
	// auth and by push ConnectRequests. nil means DefaultUsers(). The map
	// is copied by Start.
	Users map[string]string
	// CustomerID is the cstId of every monitor and the prefix of every
	// event topic. 0 means DefaultCustomerID (1234).
	CustomerID uint32
	// Listen addresses of the REST API, the plain push port and the TLS
	// push port. "" means "127.0.0.1:0" (a free port); "-" means do not
	// listen (ServeConn and Handler still work).
	HTTPAddr, PushAddr, PushTLSAddr string
	// HTTPSAddr, unlike the others, listens only when set: the REST API
	// over TLS, with the TLS push certificate (see CertPool). "-" also
	// means do not listen.
	HTTPSAddr string
	// InFlight is the most un-acked blocks per connection for
	// explicit-ack monitors: 0 means unlimited (pipelining; in fact
	// 65535, the DataBlockId space), 1 means stop-and-wait.
	InFlight int
	// AcceptLegacyAck makes push connections also accept the 6-byte ack
	// of old Python clients. Without it such an ack is a protocol error
	// that closes the connection.
	AcceptLegacyAck bool
	// FirstBlockID is the DataBlockId of the first block on each
	// connection (default 0), to test the wrap at 0xFFFF quickly.
	FirstBlockID uint16
	// Logf receives diagnostics, one line per REST call included; nil
	// means silent. Passwords are never logged. t.Logf is a good choice;
	// close the Server before the test ends.
	Logf func(format string, args ...any)
	// Warnf receives one line, naming the fix, for each client mistake
	// the Server refuses: an ack it cannot accept. nil means Logf.
	Warnf func(format string, args ...any)
	// HandshakeTimeout bounds the wait for a ConnectRequest (and a TLS
	// handshake). 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxQueuedEvents bounds each monitor's queue. 0 means
	// DefaultMaxQueuedEvents.
	MaxQueuedEvents int

	// HTTPRetryInterval is how long an http monitor waits before pushing a
	// failed block again; 0 means DefaultHTTPRetryInterval (16 min, the
	// service's schedule). Tests shorten it.
	HTTPRetryInterval time.Duration
	// HTTPDisableAfter is how long pushes may keep failing before the
	// monitor becomes DISABLED; 0 means DefaultHTTPDisableAfter (24 h).
	HTTPDisableAfter time.Duration
	// HTTPClient sends the pushes of http monitors (to trust a test
	// server's certificate, say). nil means a client of its own per
	// monitor, without proxy. Each push is bounded by the monitor's
	// connect plus response timeout either way. Unlike the service, the
	// simulator pushes to loopback URLs.
	HTTPClient *http.Client
}

// String describes the options with passwords redacted.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("{Users:")
	if o.Users == nil {
		b.WriteString("<default>")
	} else {
		b.WriteString("[")
		for i, u := range slices.Sorted(maps.Keys(o.Users)) {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q:[REDACTED]", u)
		}
		b.WriteString("]")
	}
	fmt.Fprintf(&b, " CustomerID:%d HTTPAddr:%q HTTPSAddr:%q PushAddr:%q PushTLSAddr:%q InFlight:%d AcceptLegacyAck:%t FirstBlockID:%d Logf:%t Warnf:%t HandshakeTimeout:%v MaxQueuedEvents:%d}",
		o.CustomerID, o.HTTPAddr, o.HTTPSAddr, o.PushAddr, o.PushTLSAddr, o.InFlight, o.AcceptLegacyAck,
		o.FirstBlockID, o.Logf != nil, o.Warnf != nil, o.HandshakeTimeout, o.MaxQueuedEvents)
	return b.String()
}

// GoString returns the same redacted form as String.
func (o Options) GoString() string { return "streamtest.Options" + o.String() }

// Format makes every verb print the redacted form.
func (o Options) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, o.GoString())
		return
	}
	fmt.Fprint(f, o.String())
}

// Server is an in-process Remote Manager: the legacy /ws/Monitor REST API,
// the v1 JSON inventory and history APIs, the TCP push protocol (plain and
// TLS) and HTTP push for http monitors.
//
// A Server is safe for concurrent use by multiple goroutines. It owns its
// listeners, the connections it accepts or is given through ServeConn, and
// the goroutines serving them; Close stops all of them and waits for them.
type Server struct {
	opts    Options // normalised; opts.Users is nil, see users
	users   map[string]string
	cst     uint32
	tls     *tlsMaterial
	httpSrv *http.Server
	lns     []net.Listener
	url     string

	httpsSrv *http.Server
	httpsURL string

	push    string
	pushTLS string
	handler http.Handler

	wg        sync.WaitGroup
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	quiet     atomic.Bool // set when Close returns: no more logging

	mu       sync.Mutex
	closed   bool
	monitors map[uint32]*monitor
	nextID   uint32
	conns    map[*pushConn]struct{}
	throttle int

	hooks    hookTable    // SetHooks; hooks.go
	sessions sessionTable // PushSessions; sessions.go

	devices []*genDevice // listed by GET /ws/DeviceCore; devicecore.go

	x senderState // HTTP push senders; httpsender.go
}

// Start validates opts, starts the listeners it asks for and returns the
// running Server. The caller must Close it.
func Start(opts Options) (*Server, error) {
	if opts.InFlight < 0 {
		return nil, fmt.Errorf("%w: InFlight %d is negative", ErrInvalidOptions, opts.InFlight)
	}
	if opts.HandshakeTimeout < 0 || opts.MaxQueuedEvents < 0 {
		return nil, fmt.Errorf("%w: negative HandshakeTimeout or MaxQueuedEvents", ErrInvalidOptions)
	}
	if opts.HTTPRetryInterval < 0 || opts.HTTPDisableAfter < 0 {
		return nil, fmt.Errorf("%w: negative HTTPRetryInterval or HTTPDisableAfter", ErrInvalidOptions)
	}
	if opts.HTTPRetryInterval == 0 {
		opts.HTTPRetryInterval = DefaultHTTPRetryInterval
	}
	if opts.HTTPDisableAfter == 0 {
		opts.HTTPDisableAfter = DefaultHTTPDisableAfter
	}
	s := &Server{
		cst:      opts.CustomerID,
		done:     make(chan struct{}),
		monitors: make(map[uint32]*monitor),
		nextID:   FirstMonitorID - 1,
		conns:    make(map[*pushConn]struct{}),
	}
	if s.cst == 0 {
		s.cst = DefaultCustomerID
	}
	if s.users = maps.Clone(opts.Users); s.users == nil {
		s.users = DefaultUsers()
	}
	opts.Users = nil
	if opts.HandshakeTimeout == 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.MaxQueuedEvents == 0 {
		opts.MaxQueuedEvents = DefaultMaxQueuedEvents
	}
	s.opts = opts
	var err error
	if s.tls, err = newTLSMaterial(); err != nil {
		return nil, err
	}
	s.handler = s.newHandler()

	listen := func(addr string) (net.Listener, error) {
		if addr == "-" {
			return nil, nil
		}
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("streamtest: listen on %s: %w", addr, err)
		}
		s.lns = append(s.lns, ln)
		return ln, nil
	}
	fail := func(err error) (*Server, error) {
		for _, ln := range s.lns {
			ln.Close()
		}
		return nil, err
	}
	httpLn, err := listen(opts.HTTPAddr)
	if err != nil {
		return fail(err)
	}
	pushLn, err := listen(opts.PushAddr)
	if err != nil {
		return fail(err)
	}
	tlsLn, err := listen(opts.PushTLSAddr)
	if err != nil {
		return fail(err)
	}
	var httpsLn net.Listener
	if opts.HTTPSAddr != "" {
		if httpsLn, err = listen(opts.HTTPSAddr); err != nil {
			return fail(err)
		}
	}
	if httpLn != nil {
		s.url = "http://" + httpLn.Addr().String()
		s.serveHTTP(&s.httpSrv, httpLn)
	}
	if httpsLn != nil {
		s.httpsURL = "https://" + httpsLn.Addr().String()
		s.serveHTTP(&s.httpsSrv, tls.NewListener(httpsLn, s.tls.serverConfig()))
	}
	if pushLn != nil {
		s.push = pushLn.Addr().String()
		s.wg.Add(1)
		go s.acceptLoop(pushLn, nil)
	}
	if tlsLn != nil {
		s.pushTLS = tlsLn.Addr().String()
		s.wg.Add(1)
		go s.acceptLoop(tlsLn, s.tls.serverConfig())
	}
	return s, nil
}

// NewServer is Start that panics on error, like httptest.NewServer.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

func (s *Server) acceptLoop(ln net.Listener, cfg *tls.Config) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Temporary trouble such as EMFILE: back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logf("streamtest: accept: %v; retrying in %v", err, delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		if cfg != nil {
			s.serve(tls.Server(c, cfg), c)
		} else {
			s.serve(c, c)
		}
	}
}

// Close closes the listeners and every connection, stops every goroutine
// the Server started and waits for them. Waiters in WaitIdle and
// WaitConnected return ErrServerClosed. Close is idempotent and safe to
// call concurrently.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := slices.Collect(maps.Keys(s.conns))
		s.mu.Unlock()
		close(s.done)
		s.stopSenders() // httpsender.go
		for _, ln := range s.lns {
			ln.Close()
		}
		for _, hs := range []*http.Server{s.httpSrv, s.httpsSrv} {
			if hs != nil {
				hs.Close()
			}
		}
		for _, c := range conns {
			c.shutdown(false)
		}
		s.wg.Wait()
		// A REST handler still running on a connection http.Server.Close
		// just closed must not call Logf (t.Logf) after the test ends.
		s.quiet.Store(true)
	})
}

// String identifies the server by its addresses.
func (s *Server) String() string {
	return fmt.Sprintf("streamtest.Server{URL:%q PushAddr:%q PushTLSAddr:%q CustomerID:%d}", s.url, s.push, s.pushTLS, s.cst)
}

// GoString is String: a Server is never printed field by field (it holds
// passwords).
func (s *Server) GoString() string { return s.String() }

// Format makes every verb print String.
func (s *Server) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// URL returns the REST base URL, "http://127.0.0.1:port", or "" when
// HTTPAddr was "-".
func (s *Server) URL() string { return s.url }

// PushAddr returns the plain push address "127.0.0.1:port", or "" when
// PushAddr was "-".
func (s *Server) PushAddr() string { return s.push }

// PushTLSAddr returns the TLS push address, or "" when PushTLSAddr was "-".
func (s *Server) PushTLSAddr() string { return s.pushTLS }

// CustomerID returns the customer id prefixed to every topic.
func (s *Server) CustomerID() uint32 { return s.cst }

// Handler returns the REST API as an http.Handler, for serving it on a
// listener of your own or calling it with httptest.NewRecorder.
func (s *Server) Handler() http.Handler { return s.handler }

// Throttle makes the next n REST calls (after authentication) answer 429
// Too Many Requests, for testing a client's retries. n ≤ 0 turns
// throttling off.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = max(n, 0)
	s.mu.Unlock()
}

func (s *Server) takeThrottle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle > 0 {
		s.throttle--
		return true
	}
	return false
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil && !s.quiet.Load() {
		s.opts.Logf(format, args...)
	}
}

// warnf reports a client mistake the Server refused, through Warnf or,
// without it, Logf.
func (s *Server) warnf(format string, args ...any) {
	if s.opts.Warnf != nil && !s.quiet.Load() {
		s.opts.Warnf(format, args...)
		return
	}
	s.logf(format, args...)
}

// logfWriter adapts Logf for http.Server.ErrorLog.
type logfWriter struct{ s *Server }

func (w logfWriter) Write(p []byte) (int, error) {
	w.s.logf("streamtest: http: %s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

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

// DropConnections abruptly closes the monitor's push connection (with a
// TCP reset when it is a TCP connection), as a network failure would, and
// returns how many it closed (0 or 1). When it returns, the monitor is
// disconnected and its undelivered events have been returned to its queue
// (persistent monitors) or dropped.
func (s *Server) DropConnections(id uint32) int {
	m := s.lookup(id)
	if m == nil {
		return 0
	}
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c == nil {
		return 0
	}
	c.shutdown(true)
	return 1
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
