package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Connecting: dial, TLS, the ConnectRequest and its ConnectResponse.

// connect dials, completes TLS, sends the ConnectRequest and checks the
// ConnectResponse, all within HandshakeTimeout.
func (s *subscription) connect(ctx context.Context) (net.Conn, *protocol.Reader, error) {
	cfg := &s.cfg
	addr := cfg.addr()
	hctx, cancel := context.WithTimeout(ctx, cfg.HandshakeTimeout)
	defer cancel()
	deadline, _ := hctx.Deadline()
	// A step that failed at the handshake's own deadline (not an earlier
	// one of ctx) timed out, however it says so: a connection's deadline
	// (the handshake's, here and in a ProxyDialer) may fire an instant
	// before hctx notices, and a proxy then reports
	// context.DeadlineExceeded.
	userDeadline, bounded := ctx.Deadline()
	own := !bounded || userDeadline.After(deadline)
	timeout := func(err error) error {
		if ctx.Err() == nil && (hctx.Err() != nil || own && !time.Now().Before(deadline)) || errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w after %v (%s): %w", ErrHandshakeTimeout, cfg.HandshakeTimeout, addr, err)
		}
		return err
	}

	s.stats.dials.Add(1)
	raw, err := cfg.Dialer.DialContext(hctx, "tcp", addr)
	if err != nil {
		return nil, nil, timeout(fmt.Errorf("stream: dial %s: %w", addr, err))
	}
	if raw == nil {
		// A Dialer's bug, which a retry would meet again: a permanent
		// error, not a panic of the supervisor's goroutine.
		return nil, nil, errNilConn
	}
	conn := raw
	// Until the handshake completes, cancellation and the handshake
	// timeout close the connection, so no step can block past them. Every
	// failure closes the socket, raw, not the TLS client over it, which
	// would first write a close_notify (for up to 5 s) to a server that
	// may have stopped reading: as the session's end does (session.go).
	stop := context.AfterFunc(hctx, func() { raw.Close() })
	defer stop()
	conn.SetDeadline(deadline)

	if !cfg.Plaintext {
		fb := &firstByteConn{Conn: raw}
		tc := tls.Client(fb, cfg.TLSConfig)
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			err = timeout(fmt.Errorf("stream: TLS handshake with %s: %w", addr, err))
			return nil, nil, diagnoseTLS(err, addr, fb.got.Load(), cfg.HandshakeTimeout)
		}
		conn = tc
	}

	req, err := protocol.AppendConnectRequest(make([]byte, 0, 16+len(cfg.Username)+cfg.Password.Len()), cfg.Username, cfg.Password.Reveal(), cfg.MonitorID)
	if err != nil {
		raw.Close()
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	_, err = conn.Write(req)
	clear(req) // the password must not linger in memory longer than needed
	if err != nil {
		raw.Close()
		return nil, nil, timeout(fmt.Errorf("stream: sending ConnectRequest to %s: %w", addr, err))
	}

	r := protocol.NewReader(countingReader{conn, &s.stats.bytesRead}, protocol.ReaderOptions{
		BufferSize:   cfg.ReadBufferSize,
		MaxFrameSize: cfg.MaxFrameSize,
	})
	read := s.stats.bytesRead.Load()
	f, err := r.ReadFrame()
	if err != nil {
		raw.Close()
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w (closed before the ConnectResponse)", err)
		}
		err = timeout(fmt.Errorf("stream: awaiting ConnectResponse from %s: %w", addr, err))
		return nil, nil, diagnoseReply(err, addr, cfg.Plaintext, s.stats.bytesRead.Load() != read, cfg.HandshakeTimeout)
	}
	if f.Type != protocol.TypeConnectResponse {
		raw.Close()
		return nil, nil, fmt.Errorf("stream: %s sent %s before the ConnectResponse: %w", addr, f.Type, protocol.ErrWrongDirection)
	}
	resp, err := protocol.ParseConnectResponse(f.Payload)
	if err != nil {
		raw.Close()
		return nil, nil, err
	}
	if resp.Status != protocol.StatusOK {
		raw.Close()
		return nil, nil, &ConnectError{Status: resp.Status, Addr: addr}
	}
	if resp.Version != protocol.Version {
		// Accepted, but in a version this client does not speak (1 is the
		// only one that exists): what follows could not be read safely.
		raw.Close()
		return nil, nil, &VersionError{Version: resp.Version, Addr: addr}
	}
	if !stop() {
		// The handshake context ended just now and closed the connection.
		return nil, nil, timeout(fmt.Errorf("stream: %s: %w", addr, context.Cause(hctx)))
	}
	conn.SetDeadline(time.Time{})
	return conn, r, nil
}

// countingReader counts bytes read for Stats.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n interface{ Add(uint64) uint64 }
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(uint64(n))
	return n, err
}
