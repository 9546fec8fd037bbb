package monitor

// One REST call: the request, its exchanges (retried per the policy) and
// the answer, read within its budgets.

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
)

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
	target := c.target(r)
	bo := c.retry.newBackOff()
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r, target)
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
			sc := c.secrets(r)
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

// target returns the URL r is sent to: the base URL with r's path and
// query.
func (c *Client) target(r request) *url.URL {
	target := *c.base
	target.Path = c.base.Path + r.path
	if len(r.query) > 0 {
		// %20 rather than '+' for spaces: unambiguous for any server.
		target.RawQuery = strings.ReplaceAll(r.query.Encode(), "+", "%20")
	}
	return &target
}

// secrets returns what must be kept out of every error text of r: the
// account's credentials, r's own (a spec's token and header values), and
// the credentials of the proxy r goes through. Any text of an answer may
// echo a request's headers, and a proxy's credentials are among them: in
// a refusal of CONNECT (an https base URL), and in the error page a proxy
// answers a plain-http request with (a 407 whose body quotes the
// Proxy-Authorization it was sent), or passes on from a server it
// forwarded that header to.
func (c *Client) secrets(r request) scrubber {
	u := c.target(r)
	return slices.Concat(c.sc, r.secrets, c.proxySecrets(&http.Request{Method: r.method, URL: u, Host: u.Host, Header: http.Header{}}))
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
		req.SetBasicAuth(c.user.Reveal(), c.pass.Reveal())
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
			return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, re.scrubbed(c.secrets(r)))
		}
		// *url.Error carries the URL, which holds no credentials (they
		// travel in the Authorization header) — unless it is a redirect's
		// Location, server text that may echo the request.
		return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, scrubURLError(err, c.secrets(r)))
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
	e.Message = errorMessage(resp.body, resp.cut, c.secrets(r))
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
		c.secrets(r).detail(fmt.Sprintf(format, args...), maxMessage))
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

// proxySecrets returns the credentials of the proxy the client's transport
// chose for req, to keep out of the error: net/http reports a proxy's
// refusal of CONNECT by its reason phrase, which a proxy may spell with the
// Proxy-Authorization it was sent ("407 bad credentials Basic …"), and a
// proxy's answer to a plain-http request is read like any other, its body
// included. Only an *http.Transport's proxy is known; a transport of
// another type keeps its proxy to itself.
func (c *Client) proxySecrets(req *http.Request) scrubber {
	rt := c.hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	if !ok || tr.Proxy == nil {
		return nil
	}
	u, err := tr.Proxy(req)
	if err != nil || u == nil || u.User == nil {
		return nil
	}
	var sc scrubber
	pass, _ := u.User.Password()
	sc.addBasic(u.User.Username(), pass)
	if pass == "" {
		sc.add(u.User.Username()) // a user name alone is a token
	}
	return sc
}
