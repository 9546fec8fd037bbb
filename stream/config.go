package stream

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

// Default ports and limits. Change them only with a measurement.
const (
	DefaultTLSPort          = 3201
	DefaultPlaintextPort    = 3200
	DefaultHandshakeTimeout = 30 * time.Second
	DefaultFrameTimeout     = 60 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultDedupWindow      = 100_000
)

// Dialer opens network connections. *net.Dialer, proxy dialers and the
// project's fault-injecting dialer for tests all satisfy it. DialContext
// returns a connection or an error: one that returns neither ends the
// subscription with an error matching ErrInvalidConfig, as a permanent
// error (a ProxyDialer whose forward Dialer does so fails the same way).
// It must return once ctx ends: HandshakeTimeout, Close and Shutdown
// cannot interrupt a dial, and wait for it.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Config describes one push subscription. The zero value of every optional
// field selects the documented default. Subscribe copies the Config; later
// changes to it, or to the tls.Config it points to, have no effect.
//
// Password is a [secret.String], so a Config (or a struct holding one,
// even in an unexported field) prints it redacted in every fmt verb, in
// JSON and in slog.
type Config struct {
	// Host is the Remote Manager host, e.g. "remotemanager.digi.com". The
	// port is 3201 (TLS), or 3200 with Plaintext. Ignored when Addr is set,
	// except as the TLS server name.
	Host string
	// Addr overrides the push endpoint as "host:port".
	Addr string
	// Username and Password are the account's credentials (the same as for
	// REST). Each must be at most 65 535 bytes of UTF-8. The password is
	// sent only inside the ConnectRequest, after the TLS handshake.
	Username string
	Password secret.String
	// MonitorID is the id of a tcp monitor of the account.
	MonitorID uint32

	// TLSConfig customises TLS (RootCAs, ServerName, client certificates).
	// It is cloned, never modified. nil means the system roots. ServerName
	// defaults to Host (or Addr's host). MinVersion is raised to TLS 1.2.
	TLSConfig *tls.Config
	// Plaintext connects without TLS (port 3200). Credentials then cross the
	// network in clear text; use it only on trusted networks or with the
	// simulator.
	Plaintext bool
	// Dialer opens the TCP connection (proxies, tests). nil means a
	// net.Dialer with TCP keepalive (idle 15 s, interval 10 s, 3 probes).
	// A connection that wraps another should also offer its CloseWrite
	// (as *net.TCPConn does): Shutdown half-closes the connection after
	// its last acks, and without that it closes it outright, which may
	// reset it before the server has read them (the server then sends
	// those blocks again).
	Dialer Dialer

	// HandshakeTimeout bounds dial + TLS handshake + ConnectResponse.
	// 0 means 30 s.
	HandshakeTimeout time.Duration
	// FrameTimeout bounds the time from a frame's first byte to its last.
	// A quiet connection is never timed out, and time spent waiting for the
	// consumer is not counted. 0 means 60 s.
	FrameTimeout time.Duration
	// WriteTimeout bounds one write of acks (a server that stops reading
	// ends the connection with ErrWriteTimeout). 0 means 30 s.
	WriteTimeout time.Duration

	// MaxFrameSize caps a frame's declared size (0: 16 MiB).
	MaxFrameSize uint32
	// MaxDecompressed caps an inflated document (0: 64 MiB).
	MaxDecompressed int
	// ReadBufferSize is the socket read buffer (0: 4 KiB; at most
	// maxReadBufferSize, 16 MiB).
	ReadBufferSize int

	// MaxBatchBlocks is the most blocks one Batch of a BatchSubscription
	// carries. 0 means DefaultMaxBatchBlocks (256); 1 hands every
	// block over on its own.
	MaxBatchBlocks int

	// DedupWindow is how many identities (see Event.Identity) of the
	// events last handed over are remembered to drop replays of them. 0
	// means 100 000; negative disables dedup.
	//
	// Only replays are checked against it, and dropped when found: events
	// flagged replay (JSON "replay":true, XML replay="true"), always; and
	// after a reconnect (on every connection but the subscription's
	// first), each event until the first one not found. Blocks are handed
	// over in order, so what the consumer had from the dropped connection
	// is a prefix of what the server sends again; once an event is new,
	// the rest are new too, and are not checked (an old event repeated
	// after a new one is delivered again: duplicates, never loss). Raw
	// documents (template output) have no identity and are never checked:
	// two equal renderings are two events. A monitor that is not
	// persistent replays nothing: after a reconnect its first event is
	// new and ends the check. The batch modes check in Batch.Events.
	DedupWindow int

	// NewBackOff returns the reconnect policy, called once per Subscribe,
	// on Subscribe's goroutine. nil means 500 ms initial, ×1.5, ±50 %
	// jitter, 60 s max, never giving up. A policy that returns
	// backoff.Stop ends the subscription with the last error. A NewBackOff
	// that returns nil makes Subscribe fail with ErrInvalidConfig.
	NewBackOff func() backoff.BackOff

	// Logger receives connection-level logs (never event data, never
	// credentials), with the context given to Subscribe (its values, such
	// as a trace span; not its cancellation). nil means no logging.
	Logger *slog.Logger

	// Observer is told of connections, blocks, events, acks and problems as
	// they happen, for metrics (see Observer). nil means none.
	Observer Observer
}

// LogValue summarises the Config for slog: the endpoint, user and monitor
// (the password is a secret.String, redacted wherever it goes).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.addr()),
		slog.String("username", c.Username),
		slog.Any("password", c.Password),
		slog.Uint64("monitor_id", uint64(c.MonitorID)),
	)
}

// addr returns the push endpoint host:port.
func (c *Config) addr() string {
	if c.Addr != "" {
		return c.Addr
	}
	port := DefaultTLSPort
	if c.Plaintext {
		port = DefaultPlaintextPort
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// validate checks c and fills in defaults. It returns an error matching
// ErrInvalidConfig that names the field at fault and never contains the
// password.
func (c *Config) validate() error {
	bad := invalidConfig
	if c.Host == "" && c.Addr == "" {
		return bad("Host or Addr is required")
	}
	if strings.ContainsAny(c.Host, "@/") || strings.ContainsAny(c.Addr, "@/") {
		// A URL or "user:password@host": not quoted, nor looked up in
		// DNS, as it may hold the password.
		return bad("Host takes a host name and Addr a host:port, not a URL or credentials (those go in Username and Password)")
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return bad("Addr %q is not host:port", c.Addr)
		}
	}
	if c.MonitorID == 0 {
		return bad("MonitorID is required")
	}
	if c.Username == "" {
		return bad("Username is required")
	}
	if len(c.Username) > protocol.MaxCredentialLen {
		return bad("Username is %d bytes, at most %d fit in a ConnectRequest", len(c.Username), protocol.MaxCredentialLen)
	}
	if c.Password.Len() > protocol.MaxCredentialLen {
		return bad("Password is %d bytes, at most %d fit in a ConnectRequest", c.Password.Len(), protocol.MaxCredentialLen)
	}
	for _, f := range [...]struct {
		name     string
		negative bool
	}{
		{"HandshakeTimeout", c.HandshakeTimeout < 0}, {"FrameTimeout", c.FrameTimeout < 0},
		{"WriteTimeout", c.WriteTimeout < 0}, {"MaxDecompressed", c.MaxDecompressed < 0},
		{"ReadBufferSize", c.ReadBufferSize < 0}, {"MaxBatchBlocks", c.MaxBatchBlocks < 0},
	} {
		if f.negative {
			return bad("%s must not be negative (0 means the default)", f.name)
		}
	}
	if c.ReadBufferSize > maxReadBufferSize {
		// Allocated on the library's goroutine at every connection: a
		// size no allocation can serve would end the program there.
		return bad("ReadBufferSize is %d bytes, at most %d", c.ReadBufferSize, maxReadBufferSize)
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxBatchBlocks == 0 {
		c.MaxBatchBlocks = DefaultMaxBatchBlocks
	}
	if c.NewBackOff == nil {
		c.NewBackOff = DefaultBackOff
	}
	c.Dialer = defaultForward(c.Dialer)
	if !c.Plaintext {
		host := c.Host
		if c.Addr != "" && host == "" {
			host, _, _ = net.SplitHostPort(c.Addr)
		}
		var t *tls.Config
		if c.TLSConfig != nil {
			t = c.TLSConfig.Clone()
		} else {
			t = &tls.Config{}
		}
		if t.ServerName == "" {
			t.ServerName = host
		}
		if t.MinVersion < tls.VersionTLS12 {
			t.MinVersion = tls.VersionTLS12
		}
		c.TLSConfig = t
	}
	return nil
}

// maxReadBufferSize bounds Config.ReadBufferSize: the largest default
// frame, far above what a socket read brings.
const maxReadBufferSize = 16 << 20

// errNilConn: a Dialer returned neither a connection nor an error.
var errNilConn = fmt.Errorf("%w: Dialer returned neither a connection nor an error", ErrInvalidConfig)

// DefaultBackOff is the reconnect policy used when Config.NewBackOff is nil:
// 500 ms initial delay, ×1.5 per failure, ±50 % jitter, at most 60 s, and
// never giving up (MaxElapsedTime 0).
func DefaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 500 * time.Millisecond
	b.Multiplier = 1.5
	b.RandomizationFactor = 0.5
	b.MaxInterval = 60 * time.Second
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}
