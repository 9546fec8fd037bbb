package streamtest

import (
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

// The Server: its errors, its start (listeners and accept loops), its
// close, its addresses and its logging. Options are in options.go.

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

// String identifies the server by its addresses; a nil server is
// "<nil>".
func (s *Server) String() string {
	if s == nil {
		return "<nil>"
	}
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
