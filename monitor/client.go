package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
// account and reuse it, so connections are reused.
//
// A Client holds the account password in a [secret.String]: fmt,
// encoding/json and log/slog never print it, also when a Client sits in a
// field of a struct of yours, and no error it returns contains it. Its
// requests carry it only to the origin of the base URL: a redirect
// elsewhere is refused (see [RedirectError]).
type Client struct {
	base      *url.URL // scheme, host and path prefix; no user info
	configErr error    // non-nil: every call fails with it
	hc        *http.Client
	user      string
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
		c.user, c.pass, c.hasAuth = username, secret.New(password), true
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
		c.user, c.pass, c.hasAuth = urlUser.Username(), secret.New(p), true
	}
	if c.hasAuth {
		c.sc.addBasic(c.user, c.pass.Reveal())
	}
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		c.hc = &http.Client{Transport: tr, Timeout: DefaultTimeout}
	}
	if c.base != nil {
		c.hc = withOriginCheck(c.hc, c.base)
	}
	return c
}

// CloseIdleConnections closes idle keep-alive connections of the client's
// HTTP transport. It is safe to call at any time; later calls reconnect.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// String describes the client: its base URL and user name.
func (c *Client) String() string {
	if c == nil {
		return "<nil>"
	}
	base := "<invalid>"
	if c.base != nil {
		base = c.base.String()
	}
	s := "monitor.Client{" + base
	if c.hasAuth {
		s += " user " + c.user
	}
	return s + "}"
}

// request is one logical API call; do may send it several times.
type request struct {
	method  string
	path    string     // below the base path, e.g. "/ws/Monitor/12"
	query   url.Values // may be nil
	body    []byte     // XML unless contentType says otherwise; nil for none
	ctype   string     // Content-Type of body; "" means XML
	accept  string     // Accept header, "" for none
	secrets scrubber   // extra secrets to keep out of error text (spec token…)
	// bodyHint: a 2xx body beyond the parsing budgets is dropped (the
	// caller has another source, e.g. the Location header) rather than an
	// error.
	bodyHint bool
}

// pageSize returns the page size the request asks for (its "size"
// parameter), or 0.
func (r *request) pageSize() int {
	n, err := strconv.Atoi(r.query.Get("size"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// response is one fully read answer (any status).
type response struct {
	status int
	header http.Header
	body   []byte
	cut    bool  // an error body longer than maxErrorBody, or broken off: cut
	over   error // a 2xx body beyond maxBodySize (then body is nil)
	// seeOther is where a 303 See Other sent the request (followed with a
	// GET, within the origin): the answer is that GET's, not the
	// request's, which the server served. nil when no 303 was followed.
	seeOther *url.URL
}

// do sends r, retrying 429/503 per the retry policy, and returns the 2xx
// answer or an error (*APIError for other statuses).
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	if c.configErr != nil {
		return nil, c.configErr
	}
	target := *c.base
	target.Path = c.base.Path + r.path
	if len(r.query) > 0 {
		// %20 rather than '+' for spaces: unambiguous for any server.
		target.RawQuery = strings.ReplaceAll(r.query.Encode(), "+", "%20")
	}
	bo := c.retry.newBackOff()
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r, &target)
		if err != nil {
			return nil, err
		}
		if resp.status >= 200 && resp.status < 300 {
			err := resp.over
			if err == nil {
				err = checkBody(resp.body, r.pageSize())
			}
			if err != nil {
				if r.bodyHint {
					resp.body = nil
					return resp, nil
				}
				if r.method != http.MethodGet {
					return nil, fmt.Errorf("monitor: %s %s: status %d, the request may have taken effect, but the answer: %w",
						r.method, r.path, resp.status, err)
				}
				return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, err)
			}
			return resp, nil
		}
		if resp.seeOther != nil && r.method != http.MethodGet {
			// The server served the request and sent it to another
			// resource, whose GET failed: sending the request again (a
			// Create's POST) would repeat what was done. The *APIError is
			// the GET's.
			sc := slices.Concat(c.sc, r.secrets)
			get := request{method: http.MethodGet, path: sc.oneLine(resp.seeOther.Path, 200), secrets: r.secrets}
			return nil, fmt.Errorf("monitor: %s %s: served, the request may have taken effect; following its 303 See Other: %w",
				r.method, r.path, c.apiError(get, resp))
		}
		apiErr := c.apiError(r, resp)
		if attempt >= c.retry.maxRetries || !retryable(r.method, resp.status) {
			return nil, apiErr
		}
		wait := apiErr.RetryAfter
		if wait <= 0 {
			wait = bo.NextBackOff()
		}
		if wait > maxRetryWait {
			// The server wants a longer pause than a library call should
			// block: hand the decision to the caller.
			return nil, apiErr
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, apiErr // the context would end before the retry
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("monitor: %s %s: waiting to retry after %d: %w",
				r.method, r.path, resp.status, err)
		}
	}
}

// send performs one HTTP exchange and reads the body: a 2xx body up to
// maxBodySize (resp.over says when it was longer), an error body up to
// maxErrorBody (resp.cut says when it was cut).
func (c *Client) send(ctx context.Context, r request, target *url.URL) (*response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, err)
	}
	if r.body != nil {
		ct := r.ctype
		if ct == "" {
			ct = "application/xml; charset=utf-8"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.hasAuth {
		req.SetBasicAuth(c.user, c.pass.Reveal())
	}
	hr, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, ctxErr)
		}
		var re *RedirectError
		if errors.As(err, &re) {
			// Without the *url.Error, which quotes the server's Location,
			// and without the host it names if that echoes a secret.
			return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, re.scrubbed(slices.Concat(c.sc, r.secrets)))
		}
		// *url.Error carries the URL, which holds no credentials (they
		// travel in the Authorization header) — unless it is a redirect's
		// Location, server text that may echo the request.
		return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, scrubURLError(err, slices.Concat(c.sc, r.secrets)))
	}
	defer hr.Body.Close()
	ok := hr.StatusCode >= 200 && hr.StatusCode < 300
	limit := int64(maxErrorBody)
	if ok {
		limit = maxBodySize
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, limit+1))
	broken := false
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("monitor: %s %s: reading response: %w", r.method, r.path, ctxErr)
		}
		if ok {
			return nil, fmt.Errorf("monitor: %s %s: reading response: %w", r.method, r.path, err)
		}
		// An error answer whose body breaks off is still its status (a
		// 404 is not found, a 503 is retried); what was read is its
		// message, cut.
		broken = true
	}
	resp := &response{status: hr.StatusCode, header: hr.Header, body: data, cut: broken}
	if hr.Request != nil && hr.Request.Method != r.method {
		// Only a 303 changes the method of a request that is followed:
		// withOriginCheck stops a 301 or 302 that would.
		resp.seeOther = hr.Request.URL
	}
	if int64(len(data)) > limit {
		if ok {
			resp.body, resp.over = nil, &LimitError{LimitBodySize, maxBodySize}
		} else {
			resp.body, resp.cut = data[:limit], true // the message is all we use
		}
	}
	return resp, nil
}

// serverNow is the time of an answer on the server's clock, its Date
// header, against which an HTTP-date Retry-After is measured: a client
// whose clock runs ahead of the server's would otherwise not wait at all.
// Without a Date that parses, the client's clock.
func serverNow(h http.Header) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return time.Now()
}

// apiError builds the *APIError for a non-2xx answer, with secrets scrubbed
// from the server's text.
func (c *Client) apiError(r request, resp *response) *APIError {
	e := &APIError{
		StatusCode: resp.status,
		Method:     r.method,
		Path:       r.path,
		RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), serverNow(resp.header)),
	}
	e.Message = errorMessage(resp.body, resp.cut, slices.Concat(c.sc, r.secrets))
	return e
}

// malformed wraps ErrMalformedResponse with the call's method and path and
// a detail, which may quote the server: the account's and the request's
// secrets are scrubbed from it, and it is cut to maxMessage bytes.
func (c *Client) malformed(r request, format string, args ...any) error {
	for _, a := range args {
		var le *LimitError
		if err, ok := a.(error); ok && errors.As(err, &le) {
			return fmt.Errorf("monitor: %s %s: %w", r.method, r.path, le)
		}
	}
	return fmt.Errorf("monitor: %s %s: %w: %s", r.method, r.path, ErrMalformedResponse,
		slices.Concat(c.sc, r.secrets).detail(fmt.Sprintf(format, args...), maxMessage))
}

// scrubURLError returns err, an error of http.Client.Do, with the secrets
// of sc scrubbed from its text. After a redirect, the *url.Error's URL is
// the server's Location, and a Location net/http could not parse is
// quoted by the error inside it: server text, which may echo the
// request's Authorization header or body. An inner error whose text held
// a secret is replaced by its scrubbed text (such errors — a Location that
// does not parse, too many redirects — match no sentinel); the others,
// network errors and timeouts among them, are kept for errors.Is.
func scrubURLError(err error, sc scrubber) error {
	ue, ok := err.(*url.Error)
	if !ok || ue.Err == nil {
		return err
	}
	inner := ue.Err
	if text := inner.Error(); sc.scrub(text) != text {
		inner = errors.New(sc.scrub(text))
	}
	return &url.Error{Op: ue.Op, URL: sc.scrub(ue.URL), Err: inner}
}
