package monitor

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pushmon/pushmon/secret"
)

// ErrRedirectRefused: the server redirected a request to another origin
// (another scheme, host or port than the base URL's, an https → http
// downgrade included) and the client did not follow. The error is a
// [*RedirectError].
var ErrRedirectRefused = errors.New("monitor: redirect to another origin refused")

// maxRedirects is how many same-origin redirects one request follows, as
// net/http does by default.
const maxRedirects = 10

// RedirectError is a redirect the [Client] refused to follow. The account's
// credentials, and a spec's token in a re-posted body, go only to the origin
// of the base URL given to [NewClient]: net/http would carry the
// Authorization header to another port or scheme of the same host, and a
// 307 or 308 re-posts the body anywhere. Configure the base URL the
// redirect points to instead.
//
// It matches [ErrRedirectRefused] with errors.Is.
type RedirectError struct {
	StatusCode int    // the redirect's status, e.g. 307
	From       string // the configured origin, e.g. "https://remotemanager.digi.com:443"
	// To is the origin redirected to (scheme, host and port only), or
	// "scheme://[REDACTED]" when its host and port hold a form of a secret
	// (the password, a spec's token or header value) in any case.
	To   string
	host string // the redirect's host and port as the server spelled them
}

// Error returns e.g. "monitor: 307 redirect from https://rm.example.com:443
// to http://rm.example.com:80 refused: credentials go only to the
// configured origin".
func (e *RedirectError) Error() string {
	return "monitor: " + strconv.Itoa(e.StatusCode) + " redirect from " + e.From + " to " + e.To +
		" refused: credentials go only to the configured origin"
}

// scrubbed returns e, or a copy whose To keeps only the scheme when the
// host and port the server redirected to hold a form of a secret of sc,
// in any case: server text, which may echo the request, and which an
// origin spells in lower case.
func (e *RedirectError) scrubbed(sc scrubber) *RedirectError {
	if !sc.holdsFold(e.host) && !sc.holdsFold(e.To) {
		return e
	}
	cp := *e
	scheme, _, _ := strings.Cut(e.To, "://")
	cp.To, cp.host = scheme+"://"+secret.Redacted, ""
	return &cp
}

// Is reports whether target is [ErrRedirectRefused].
func (e *RedirectError) Is(target error) bool { return target == ErrRedirectRefused }

// origin returns u's scheme, host and port, lower case, the port explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// withOriginCheck returns a copy of hc (which is not modified) whose
// redirects are followed only within the origin of base, and not when a
// 301 or 302 would change the request's method; then hc's own
// CheckRedirect, if any, has its say, else at most maxRedirects are
// followed.
//
// net/http follows a 301 or 302 answering a POST, PUT or DELETE with a
// GET without the body, whose 200 would read as the change's success (a
// Delete that deleted nothing: the request was not served, only moved).
// Such a redirect is not followed: its answer is returned as is, which the
// Client reports as an [*APIError] with the redirect's status. A 303 is
// followed: it is the server's answer to a request it has served, so the
// Client never sends that request again (see response.seeOther).
func withOriginCheck(hc *http.Client, base *url.URL) *http.Client {
	cp := *hc
	next := hc.CheckRedirect
	want := origin(base)
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if got := origin(req.URL); got != want {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return &RedirectError{StatusCode: status, From: want, To: got, host: req.URL.Host}
		}
		if req.Method != via[len(via)-1].Method && req.Response != nil &&
			(req.Response.StatusCode == http.StatusMovedPermanently || req.Response.StatusCode == http.StatusFound) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return errors.New("stopped after " + strconv.Itoa(maxRedirects) + " redirects")
		}
		return nil
	}
	return &cp
}
