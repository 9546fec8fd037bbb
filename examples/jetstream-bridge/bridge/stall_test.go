package bridge

import (
	"net"
	"sync"
	"time"
)

// stallDialer dials TCP connections that can be stalled: while stalled,
// reads and writes wait, as over a network that silently stopped carrying
// packets (nothing is lost: they go on once resumed). The NATS client
// notices nothing until its pings time out.
type stallDialer struct {
	mu    sync.Mutex
	gate  chan struct{} // non-nil while stalled; closed by resume
	conns []*stallConn
}

type stallConn struct {
	net.Conn
	d      *stallDialer
	closed chan struct{}
	once   sync.Once
}

func (d *stallDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, d: d, closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, sc)
	d.mu.Unlock()
	return sc, nil
}

func (d *stallDialer) stall() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gate == nil {
		d.gate = make(chan struct{})
	}
}

func (d *stallDialer) resume() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gate != nil {
		close(d.gate)
		d.gate = nil
	}
}

// drop resets every connection dialled so far.
func (d *stallDialer) drop() {
	d.mu.Lock()
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.Close()
	}
}

func (c *stallConn) wait() error {
	c.d.mu.Lock()
	g := c.d.gate
	c.d.mu.Unlock()
	if g == nil {
		return nil
	}
	select {
	case <-g:
		return nil
	case <-c.closed:
		return net.ErrClosed
	}
}

func (c *stallConn) Read(p []byte) (int, error) {
	if err := c.wait(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	if err := c.wait(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
