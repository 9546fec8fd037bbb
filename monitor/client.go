package monitor

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushmon/pushmon/secret"
)

const (
	// DefaultUserAgent is sent when no [WithUserAgent] is given.
	DefaultUserAgent = "pushmon-monitor (+https://github.com/pushmon/pushmon)"
	// DefaultTimeout bounds one HTTP exchange of the default HTTP client.
	DefaultTimeout = 30 * time.Second
	// DefaultPageSize is the number of monitors asked for per list request.
	DefaultPageSize = 1000
	// maxBodySize caps how much of a 2xx response body is read.
	maxBodySize = 32 << 20
	// maxErrorBody caps how much of an error body is read: enough for any
	// <error> message, little to hold for a failing call.
	maxErrorBody = 64 << 10
	// maxMessage caps APIError.Message and the server text quoted in
	// other errors.
	maxMessage = 1024
)

// Client talks to Remote Manager's monitor REST API.
//
// A Client is safe for concurrent use by multiple goroutines: it is
// immutable after [NewClient] returns, and every call carries its own
// context, which bounds the call including its retry waits. Create one per
// account and reuse it, so connections are reused. The zero value is not
// usable (its methods panic).
//
// A Client holds the account password (and the user name, which is a
// token when no password is given) in a [secret.String]: fmt,
// encoding/json and log/slog never print it, also when a Client sits in a
// field of a struct of yours, and no error it returns contains it. Its
// requests carry it only to the origin of the base URL: a redirect
// elsewhere is refused (see [RedirectError]).
type Client struct {
	base      *url.URL // scheme, host and path prefix; no user info
	configErr error    // non-nil: every call fails with it
	hc        *http.Client
	user      secret.String // a token when pass is empty
	pass      secret.String
	hasAuth   bool     // send Basic authorization (user and pass)
	sc        scrubber // the password's forms, kept out of server text
	userAgent string
	retry     retryPolicy
	pageSize  int
	maxPages  int
}

// Option configures a [Client] in [NewClient].
type Option func(*Client)

// WithBasicAuth sets the account's user name and password, sent as HTTP
// Basic authorization on every request. A user name containing ':' cannot
// be sent as Basic auth: the client then returns [ErrInvalidConfig] from
// every call.
func WithBasicAuth(username, password string) Option {
	return func(c *Client) {
		if strings.Contains(username, ":") {
			c.configErr = fmt.Errorf("%w: user name contains ':'", ErrInvalidConfig)
			return
		}
		c.user, c.pass, c.hasAuth = secret.New(username), secret.New(password), true
	}
}

// WithHTTPClient sets the HTTP client (proxies, TLS, timeouts). The Client
// uses a copy of it whose CheckRedirect first refuses any redirect to
// another origin (see [RedirectError]), then answers a redirect that would
// change the method (a 301 or 302 to a POST, PUT or DELETE) as it is (an
// [*APIError]), and then calls hc's own; hc is not
// modified, and must not be modified afterwards. A nil hc keeps the
// default: a clone of [http.DefaultTransport] (which honours HTTPS_PROXY
// and friends) with a [DefaultTimeout] per request.
//
// hc's Timeout bounds one exchange, besides the call's context. A zero
// Timeout (http.Client's "none") gets [DefaultTimeout] in the copy, so
// that a server that stalls mid-answer cannot hold a call, or a
// stream.Poller using the Client, for good; a negative one keeps no
// bound but the context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header. An empty ua keeps
// [DefaultUserAgent].
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithRetry sets how answers 429 (throttled) and 503 (unavailable) are
// retried: at most maxRetries more attempts (0 disables retrying), waiting
// an exponentially growing, jittered interval that starts at initial — or
// the server's Retry-After when it sends one. The defaults are 5 retries
// from 500 ms. A non-positive initial keeps the default interval.
//
// 503 is retried only for GET, PUT and DELETE: a POST that reached an
// overloaded server might have created a monitor. 429 is retried for every
// method because the server refused the request.
func WithRetry(maxRetries int, initial time.Duration) Option {
	return func(c *Client) {
		c.retry.maxRetries = max(maxRetries, 0)
		if initial > 0 {
			c.retry.initial = initial
		}
	}
}

// WithPageSize sets how many monitors or records one list request asks for
// (default [DefaultPageSize]): [Client.List], [Client.All] and
// [Client.History], [V1.List] and [V1.All] when ListQuery.PageSize is 0,
// and [Client.HistoryPage] when HistoryQuery.Size is 0. Values below 1
// keep the default.
func WithPageSize(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

// NewClient returns a client for the Remote Manager at baseURL, e.g.
// "https://remotemanager.digi.com" (a trailing slash and a path prefix are
// fine). Credentials embedded in baseURL ("https://user:pass@host") are
// moved to Basic auth unless [WithBasicAuth] is given, and never appear in
// request URLs or errors; a '/', '?', '#' or '@' in them must be
// percent-encoded (a base URL with an '@' outside its user info is an
// [ErrInvalidConfig]).
//
// NewClient does not fail: an unusable baseURL or option makes every call
// on the client return an error matching [ErrInvalidConfig].
func NewClient(baseURL string, opts ...Option) *Client {
	c := &Client{
		userAgent: DefaultUserAgent,
		retry:     defaultRetryPolicy(),
		pageSize:  DefaultPageSize,
		maxPages:  DefaultMaxPages,
	}
	var urlUser *url.Userinfo
	u, err := url.Parse(strings.TrimSpace(baseURL))
	switch {
	case err != nil:
		// url.Error quotes the URL, which may hold a password: do not wrap it.
		c.configErr = fmt.Errorf("%w: base URL does not parse", ErrInvalidConfig)
	case u.Scheme != "http" && u.Scheme != "https":
		c.configErr = fmt.Errorf("%w: base URL scheme must be http or https", ErrInvalidConfig)
	case u.Host == "":
		c.configErr = fmt.Errorf("%w: base URL has no host", ErrInvalidConfig)
	case u.User == nil && strings.Contains(baseURL, "@"):
		// A password with an unescaped '/', '?' or '#' ends the user info
		// early: "https://bob:2024/pw@host" is host bob, port 2024 and
		// path "/pw@host", which String and errors would print.
		c.configErr = fmt.Errorf("%w: base URL has an '@' outside its user info (percent-encode '/', '?', '#' and '@' in a password)", ErrInvalidConfig)
	default:
		urlUser = u.User
		c.base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimRight(u.Path, "/")}
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if !c.hasAuth && urlUser != nil {
		p, _ := urlUser.Password()
		c.user, c.pass, c.hasAuth = secret.New(urlUser.Username()), secret.New(p), true
	}
	if c.hasAuth {
		c.sc.addBasic(c.user.Reveal(), c.pass.Reveal())
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c.hc = &http.Client{Transport: tr, Timeout: DefaultTimeout}
	}
	if c.hc.Timeout == 0 {
		cp := *c.hc
		cp.Timeout = DefaultTimeout
		c.hc = &cp
	}
	if c.base != nil {
		c.hc = withOriginCheck(c.hc, c.base)
	}
	return c
}

// CloseIdleConnections closes idle keep-alive connections of the client's
// HTTP transport. It is safe to call at any time; later calls reconnect.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// String describes the client: its base URL and user name. A user name
// given without a password ("https://TOKEN@host") is taken for a token and
// shown as [secret.Redacted].
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	base := "<invalid>"
	if c.base != nil {
		base = c.base.String()
	}
	s := "monitor.Client{" + base
	switch {
	case c.hasAuth && c.pass.IsZero():
		s += " user " + c.user.String()
	case c.hasAuth:
		s += " user " + c.user.Reveal()
	}
	return s + "}"
}
