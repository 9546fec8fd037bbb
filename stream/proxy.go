package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// Reaching the push port from networks that allow only proxied traffic.
//
// The TCP push connection is not HTTP, but an HTTP proxy tunnels it with
// CONNECT (port 3201 must be allowed by the proxy's policy). Set
// Config.Dialer to HTTPProxyDialer (a fixed proxy) or ProxyFromEnvironment
// (HTTPS_PROXY / NO_PROXY, as net/http reads them). For SOCKS5, give any
// dialer with a DialContext method, such as the one of
// golang.org/x/net/proxy (proxy.SOCKS5 returns a proxy.ContextDialer): it
// satisfies Dialer as is. REST calls (package monitor) go through
// net/http, whose default transport already honours HTTPS_PROXY.

// ErrProxyRefused: the proxy refused the tunnel (CONNECT answered other
// than 2xx). A *ProxyError carries the status; 407 and 403 are permanent
// for a Subscription, other statuses (502, 503…) are retried.
var ErrProxyRefused = errors.New("stream: proxy refused the tunnel")

// ErrProxyAnswer: the proxy's answer to CONNECT is not an HTTP status line
// and headers within MaxProxyAnswer bytes. Transient for a Subscription.
var ErrProxyAnswer = errors.New("stream: proxy's answer to CONNECT is malformed or over 64 KiB")

// MaxProxyAnswer bounds the bytes of a proxy's answer to CONNECT (status
// line and headers) that a ProxyDialer reads.
const MaxProxyAnswer = 64 << 10

// ProxyError is a refused CONNECT. It matches ErrProxyRefused.
type ProxyError struct {
	Proxy      string // the proxy's host:port (no credentials)
	Target     string // the address the tunnel was for
	StatusCode int
	// Status is the proxy's status code and reason, e.g. "407 Proxy
	// Authentication Required": printable ASCII, at most 68 bytes, the
	// credentials sent to the proxy redacted should it echo them.
	Status string
}

// Error returns e.g. "stream: proxy proxy:3128 refused CONNECT rm:3201: 407
// Proxy Authentication Required".
func (e *ProxyError) Error() string {
	return fmt.Sprintf("stream: proxy %s refused CONNECT %s: %s", e.Proxy, e.Target, e.Status)
}

// Is makes errors.Is(err, ErrProxyRefused) true.
func (e *ProxyError) Is(target error) bool { return target == ErrProxyRefused }

// ProxyDialer tunnels connections through an HTTP proxy with CONNECT. It
// is a [Dialer] for Config.Dialer. The zero value is not usable (its
// DialContext fails with ErrInvalidConfig); build one with
// [HTTPProxyDialer] or [ProxyFromEnvironment]. It is immutable and safe
// for concurrent use.
//
// The proxy's credentials are held as a [secret.String], sent only to the
// proxy, and redacted in every fmt verb and in slog output; errors name the
// proxy by host:port only.
type ProxyDialer struct {
	proxy   *url.URL      // scheme and host, without credentials
	user    string        // the URL's user name, "" for none or when it is the only credential (a token)
	auth    secret.String // the Proxy-Authorization value, zero for none
	forward Dialer
	// tlsConfig is used for https:// proxies (TLS to the proxy itself);
	// nil means the system roots with the proxy's host name.
	tlsConfig *tls.Config
	// proxyFor, when set, picks the proxy per target (nil URL: direct).
	proxyFor func(addr string) (*url.URL, error)
}

// HTTPProxyDialer returns a Dialer that reaches every address through the
// HTTP proxy at proxyURL ("http://[user:password@]host[:port]", port 80 by
// default, or "https://…" for TLS to the proxy, port 443, verified against
// tlsConfig or the system roots). Credentials in the URL are sent as
// Proxy-Authorization Basic; a '/', '?', '#' or '@' in them must be
// percent-encoded (an '@' outside the user info is an ErrInvalidConfig,
// since it would leave the password in the host or path, which String
// prints). forward dials the proxy; nil means a
// net.Dialer with TCP keepalive.
func HTTPProxyDialer(proxyURL string, forward Dialer, tlsConfig *tls.Config) (*ProxyDialer, error) {
	u, err := url.Parse(proxyURL)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		return nil, fmt.Errorf("%w: proxy URL does not parse", ErrInvalidConfig)
	}
	if err := checkProxyURL(u); err != nil {
		return nil, err
	}
	d := &ProxyDialer{forward: defaultForward(forward), tlsConfig: tlsConfig}
	d.proxy, d.user, d.auth = splitCredentials(u)
	return d, nil
}

// splitCredentials returns u without its user information, the user name,
// and the Basic Proxy-Authorization value made of it (zero without a
// user).
func splitCredentials(u *url.URL) (*url.URL, string, secret.String) {
	if u.User == nil {
		return u, "", secret.String{}
	}
	bare := *u
	bare.User = nil
	pass, _ := u.User.Password()
	auth := secret.New("Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
	if pass == "" {
		// A user name without a password is a token ("http://TOKEN@proxy"):
		// String must not print it.
		return &bare, "", auth
	}
	return &bare, u.User.Username(), auth
}

func checkProxyURL(u *url.URL) error {
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%w: proxy URL must be http:// or https:// with a host", ErrInvalidConfig)
	}
	if u.User == nil && strings.ContainsRune(u.Path+u.RawQuery+u.Fragment, '@') {
		// A password with an unescaped '/', '?' or '#' ends the user info
		// early: "http://bob:2024/pw@proxy" is host bob, port 2024 and
		// path "/pw@proxy", which String and errors naming the proxy
		// would print.
		return fmt.Errorf("%w: proxy URL has an '@' outside its user info (percent-encode '/', '?', '#' and '@' in a password)", ErrInvalidConfig)
	}
	return nil
}

// errZeroProxyDialer: DialContext of a nil or zero ProxyDialer.
var errZeroProxyDialer = fmt.Errorf("%w: a nil or zero ProxyDialer: build one with HTTPProxyDialer or ProxyFromEnvironment", ErrInvalidConfig)

// defaultForward returns d, or when it is nil the default dialer: TCP
// keepalive idle 15 s, interval 10 s, 3 probes (a dead peer is found
// within a minute).
func defaultForward(d Dialer) Dialer {
	if d != nil {
		return d
	}
	return &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 10 * time.Second, Count: 3}}
}

// ProxyFromEnvironment returns a Dialer that uses the proxy net/http would
// use for "https://<push address>": HTTPS_PROXY (or https_proxy), with
// NO_PROXY exceptions, read once per process as net/http does. Loopback
// addresses are never proxied. Addresses without a proxy are dialled
// directly with forward (nil: a net.Dialer with TCP keepalive). A proxy
// URL that HTTPProxyDialer would refuse (an '@' outside its user info
// included) makes DialContext fail with ErrInvalidConfig.
func ProxyFromEnvironment(forward Dialer) *ProxyDialer {
	return &ProxyDialer{forward: defaultForward(forward), proxyFor: func(addr string) (*url.URL, error) {
		req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: addr}, Header: http.Header{}}
		return http.ProxyFromEnvironment(req)
	}}
}

// DialContext connects to addr through the proxy: it dials the proxy,
// sends CONNECT addr and returns the tunnel once the proxy answers 2xx.
// A nil or zero ProxyDialer fails with an error matching
// ErrInvalidConfig.
//
// One deadline bounds the whole exchange (dial, TLS to the proxy, the
// CONNECT request, the answer): ctx's, or the forward dialer's when it is
// a *net.Dialer with an earlier Timeout or Deadline, or else
// DefaultHandshakeTimeout. The answer is read up to MaxProxyAnswer bytes
// (ErrProxyAnswer beyond). A refusal is a *ProxyError.
func (d *ProxyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d == nil || d.forward == nil || d.proxy == nil && d.proxyFor == nil {
		// A nil or zero ProxyDialer (a struct literal, not one of the
		// constructors): an invalid config, which ends a subscription,
		// rather than a panic on its goroutine, which would end the
		// program.
		return nil, errZeroProxyDialer
	}
	proxy, auth := d.proxy, d.auth
	if d.proxyFor != nil {
		p, err := d.proxyFor(addr)
		if err != nil {
			return nil, fmt.Errorf("stream: choosing a proxy for %s: %w", addr, err)
		}
		if p == nil {
			return d.forward.DialContext(ctx, network, addr)
		}
		if err := checkProxyURL(p); err != nil {
			return nil, err
		}
		proxy, _, auth = splitCredentials(p)
	}
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("stream: proxy: network %q is not tcp", network)
	}
	port := proxy.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[proxy.Scheme]
	}
	proxyAddr := net.JoinHostPort(proxy.Hostname(), port)
	ctx, cancel := d.exchangeContext(ctx)
	defer cancel()
	conn, err := d.forward.DialContext(ctx, "tcp", proxyAddr)
	if err != nil {
		return nil, fmt.Errorf("stream: dialling proxy %s: %w", proxyAddr, err)
	}
	if conn == nil {
		return nil, errNilConn
	}
	// The exchange must not outlive ctx: its end closes the connection
	// (after ctx.Err is set, so failures below report the context's error),
	// and its deadline is the connection's until the tunnel is up. What
	// is closed is the proxy connection itself, never the TLS client over
	// it (an https:// proxy): closing that would first write a
	// close_notify, for up to 5 s, to a proxy that may not be reading.
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	fail := func(err error) (net.Conn, error) {
		stop()
		raw.Close()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("stream: CONNECT %s via proxy %s: %w", addr, proxyAddr, ctxErr)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The connection's deadline is ctx's, reached an instant
			// before ctx noticed.
			return nil, fmt.Errorf("stream: CONNECT %s via proxy %s: %w", addr, proxyAddr, context.DeadlineExceeded)
		}
		return nil, err
	}
	if proxy.Scheme == "https" {
		cfg := d.tlsConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = proxy.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("stream: TLS to proxy %s: %w", proxyAddr, err))
		}
		conn = &proxyTLSConn{Conn: tc, raw: raw}
	}
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{"User-Agent": {"pushmon"}},
	}
	if !auth.IsZero() {
		req.Header.Set("Proxy-Authorization", auth.Reveal())
	}
	if err := req.Write(conn); err != nil {
		return fail(fmt.Errorf("stream: CONNECT %s via proxy %s: %w", addr, proxyAddr, err))
	}
	br := bufio.NewReader(conn)
	code, status, err := readConnectAnswer(br)
	if err != nil {
		return fail(fmt.Errorf("stream: CONNECT %s via proxy %s: reading the answer: %w", addr, proxyAddr, err))
	}
	if code < 200 || code > 299 {
		pe := &ProxyError{Proxy: proxyAddr, Target: addr, StatusCode: code, Status: reasonText(status, auth)}
		var err error = pe
		if code == http.StatusProxyAuthRequired || code == http.StatusForbidden {
			err = &permanentError{pe}
		}
		return fail(err)
	}
	if !stop() {
		raw.Close()
		return nil, fmt.Errorf("stream: CONNECT %s via proxy %s: %w", addr, proxyAddr, ctx.Err())
	}
	raw.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// The proxy already relayed bytes of the target: keep them.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// exchangeContext returns ctx bounded by the forward dialer's Timeout or
// Deadline when it is a *net.Dialer, and by DefaultHandshakeTimeout when
// nothing else bounds it.
func (d *ProxyDialer) exchangeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cancels := []context.CancelFunc{}
	if nd, ok := d.forward.(*net.Dialer); ok {
		if nd.Timeout > 0 {
			var c context.CancelFunc
			ctx, c = context.WithTimeout(ctx, nd.Timeout)
			cancels = append(cancels, c)
		}
		if !nd.Deadline.IsZero() {
			var c context.CancelFunc
			ctx, c = context.WithDeadline(ctx, nd.Deadline)
			cancels = append(cancels, c)
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var c context.CancelFunc
		ctx, c = context.WithTimeout(ctx, DefaultHandshakeTimeout)
		cancels = append(cancels, c)
	}
	return ctx, func() {
		for _, c := range cancels {
			c()
		}
	}
}

// proxyTLSConn is the TLS connection to an https:// proxy, the tunnel's
// carrier. Close closes the socket to the proxy at once: the tunnel's end
// (Close, a cancel) must not first wait, up to 5 s, to write a TLS
// close_notify to a proxy that does not read. CloseWrite still sends it.
type proxyTLSConn struct {
	*tls.Conn
	raw net.Conn
}

func (c *proxyTLSConn) Close() error { return c.raw.Close() }

// bufferedConn reads what the CONNECT reader buffered before the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the connection underneath, when it can, so that
// a graceful end (Shutdown) through a tunnel that brought its first bytes
// with the proxy's answer still lets the server read the last acks.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// String describes the dialer with the proxy password redacted; a nil
// dialer is "<nil>".
func (d *ProxyDialer) String() string {
	if d == nil {
		return "<nil>"
	}
	if d.proxy == nil {
		return "stream.ProxyDialer{from environment}"
	}
	u := *d.proxy
	if d.user != "" || !d.auth.IsZero() {
		u.User = url.UserPassword(d.user, "REDACTED")
	}
	return "stream.ProxyDialer{" + u.Redacted() + "}"
}

// GoString is the same as String.
func (d *ProxyDialer) GoString() string { return d.String() }

// Format prints String for every verb.
func (d *ProxyDialer) Format(f fmt.State, _ rune) { fmt.Fprint(f, d.String()) }

// LogValue redacts the password in slog output.
func (d *ProxyDialer) LogValue() slog.Value { return slog.StringValue(d.String()) }

var _ Dialer = (*ProxyDialer)(nil)
