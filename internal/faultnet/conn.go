package faultnet

import (
	"io"
	"math/bits"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is a net.Conn that passes bytes to and from an inner net.Conn and
// injects the faults of its Script. Make one with [Wrap], [Listen] or
// [Dialer].
//
// Concurrency: as net.Conn requires, one goroutine may Read while another
// Writes (concurrent Reads are serialized, as are concurrent Writes), and
// Close, Release, the Set*Deadline methods, Stats, Events, Script and the
// address methods may be called at any time from any goroutine. Close is
// idempotent and unblocks every pending Read and Write, including ones
// waiting in a stall or a delay.
//
// Ownership: the Conn owns the inner conn from Wrap on; Close closes it, and
// so does a cut. Deadlines are passed to the inner conn and also bound the
// wrapper's own waits (stalls, delays, rate limiting), which then fail with
// os.ErrDeadlineExceeded.
//
// Errors: after Close, Read and Write return net.ErrClosed. After a FIN cut
// Read returns io.EOF and Write a [*FaultError] matching syscall.EPIPE;
// after an RST cut both return a [*FaultError] matching syscall.ECONNRESET.
// A Conn whose Script is invalid fails every Read and Write with the
// [*ScriptError]. Other errors come from the inner conn unchanged.
//
// A Conn starts no goroutine.
type Conn struct {
	inner   net.Conn
	script  Script
	invalid error // non-nil: every Read and Write fails with it

	rmu sync.Mutex // held for a whole Read
	r   side       // guarded by rmu
	wmu sync.Mutex // held for a whole Write
	w   side       // guarded by wmu

	rdl, wdl *deadline

	mu      sync.Mutex
	closed  bool          // Close was called
	cut     *FaultError   // the cut that fired, if any (Op filled per call)
	done    chan struct{} // closed by Close or a cut
	relGen  uint64        // count of Release calls
	relCh   chan struct{} // closed and replaced by Release
	stalled [2]*Event     // per direction (Read, Write): the stall in effect
	events  []Event

	nRead, nWritten, nReadDropped, nWriteDropped atomic.Int64
}

// discardSize is the most a Read-side Drop consumes from the inner conn
// per call.
const discardSize = 4096

// side is the per-direction state of a Conn. Only the goroutine holding the
// direction's mutex touches it.
type side struct {
	dir Direction
	plan
	off       int64 // stream offset of the next byte (source stream, before drops)
	si, ci    int   // next stall, next corrupt
	di        int   // current or next drop
	dropFired int   // drops[:dropFired] have had their event
	cutFired  bool

	stallReached bool   // stalls[si] has been reached and not released
	stallGen     uint64 // relGen when it was reached

	rateBytes int64 // bytes charged to the rate limit so far

	pending []byte    // Read only: bytes taken from the inner conn, not yet returned
	readyAt time.Time // when pending may be returned
	buf     []byte    // scratch: Write's corrupted copy, Read's pending bytes and discards
}

// Event records a fault taking effect on a Conn. Cuts, stalls (when reached
// and when released), drops (once per range, when its first byte is
// dropped) and corruptions produce events; Slice, Delay and Rate act on
// every piece and produce none.
type Event struct {
	Dir      Direction // Read or Write
	Offset   int64     // the direction's stream offset where it took effect
	Fault    Fault
	Released bool // for a stall: true when Release lifted it
}

// String describes the event, for example "write cut@120/rst at 120".
func (e Event) String() string {
	s := e.Dir.String() + " " + e.Fault.String()
	if e.Released {
		s += " released"
	}
	return s + " at " + strconv.FormatInt(e.Offset, 10)
}

// Stats counts the bytes that went through a Conn.
type Stats struct {
	Read         int64 // bytes returned by Read
	Written      int64 // bytes written to the inner conn
	ReadDropped  int64 // incoming bytes consumed by a Drop and never returned
	WriteDropped int64 // bytes accepted by Write and discarded by a Drop
}

// Wrap returns a Conn that injects the faults of s into c. The Conn takes
// ownership of c. If s is invalid (see [Script.Validate]) every Read and
// Write fails with the validation error; Close still closes c.
//
// To fault the plaintext of a TLS session, wrap the *tls.Conn: offsets then
// count application bytes, a FIN cut closes the tls.Conn (sending
// close_notify), and an RST cut reaches the TCP conn underneath through
// NetConn to reset it. Wrapping the TCP conn given to tls.Client instead
// makes offsets count TLS record bytes, handshake included.
func Wrap(c net.Conn, s Script) *Conn {
	fc, _ := wrap(c, s)
	return fc
}

// wrap is Wrap, compiling s once; it also returns s's validation error, if
// any (a nil c makes the Conn fail with ErrNilConn but is not reported).
func wrap(c net.Conn, s Script) (*Conn, error) {
	fc := &Conn{
		inner:  c,
		script: cloneScript(s),
		rdl:    newDeadline(),
		wdl:    newDeadline(),
		done:   make(chan struct{}),
		relCh:  make(chan struct{}),
	}
	fc.r.dir, fc.w.dir = Read, Write
	var err error
	fc.r.plan, fc.w.plan, err = fc.script.compile()
	fc.invalid = err
	if c == nil {
		fc.invalid = ErrNilConn
	}
	return fc, err
}

func cloneScript(s Script) Script {
	s.Read = append([]Fault(nil), s.Read...)
	s.Write = append([]Fault(nil), s.Write...)
	return s
}

// Read reads from the inner conn, applying the Read faults. See [Conn] for
// the errors it returns.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.invalid != nil {
		return 0, c.invalid
	}
	if len(p) == 0 {
		return 0, c.stateErr("read")
	}
	d := &c.r
	for {
		if err := c.stateErr("read"); err != nil {
			return 0, err
		}
		if len(d.pending) > 0 {
			// Bytes whose delay was cut short by a deadline.
			if err := c.sleepUntil(d.readyAt, c.rdl, "read"); err != nil {
				return 0, err
			}
			n := copy(p[:d.clip(len(p))], d.pending)
			d.pending = d.pending[n:]
			c.nRead.Add(int64(n))
			if len(d.pending) == 0 {
				c.maybeCut(d)
			}
			return n, nil
		}
		if c.maybeCut(d) {
			continue
		}
		if d.atStall() {
			if err := c.stall(d, c.rdl); err != nil {
				return 0, err
			}
			continue
		}
		if n, ok := d.dropSpan(); ok {
			if cap(d.buf) < discardSize {
				d.buf = make([]byte, 0, discardSize)
			}
			m, err := c.inner.Read(d.buf[:min(n, int64(cap(d.buf)))])
			if m > 0 {
				c.dropped(d, int64(m))
			}
			if err != nil {
				return 0, c.translate("read", err)
			}
			c.maybeCut(d)
			continue
		}
		n := d.span(len(p))
		m, err := c.inner.Read(p[:n])
		if m == 0 {
			if err != nil {
				return 0, c.translate("read", err)
			}
			return 0, nil
		}
		// Data with an error: return the data now; a lasting error (EOF,
		// closed, reset, a passed deadline) recurs on the next call.
		c.corrupt(d, p[:m])
		d.off += int64(m)
		wait := d.delay + d.rateCost(int64(m))
		d.rateBytes += int64(m)
		if wait > 0 {
			readyAt := time.Now().Add(wait)
			if err := c.sleepUntil(readyAt, c.rdl, "read"); err != nil {
				d.pending = append(d.buf[:0], p[:m]...)
				d.buf = d.pending[:0]
				d.readyAt = readyAt
				return 0, err
			}
		}
		c.nRead.Add(int64(m))
		c.maybeCut(d)
		return m, nil
	}
}

// Write writes p to the inner conn, applying the Write faults. It returns
// the number of bytes of p accepted: written to the inner conn or dropped
// by a Drop. See [Conn] for the errors it returns.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.invalid != nil {
		return 0, c.invalid
	}
	if len(p) == 0 {
		return 0, c.stateErr("write")
	}
	d := &c.w
	total := 0
	for len(p) > 0 {
		if err := c.stateErr("write"); err != nil {
			return total, err
		}
		if c.maybeCut(d) {
			continue
		}
		if d.atStall() {
			if err := c.stall(d, c.wdl); err != nil {
				return total, err
			}
			continue
		}
		if n, ok := d.dropSpan(); ok {
			k := int(min(n, int64(len(p))))
			c.dropped(d, int64(k))
			total += k
			p = p[k:]
			c.maybeCut(d)
			continue
		}
		n := d.span(len(p))
		if wait := d.delay + d.rateCost(int64(n)); wait > 0 {
			if err := c.sleepUntil(time.Now().Add(wait), c.wdl, "write"); err != nil {
				return total, err
			}
		}
		d.rateBytes += int64(n)
		piece := p[:n]
		if d.corruptsIn(int64(n)) {
			piece = append(d.buf[:0], piece...)
			d.buf = piece[:0]
			c.corrupt(d, piece)
		}
		m, err := c.inner.Write(piece)
		d.off += int64(m)
		c.nWritten.Add(int64(m))
		total += m
		p = p[m:]
		if err != nil {
			return total, c.translate("write", err)
		}
		c.maybeCut(d)
	}
	return total, nil
}

// Close closes the Conn and the inner conn, unblocking pending Reads and
// Writes, which then return net.ErrClosed. It is idempotent: the first call
// returns the inner conn's Close error, later calls (and a call after a cut
// already closed the inner conn) return nil.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	wasCut := c.cut != nil
	if !wasCut {
		close(c.done)
	}
	c.mu.Unlock()
	c.rdl.stop()
	c.wdl.stop()
	if wasCut || c.inner == nil {
		return nil
	}
	return c.inner.Close()
}

// Release lifts every stall that has been reached, in either direction, so
// the stalled direction resumes. Stalls at offsets not yet reached are not
// affected and will still fire. Safe to call from any goroutine, including
// from OnFault.
func (c *Conn) Release() {
	c.mu.Lock()
	c.relGen++
	close(c.relCh)
	c.relCh = make(chan struct{})
	var evs []Event
	for i, ev := range c.stalled {
		if ev != nil {
			e := *ev
			e.Released = true
			evs = append(evs, e)
			c.stalled[i] = nil
		}
	}
	c.events = append(c.events, evs...)
	c.mu.Unlock()
	c.notify(evs...)
}

// LocalAddr returns the inner conn's local address (nil for a nil conn).
func (c *Conn) LocalAddr() net.Addr {
	if c.inner == nil {
		return nil
	}
	return c.inner.LocalAddr()
}

// RemoteAddr returns the inner conn's remote address (nil for a nil conn).
func (c *Conn) RemoteAddr() net.Addr {
	if c.inner == nil {
		return nil
	}
	return c.inner.RemoteAddr()
}

// SetDeadline sets both deadlines; see SetReadDeadline and SetWriteDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	if c.inner == nil {
		return ErrNilConn
	}
	return c.inner.SetDeadline(t)
}

// SetReadDeadline sets the inner conn's read deadline and bounds the
// wrapper's own waits on the Read side (stalls, delays, rate limiting) by
// it. Moving the deadline affects waits already in progress. It returns the
// inner conn's error.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	if c.inner == nil {
		return ErrNilConn
	}
	return c.inner.SetReadDeadline(t)
}

// SetWriteDeadline is SetReadDeadline for the Write side.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	if c.inner == nil {
		return ErrNilConn
	}
	return c.inner.SetWriteDeadline(t)
}

// NetConn returns the inner conn, like (*tls.Conn).NetConn. Writing to it
// directly bypasses the faults and the byte counts.
func (c *Conn) NetConn() net.Conn { return c.inner }

// Script returns a copy of the Script the Conn runs.
func (c *Conn) Script() Script { return cloneScript(c.script) }

// Stats returns the byte counters. Each counter is read atomically; the
// four are not a single snapshot while I/O is in progress.
func (c *Conn) Stats() Stats {
	return Stats{
		Read:         c.nRead.Load(),
		Written:      c.nWritten.Load(),
		ReadDropped:  c.nReadDropped.Load(),
		WriteDropped: c.nWriteDropped.Load(),
	}
}

// Events returns a copy of the events so far, in the order they were
// logged.
func (c *Conn) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// ---- state ----

// stateErr returns the error every operation fails with once the Conn is
// closed or cut, or nil.
func (c *Conn) stateErr(op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return net.ErrClosed
	case c.cut != nil:
		if c.cut.Fault.Mode == FIN && op == "read" {
			return io.EOF
		}
		e := *c.cut
		e.Op = op
		return &e
	}
	return nil
}

// translate replaces an inner conn's error by the Conn's own when the Conn
// was closed or cut while the inner call was in progress (the inner error
// is then only a symptom of that).
func (c *Conn) translate(op string, err error) error {
	if se := c.stateErr(op); se != nil {
		return se
	}
	return err
}

// log appends evs to the event log and calls OnFault for each.
func (c *Conn) log(evs ...Event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	c.mu.Unlock()
	c.notify(evs...)
}

func (c *Conn) notify(evs ...Event) {
	if c.script.OnFault == nil {
		return
	}
	for _, ev := range evs {
		c.script.OnFault(ev)
	}
}

// maybeCut fires d's cut if d has reached it, and reports whether it did.
func (c *Conn) maybeCut(d *side) bool {
	if d.cut.Kind == 0 || d.cutFired || d.off != d.cut.Offset {
		return false
	}
	d.cutFired = true
	ev := Event{Dir: d.dir, Offset: d.off, Fault: d.cut}
	c.mu.Lock()
	if c.closed || c.cut != nil {
		c.mu.Unlock()
		return false
	}
	errno := syscall.EPIPE
	if d.cut.Mode == RST {
		errno = syscall.ECONNRESET
	}
	c.cut = &FaultError{Dir: d.dir, Offset: d.off, Fault: d.cut, Err: errno}
	close(c.done)
	c.events = append(c.events, ev)
	c.mu.Unlock()
	c.notify(ev)
	if d.cut.Mode == RST {
		resetClose(c.inner)
	} else {
		finClose(c.inner, d.dir == Write)
	}
	c.rdl.stop()
	c.wdl.stop()
	return true
}

// stall blocks until the stall d has reached is released, the Conn is
// closed or cut, or dl fires.
func (c *Conn) stall(d *side, dl *deadline) error {
	idx := 0
	if d.dir == Write {
		idx = 1
	}
	if !d.stallReached {
		d.stallReached = true
		ev := Event{Dir: d.dir, Offset: d.off, Fault: d.stalls[d.si]}
		c.mu.Lock()
		d.stallGen = c.relGen
		c.stalled[idx] = &ev
		c.events = append(c.events, ev)
		c.mu.Unlock()
		c.notify(ev)
	}
	for {
		c.mu.Lock()
		if c.relGen > d.stallGen {
			c.mu.Unlock()
			d.stallReached = false
			d.si++
			return nil
		}
		rel, done := c.relCh, c.done
		c.mu.Unlock()
		select {
		case <-rel:
		case <-done:
			return c.stateErr(opName(d.dir))
		case <-dl.wait():
			return errDeadline
		}
	}
}

// sleepUntil waits until t, unless the Conn is closed or cut or dl fires
// first. It uses a timer, so under testing/synctest the fake clock drives
// it.
func (c *Conn) sleepUntil(t time.Time, dl *deadline, op string) error {
	wait := time.Until(t)
	if wait <= 0 {
		return nil
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-c.done:
		return c.stateErr(op)
	case <-dl.wait():
		return errDeadline
	}
}

func (c *Conn) dropped(d *side, n int64) {
	f := d.drops[d.di]
	fire := d.dropFired <= d.di
	if fire {
		d.dropFired = d.di + 1
	}
	start := d.off
	d.off += n
	for d.ci < len(d.corrupts) && d.corrupts[d.ci].Offset < d.off {
		d.ci++ // a dropped byte cannot be corrupted
	}
	if d.dir == Read {
		c.nReadDropped.Add(n)
	} else {
		c.nWriteDropped.Add(n)
	}
	if fire {
		c.log(Event{Dir: d.dir, Offset: start, Fault: f})
	}
}

// corrupt applies the corruptions that fall in b, which holds the bytes at
// offsets [d.off, d.off+len(b)).
func (c *Conn) corrupt(d *side, b []byte) {
	end := d.off + int64(len(b))
	for d.ci < len(d.corrupts) && d.corrupts[d.ci].Offset < end {
		f := d.corrupts[d.ci]
		d.ci++
		if f.Offset < d.off {
			continue
		}
		b[f.Offset-d.off] ^= f.Mask
		c.log(Event{Dir: d.dir, Offset: f.Offset, Fault: f})
	}
}

func opName(d Direction) string {
	if d == Read {
		return "read"
	}
	return "write"
}

// ---- per-direction arithmetic ----

func (d *side) atStall() bool {
	return d.si < len(d.stalls) && d.stalls[d.si].Offset == d.off
}

// dropSpan reports whether d.off is inside a drop range and, if so, how
// many bytes from d.off on are to be dropped before the next boundary.
func (d *side) dropSpan() (int64, bool) {
	for d.di < len(d.drops) && d.drops[d.di].End <= d.off {
		d.di++
	}
	if d.di == len(d.drops) || d.drops[d.di].Offset > d.off {
		return 0, false
	}
	n := d.drops[d.di].End - d.off
	if b, ok := d.boundary(); ok {
		n = min(n, b-d.off)
	}
	return n, true
}

// boundary returns the next offset after d.off at which a cut, stall or
// drop begins: no single piece may cross it.
func (d *side) boundary() (int64, bool) {
	b, ok := int64(0), false
	consider := func(o int64) {
		if o > d.off && (!ok || o < b) {
			b, ok = o, true
		}
	}
	if d.cut.Kind != 0 && !d.cutFired {
		consider(d.cut.Offset)
	}
	if d.si < len(d.stalls) {
		consider(d.stalls[d.si].Offset)
	}
	for i := d.di; i < len(d.drops); i++ {
		if d.drops[i].Offset > d.off {
			consider(d.drops[i].Offset)
			break
		}
	}
	return b, ok
}

// span returns the size of the next piece, at most avail bytes.
func (d *side) span(avail int) int {
	n := int64(d.clip(avail))
	if b, ok := d.boundary(); ok {
		n = min(n, b-d.off)
	}
	return int(n)
}

// clip limits n to the slice size.
func (d *side) clip(n int) int {
	if d.slice > 0 {
		return min(n, d.slice)
	}
	return n
}

// corruptsIn reports whether a corruption falls in the next n bytes.
func (d *side) corruptsIn(n int64) bool {
	for i := d.ci; i < len(d.corrupts); i++ {
		if o := d.corrupts[i].Offset; o >= d.off {
			return o < d.off+n
		}
	}
	return false
}

// rateCost is the time the next n bytes cost under the rate limit: the
// difference of the cumulative costs, so pieces add up exactly.
func (d *side) rateCost(n int64) time.Duration {
	if d.rate == 0 {
		return 0
	}
	return rateTime(d.rateBytes+n, d.rate) - rateTime(d.rateBytes, d.rate)
}

// rateTime is the time b bytes take at r bytes per second, rounded down to
// the nanosecond, without overflow for any b, r ≥ 1 below 2^62.
func rateTime(b, r int64) time.Duration {
	whole := time.Duration(b/r) * time.Second
	hi, lo := bits.Mul64(uint64(b%r), uint64(time.Second))
	frac, _ := bits.Div64(hi, lo, uint64(r))
	return whole + time.Duration(frac)
}
