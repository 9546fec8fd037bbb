package faultnet

import (
	"context"
	"net"
	"sync"
)

// Listener is a net.Listener whose accepted conns are [*Conn]s, the i-th
// (from 0, in Accept order) running the Script per(i). Accept, Close, Addr
// and Conns are safe for concurrent use.
type Listener struct {
	inner net.Listener
	per   func(i int) Script
	reg   registry
}

// Listen wraps l. per may be nil (no faults). The Listener owns l: Close
// closes it. Accepted conns are owned by the caller of Accept.
func Listen(l net.Listener, per func(i int) Script) *Listener {
	return &Listener{inner: l, per: per}
}

// Accept waits for the next conn and returns it wrapped in a *Conn. If the
// conn's Script is invalid, the conn is closed and Accept returns the
// [*ScriptError] (so a server's accept loop stops on the test's mistake
// instead of serving conns that fail every read).
func (l *Listener) Accept() (net.Conn, error) {
	if l.inner == nil {
		return nil, ErrNilListener
	}
	c, err := l.inner.Accept()
	if err != nil {
		return nil, err
	}
	fc, err := l.reg.add(c, l.per)
	if err != nil {
		return nil, err // not a nil *Conn in a non-nil net.Conn
	}
	return fc, nil
}

// Close closes the inner listener. Conns already accepted stay open.
func (l *Listener) Close() error {
	if l.inner == nil {
		return ErrNilListener
	}
	return l.inner.Close()
}

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr {
	if l.inner == nil {
		return nil
	}
	return l.inner.Addr()
}

// Conns returns the conns accepted so far, indexed as passed to per (an
// entry is nil while its Accept is still wrapping it, or if its Script was
// invalid). The Listener keeps every accepted *Conn for its lifetime.
func (l *Listener) Conns() []*Conn { return l.reg.list() }

// Dialer dials conns and wraps each in a [*Conn]. It has the method
// DialContext(ctx, network, address) (net.Conn, error), so it can be given
// to any client that takes such a dialer, for example:
//
//	d := &faultnet.Dialer{
//		Dial:   pipeServer.DialContext, // or nil for a real net.Dialer
//		Script: func(i int) faultnet.Script { return faultnet.Random(seed+int64(i), opts) },
//	}
//
// The fields must be set before first use and not changed after; a Dialer
// must not be copied after first use. DialContext and Conns are safe for
// concurrent use.
type Dialer struct {
	// Dial makes the inner conn. Nil means a zero net.Dialer's DialContext.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Script returns the Script for the i-th conn dialled successfully
	// (from 0; concurrent dials are numbered in completion order). Nil
	// means no faults.
	Script func(i int) Script

	reg registry
}

// DialContext dials with Dial and wraps the conn with Script(i). If the
// Script is invalid the conn is closed and the [*ScriptError] returned.
// The caller owns the returned conn.
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
	fc, err := d.reg.add(c, d.Script)
	if err != nil {
		return nil, err // not a nil *Conn in a non-nil net.Conn
	}
	return fc, nil
}

// Conns returns the conns dialled so far, indexed as passed to Script (an
// entry is nil while its dial is still wrapping it, or if its Script was
// invalid). The Dialer keeps every *Conn it made for its lifetime.
func (d *Dialer) Conns() []*Conn { return d.reg.list() }

// registry numbers and keeps the conns a Listener or Dialer makes.
type registry struct {
	mu    sync.Mutex
	conns []*Conn
}

// add wraps c, the next conn, in a *Conn running per(i), i its index (no
// faults if per is nil), and keeps it. If the Script is invalid it closes
// c and returns the [*ScriptError]; the entry stays nil.
func (r *registry) add(c net.Conn, per func(i int) Script) (*Conn, error) {
	r.mu.Lock()
	i := len(r.conns)
	r.conns = append(r.conns, nil) // reserve index i
	r.mu.Unlock()
	var s Script
	if per != nil {
		s = per(i)
	}
	fc, err := wrap(c, s)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	r.mu.Lock()
	r.conns[i] = fc
	r.mu.Unlock()
	return fc, nil
}

// list returns a copy of the conns so far, by index.
func (r *registry) list() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Conn(nil), r.conns...)
}
