package streamtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Push connections: accepting them, the handshake (ConnectRequest and
// its answer), attaching a connection to its monitor and detaching it,
// and shutting it down. Its sender is in push_send.go, its reader of acks
// in acks.go.

// pushConn is one push connection: a reader goroutine (handshake, then
// acks) and, once accepted, a sender goroutine (blocks). Fields below the
// marker are guarded by the monitor's mutex once the connection is
// attached.
type pushConn struct {
	s      *Server
	conn   net.Conn // what frames are read from and written to
	raw    net.Conn // closed to abort; the TCP conn under a TLS conn
	remote string
	cr     countingReader
	rd     *protocol.Reader
	mon    atomic.Pointer[monitor] // set when attached
	wake   chan struct{}           // cap 1: something for the sender to look at
	done   chan struct{}           // closed by shutdown
	once   sync.Once
	seq    int        // HookConn.Seq
	wmu    sync.Mutex // serialises frame writes with HookConn.WriteRaw

	session atomic.Int32 // PushSessions count: 0 not counted, 1 open, 2 closed; sessions.go

	blocksTried int // BlockInfo.Seq; used by the sender only

	// guarded by mon.mu
	index         int    // ConnIndex
	nextID        uint16 // DataBlockId of the next block
	sent          map[uint16]*block
	order         []*block // blocks still holding events, oldest first
	holding       int      // events in blocks not yet delivered
	unackedBlocks int      // explicit-ack blocks not yet acked
	detached      bool
	warnedBadAck  bool // a refused ack was reported (once per connection)
}

// block is one PublishMessage sent (or being sent) on a connection.
type block struct {
	id       uint16
	n        int
	items    []qitem // nil once delivered (acked, or written for ack-off)
	explicit bool
	replay   bool
}

// countingReader counts the bytes read through it, so that the reader
// loop can tell a 6-byte legacy ack from a 10-byte one.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ServeConn serves one push connection (plain frames; wrap c with
// tls.Server and TLSConfig for TLS) on any net.Conn, such as one end of a
// net.Pipe. It returns at once: the Server takes ownership of c, serves it
// on its own goroutines, and closes it when the client goes away, when the
// connection is replaced or dropped, or on Close. On a closed Server c is
// closed immediately.
func (s *Server) ServeConn(c net.Conn) {
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	s.serve(c, raw)
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

func (s *Server) serve(c, raw net.Conn) {
	pc := &pushConn{
		s:      s,
		conn:   c,
		raw:    raw,
		remote: remoteAddr(c),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		seq:    int(s.hooks.seq.Add(1) - 1),
	}
	pc.cr.r = c
	pc.rd = protocol.NewReader(&pc.cr, protocol.ReaderOptions{
		Side:            protocol.ServerSide,
		AcceptLegacyAck: s.opts.AcceptLegacyAck,
		BufferSize:      512,
		MaxFrameSize:    10 + 2*protocol.MaxCredentialLen, // the largest ConnectRequest
	})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		return
	}
	s.conns[pc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go pc.run()
}

func remoteAddr(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return "?"
}

func (pc *pushConn) run() {
	s := pc.s
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, pc)
		s.mu.Unlock()
	}()
	defer pc.shutdown(false)
	m := pc.handshake()
	if m == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer pc.shutdown(false)
		pc.sendLoop(m)
	}()
	pc.readLoop(m)
}

// shutdown detaches the connection from its monitor (returning or dropping
// its undelivered events) and closes it. abort closes a TCP connection
// with a reset instead of a FIN. Safe to call many times.
func (pc *pushConn) shutdown(abort bool) {
	pc.once.Do(func() {
		close(pc.done)
		if m := pc.mon.Load(); m != nil {
			m.mu.Lock()
			m.detachLocked(pc)
			m.mu.Unlock()
		}
		if tc, ok := pc.raw.(*net.TCPConn); ok && abort {
			_ = tc.SetLinger(0)
		}
		pc.raw.Close()
		pc.uncountSession()
	})
}

// handshake reads the ConnectRequest and answers it. It returns the
// monitor on success, nil when the connection must close.
func (pc *pushConn) handshake() *monitor {
	s := pc.s
	_ = pc.conn.SetDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	f, err := pc.rd.ReadFrame()
	if err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			s.logf("streamtest: push %s: handshake: %v", pc.remote, err)
		}
		return nil
	}
	if f.Type != protocol.TypeConnectRequest {
		s.logf("streamtest: push %s: first frame is %v, not a ConnectRequest", pc.remote, f.Type)
		return nil
	}
	req, err := protocol.ParseConnectRequest(f.Payload)
	if err != nil {
		s.logf("streamtest: push %s: %v", pc.remote, err)
		pc.respond(protocol.StatusBadRequest)
		return nil
	}
	user := string(req.Username)
	act := pc.onConnect(req) // hooks.go
	if act.takesOver() {
		s.logf("streamtest: push %s: user %q, monitor %d: handshake taken over by a hook", pc.remote, user, req.MonitorID)
		pc.takeOver(act)
		return nil
	}
	authOK := s.checkPassword(user, req.Password.Reveal())
	m := s.lookup(req.MonitorID)
	status := protocol.StatusOK
	why := ""
	switch {
	case act.Status != 0 && act.Status != protocol.StatusOK:
		status, why = act.Status, "refused by a hook"
	case !authOK:
		status, why = protocol.StatusUnauthorized, "bad credentials"
	case req.Version != protocol.Version:
		status, why = protocol.StatusBadRequest, "protocol version is not 1"
	case m == nil:
		status, why = protocol.StatusBadRequest, "unknown monitor"
	case !m.attach(pc):
		status, why = protocol.StatusBadRequest, "monitor is not a tcp monitor"
	}
	if status != protocol.StatusOK {
		if m != nil {
			m.mu.Lock()
			m.stats.ConnectsRefused++
			m.mu.Unlock()
		}
		s.logf("streamtest: push %s: user %q, monitor %d refused with %d: %s", pc.remote, user, req.MonitorID, status, why)
		pc.respond(status)
		return nil
	}
	s.logf("streamtest: push %s: user %q connected to monitor %d", pc.remote, user, m.id)
	if !pc.respond(protocol.StatusOK) {
		return nil
	}
	_ = pc.conn.SetDeadline(time.Time{})
	return m
}

func (pc *pushConn) respond(st protocol.Status) bool {
	var b [protocol.ConnectResponseSize]byte
	_, err := pc.conn.Write(protocol.AppendConnectResponse(b[:0], st))
	return err == nil
}

// attach makes pc the monitor's connection, replacing (and closing) any
// previous one. It fails for deleted and non-tcp monitors.
func (m *monitor) attach(pc *pushConn) bool {
	m.mu.Lock()
	if m.deleted || m.spec.Transport != "tcp" {
		m.mu.Unlock()
		return false
	}
	old := m.conn
	if old != nil {
		m.detachLocked(old)
	}
	pc.index = m.connCount
	m.connCount++
	pc.nextID = m.s.opts.FirstBlockID
	pc.sent = make(map[uint16]*block)
	m.conn = pc
	pc.mon.Store(m)
	pc.countSession(m) // before the old connection closes: a takeover overlaps
	m.stats.ConnectsOK++
	m.lastConnect = time.Now().UTC()
	m.notify()
	m.broadcast()
	m.mu.Unlock()
	if old != nil {
		old.shutdown(false)
	}
	return true
}

// detachLocked unhooks pc from m. A persistent monitor takes back the
// events of pc's undelivered blocks, ahead of its queue, and marks the
// whole queue for replay; a non-persistent one drops them and its queue.
// m.mu must be held.
func (m *monitor) detachLocked(pc *pushConn) {
	if pc.detached || pc.mon.Load() != m {
		return
	}
	pc.detached = true
	if m.conn == pc {
		m.conn = nil
	}
	var back []qitem
	for _, b := range pc.order {
		if b.items != nil {
			back = append(back, b.items...)
			b.items = nil
		}
	}
	pc.order, pc.sent, pc.holding, pc.unackedBlocks = nil, nil, 0, 0
	if m.spec.Persistent && m.spec.Transport == "tcp" && !m.deleted {
		m.queue.PushFront(back)
		m.queue.MarkReplay() // back included
	} else {
		m.stats.Dropped += len(back) + m.queue.Len()
		m.queue.Clear()
	}
	select {
	case pc.wake <- struct{}{}:
	default:
	}
	m.broadcast()
}

// isClosedErr reports errors that mean "the connection ended", as opposed
// to the client sending garbage.
func isClosedErr(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) // timeouts, resets: not the client's protocol fault
}

// checkPassword compares credentials against Options.Users.
func (s *Server) checkPassword(user, pass string) bool {
	want, ok := s.users[user]
	// Compare anyway, so that unknown users take the same path; digests,
	// so that the time tells nothing of the password's length either.
	a, b := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(pass))
	eq := subtle.ConstantTimeCompare(a[:], b[:]) == 1
	return ok && eq
}
