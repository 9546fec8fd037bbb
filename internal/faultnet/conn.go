package faultnet

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// Conn is a net.Conn that passes bytes to and from an inner net.Conn and
// cuts the connection where its Script says. Make one with [Wrap] or a
// [Dialer].
//
// Concurrency: as net.Conn requires, one goroutine may Read while another
// Writes (concurrent Reads are serialized, as are concurrent Writes), and
// Close, the Set*Deadline methods and the address methods may be called at
// any time from any goroutine. Close is idempotent.
//
// Ownership: the Conn owns the inner conn; Close closes it, and so does a
// cut. Deadlines are the inner conn's.
//
// A Conn starts no goroutine.
//
// Errors: after Close, Read and Write return net.ErrClosed; after a cut,
// see the package documentation. Other errors come from the inner conn
// unchanged.
type Conn struct {
	inner  net.Conn
	script Script

	rmu sync.Mutex // held for a whole Read
	r   side       // guarded by rmu
	wmu sync.Mutex // held for a whole Write
	w   side       // guarded by wmu

	mu     sync.Mutex
	closed bool        // Close was called
	cut    *FaultError // the cut that fired, if any (Op filled per call)
}

// side is one direction of a Conn.
type side struct {
	dir   Direction
	off   int64  // stream offset of the next byte
	cut   *Fault // nil: no cut in this direction
	fired bool
}

// Wrap returns a Conn that runs s on c and owns c, or s's validation
// error (then c is left alone).
func Wrap(c net.Conn, s Script) (*Conn, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	fc := &Conn{inner: c, script: s}
	fc.r.dir, fc.w.dir = Read, Write
	if len(s.Read) > 0 {
		fc.r.cut = &s.Read[0]
	}
	if len(s.Write) > 0 {
		fc.w.cut = &s.Write[0]
	}
	return fc, nil
}

// Read reads from the inner conn, stopping at a Read cut.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	d := &c.r
	if c.maybeCut(d); len(p) == 0 {
		return 0, c.stateErr("read")
	}
	if err := c.stateErr("read"); err != nil {
		return 0, err
	}
	m, err := c.inner.Read(p[:d.span(len(p))])
	d.off += int64(m)
	c.maybeCut(d)
	if err != nil && m == 0 {
		return 0, c.translate("read", err)
	}
	return m, nil // a lasting error recurs on the next call
}

// Write writes p to the inner conn, stopping at a Write cut. It returns the
// number of bytes of p written.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	d := &c.w
	c.maybeCut(d)
	if len(p) == 0 {
		return 0, c.stateErr("write")
	}
	total := 0
	for len(p) > 0 {
		if err := c.stateErr("write"); err != nil {
			return total, err
		}
		m, err := c.inner.Write(p[:d.span(len(p))])
		d.off += int64(m)
		total += m
		p = p[m:]
		c.maybeCut(d)
		if err != nil {
			return total, c.translate("write", err)
		}
	}
	return total, nil
}

// span returns the size of the next piece: at most avail bytes, not
// crossing the cut.
func (d *side) span(avail int) int {
	if d.cut != nil && !d.fired {
		return int(min(int64(avail), d.cut.Offset-d.off))
	}
	return avail
}

// maybeCut fires d's cut if d has reached it.
func (c *Conn) maybeCut(d *side) {
	if d.cut == nil || d.fired || d.off != d.cut.Offset {
		return
	}
	d.fired = true
	ev := Event{Dir: d.dir, Offset: d.off, Fault: *d.cut}
	c.mu.Lock()
	if c.closed || c.cut != nil {
		c.mu.Unlock()
		return
	}
	c.cut = &FaultError{Event: ev, Err: errno(ev.Fault.Mode)}
	c.mu.Unlock()
	_ = c.inner.Close()
	if c.script.OnFault != nil {
		c.script.OnFault(ev)
	}
}

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
// was closed or cut while the inner call was in progress.
func (c *Conn) translate(op string, err error) error {
	if se := c.stateErr(op); se != nil {
		return se
	}
	return err
}

// Close closes the Conn and the inner conn. It is idempotent: the first
// call returns the inner conn's Close error, later calls (and a call after
// a cut already closed the inner conn) return nil.
func (c *Conn) Close() error {
	c.mu.Lock()
	first, wasCut := !c.closed, c.cut != nil
	c.closed = true
	c.mu.Unlock()
	if !first || wasCut {
		return nil
	}
	return c.inner.Close()
}

// LocalAddr returns the inner conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.inner.LocalAddr() }

// RemoteAddr returns the inner conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.inner.RemoteAddr() }

// SetDeadline sets the inner conn's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.inner.SetDeadline(t) }

// SetReadDeadline sets the inner conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.inner.SetReadDeadline(t) }

// SetWriteDeadline sets the inner conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.inner.SetWriteDeadline(t) }

// NetConn returns the inner conn, like (*tls.Conn).NetConn.
func (c *Conn) NetConn() net.Conn { return c.inner }

// Dialer dials conns and wraps each in a [*Conn]. The fields must be set
// before first use and not changed after. DialContext is safe for
// concurrent use.
type Dialer struct {
	// Dial makes the inner conn. Nil means a zero net.Dialer's DialContext.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Script returns the Script for the i-th conn dialled successfully
	// (from 0; concurrent dials are numbered in completion order). Nil
	// means no faults.
	Script func(i int) Script

	mu sync.Mutex
	n  int
}

// DialContext dials with Dial and wraps the conn with Script(i). If the
// Script is invalid, the conn is closed and the error (matching
// ErrInvalidScript) returned. The caller owns the returned conn.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	dial := d.Dial
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	c, err := dial(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrNilConn
	}
	d.mu.Lock()
	i := d.n
	d.n++
	d.mu.Unlock()
	var s Script
	if d.Script != nil {
		s = d.Script(i)
	}
	fc, err := Wrap(c, s)
	if err != nil {
		_ = c.Close()
		return nil, err // not a nil *Conn in a non-nil net.Conn
	}
	return fc, nil
}
