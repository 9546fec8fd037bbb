package harness

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// dialBare opens a push connection without the library: dial, TLS when
// cfg is not nil, ConnectRequest, ConnectResponse 200.
func dialBare(ctx context.Context, addr string, cfg *tls.Config, tag string, monitor uint32, cnt *Counters) (net.Conn, error) {
	c, err := countingDialer{cnt}.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(hangTimeout))
	if cfg != nil {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	req, _ := protocol.AppendConnectRequest(nil, tag, "password", monitor)
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	resp := make([]byte, protocol.ConnectResponseSize)
	if _, err := io.ReadFull(c, resp); err != nil {
		c.Close()
		return nil, err
	}
	cr, err := protocol.ParseConnectResponse(resp[protocol.HeaderSize:])
	if err == nil && cr.Status != protocol.StatusOK {
		err = fmt.Errorf("connect: status %d", cr.Status)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// bareReader is the ceiling: the least a client can do with the stream. It
// reads into a 64 KiB buffer, walks the frame headers, appends an ack per
// frame and writes the pending acks in one write just before a read that
// may block. No copy, no decode, no other goroutine.
type bareReader struct {
	conn net.Conn
	buf  []byte
	r, w int
	acks []byte
}

func newBareReader(c net.Conn) *bareReader {
	return &bareReader{conn: c, buf: make([]byte, 64<<10), acks: make([]byte, 0, 64<<10)}
}

// run reads frames until the connection fails, calling handle (if not nil)
// with each PublishMessage (borrowed until handle returns) and adding to c
// the frames and events of each read's worth of frames.
func (b *bareReader) run(c *Counters, handle func(m protocol.PublishMessage) (events int, err error)) error {
	for {
		frames := 0
		for {
			n := b.w - b.r
			if n < protocol.HeaderSize {
				break
			}
			size := int(binary.BigEndian.Uint32(b.buf[b.r+2:]))
			total := protocol.HeaderSize + size
			if n < total {
				if total > len(b.buf) {
					nb := make([]byte, 2*total)
					b.w = copy(nb, b.buf[b.r:b.w])
					b.r = 0
					b.buf = nb
				}
				break
			}
			payload := b.buf[b.r+protocol.HeaderSize : b.r+total]
			b.r += total
			b.acks = protocol.AppendAck(b.acks, binary.BigEndian.Uint16(payload))
			if handle == nil {
				frames++
				continue
			}
			m, err := protocol.ParsePublishMessage(payload)
			if err != nil {
				return err
			}
			k, err := handle(m)
			if err != nil {
				return err
			}
			// Counted frame by frame, as the library's consumers count:
			// decoding a whole read's frames can outlast a short window.
			c.add(1, k)
		}
		if frames > 0 {
			c.add(uint64(frames), -1) // the caller's count: frames × events per frame
		}
		if len(b.acks) > 0 {
			if _, err := b.conn.Write(b.acks); err != nil {
				return err
			}
			b.acks = b.acks[:0]
		}
		if b.r == b.w {
			b.r, b.w = 0, 0
		} else if b.w == len(b.buf) || b.r > len(b.buf)/2 {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		}
		n, err := b.conn.Read(b.buf[b.w:])
		b.w += n
		if err != nil {
			return err
		}
	}
}

// countingDialer dials TCP connections that count their reads and writes
// (system calls) in a Counters.
type countingDialer struct{ c *Counters }

func (d countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, c: d.c}, nil
}

type countingConn struct {
	net.Conn
	c *Counters
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.c.reads.Add(1)
	return c.Conn.Read(p)
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.c.writes.Add(1)
	return c.Conn.Write(p)
}

// CloseWrite half-closes the TCP connection, as the library does at the
// end of a Shutdown: without it the library would close the connection
// with unread bytes, which resets it, and the server could lose the last
// acks.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// closeGracefully ends a connection whose acks are all written: it
// half-closes it, so that the server reads every ack before the end, then
// reads (and drops) what the server still sends until the server closes
// its side, since a close with unread bytes would reset the connection and
// the server could lose acks it has not read yet.
func closeGracefully(c net.Conn) {
	half, ok := c.(interface{ CloseWrite() error })
	if !ok || half.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(hangTimeout))
	io.Copy(io.Discard, c)
}
