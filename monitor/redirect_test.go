package monitor

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const (
	redirPassword = "Pw-SENTINEL-redirect"
	redirToken    = "hook:Tok-SENTINEL-redirect"
)

// leakCheck fails if any request the other server received carried the
// password or the token, or if it received any request at all.
func leakCheck(t *testing.T, other *fakeServer) {
	t.Helper()
	for _, r := range other.requests() {
		t.Errorf("the other origin received %s %s (Authorization %q, body %q)", r.Method, r.Path,
			r.Header.Get("Authorization"), r.Body)
	}
}

func redirectingServer(t *testing.T, status int, to func() string) *fakeServer {
	return newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", to()+r.URL.Path)
		w.WriteHeader(status)
	})
}

func createWithToken(c *Client) error {
	_, err := c.Create(context.Background(), Spec{Topics: []string{"DataPoint"}, Transport: TransportHTTP,
		URL: "https://hooks.example.com/in", Token: sec(redirToken)})
	return err
}

func checkRefused(t *testing.T, err error, status int, from, to string) {
	t.Helper()
	var re *RedirectError
	if !errors.Is(err, ErrRedirectRefused) || !errors.As(err, &re) {
		t.Errorf("err = %v, want a *RedirectError", err)
		return
	}
	if re.StatusCode != status || re.From != from || re.To != to {
		t.Errorf("RedirectError = %+v, want %d from %s to %s", *re, status, from, to)
	}
	if s := err.Error(); strings.Contains(s, redirPassword) || strings.Contains(s, "SENTINEL") {
		t.Errorf("error leaks: %s", s)
	}
}

// A 307 on Create to another port of the same host: net/http would send
// the Authorization header along (same host name) and re-post the body
// with the spec's token.
func TestRedirectToAnotherPortRefused(t *testing.T) {
	other := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 201, "<result/>") })
	rm := redirectingServer(t, http.StatusTemporaryRedirect, func() string { return other.URL })
	c := NewClient(rm.URL, WithHTTPClient(rm.Client()), WithBasicAuth("tester", redirPassword), WithRetry(0, 0))
	checkRefused(t, createWithToken(c), 307, "http://"+rm.Listener.Addr().String(), "http://"+other.Listener.Addr().String())
	leakCheck(t, other)
	if n := len(rm.requests()); n != 1 {
		t.Errorf("%d requests to the configured origin, want 1", n)
	}
}

// A 308 on Create and a 302 on a list to another host name (dialled to
// the other server's address, so that a followed redirect would land).
func TestRedirectToAnotherHostRefused(t *testing.T) {
	other := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 201, "<result/>") })
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if strings.HasPrefix(addr, "evil.example:") {
			addr = other.Listener.Addr().String()
		}
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	for _, status := range []int{http.StatusPermanentRedirect, http.StatusFound} {
		rm := redirectingServer(t, status, func() string { return "http://evil.example:" + port })
		c := NewClient(rm.URL, WithHTTPClient(&http.Client{Transport: tr}), WithBasicAuth("tester", redirPassword), WithRetry(0, 0))
		checkRefused(t, createWithToken(c), status, "http://"+rm.Listener.Addr().String(), "http://evil.example:"+port)
		_, err := c.List(context.Background(), "")
		checkRefused(t, err, status, "http://"+rm.Listener.Addr().String(), "http://evil.example:"+port)
	}
	leakCheck(t, other)
}

// An https base URL redirected to http: a downgrade, refused even though
// the host is the same.
func TestRedirectHTTPSDowngradeRefused(t *testing.T) {
	other := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 201, "<result/>") })
	var rec []string
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec = append(rec, r.Method+" "+r.URL.Path)
		w.Header().Set("Location", other.URL+r.URL.Path)
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer tls.Close()
	c := NewClient(tls.URL, WithHTTPClient(tls.Client()), WithBasicAuth("tester", redirPassword), WithRetry(0, 0))
	checkRefused(t, createWithToken(c), 307, "https://"+tls.Listener.Addr().String(), "http://"+other.Listener.Addr().String())
	if err := c.Delete(context.Background(), 5); !errors.Is(err, ErrRedirectRefused) {
		t.Errorf("Delete: %v", err)
	}
	leakCheck(t, other)
	if len(rec) != 2 {
		t.Errorf("configured origin saw %v", rec)
	}
}

// Redirects within the origin keep working, body and credentials included,
// and the caller's http.Client is not modified.
func TestRedirectSameOriginFollowed(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws/Monitor" {
			// An absolute Location naming the default port explicitly
			// is still the same origin.
			w.Header().Set("Location", "/moved/ws/Monitor")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		writeXML(w, 201, "<result><location>Monitor/8</location></result>")
	})
	hc := fs.Client()
	c := NewClient(fs.URL, WithHTTPClient(hc), WithBasicAuth("tester", redirPassword), WithRetry(0, 0))
	id, err := c.Create(context.Background(), Spec{Topics: []string{"DataPoint"}, Token: sec(redirToken)})
	if err != nil || id != 8 {
		t.Fatalf("Create = %d, %v", id, err)
	}
	reqs := fs.requests()
	if len(reqs) != 2 || reqs[1].Path != "/moved/ws/Monitor" || reqs[1].Method != http.MethodPost {
		t.Fatalf("requests %+v", reqs)
	}
	if _, pass, _ := (&http.Request{Header: reqs[1].Header}).BasicAuth(); pass != redirPassword ||
		!strings.Contains(string(reqs[1].Body), redirToken) {
		t.Errorf("re-posted request lost its credentials or body: %q", reqs[1].Body)
	}
	if hc.CheckRedirect != nil {
		t.Error("the caller's http.Client was modified")
	}
}

func TestOriginDefaultPorts(t *testing.T) {
	for a, b := range map[string]string{
		"https://RM.example.com":  "https://rm.example.com:443/x",
		"http://rm.example.com/p": "http://rm.example.com:80",
		"http://[::1]:8080":       "http://[::1]:8080/ws",
	} {
		ua, _ := url.Parse(a)
		ub, _ := url.Parse(b)
		if origin(ua) != origin(ub) {
			t.Errorf("origin(%s) = %s, origin(%s) = %s", a, origin(ua), b, origin(ub))
		}
	}
	ua, _ := url.Parse("https://rm.example.com")
	ub, _ := url.Parse("http://rm.example.com:443")
	if origin(ua) == origin(ub) {
		t.Error("https and http on port 443 are the same origin")
	}
}

// A loop within the origin ends after maxRedirects, and a caller's own
// CheckRedirect is still called for same-origin redirects.
func TestRedirectLoopAndCallerPolicy(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/ws/Monitor/1")
		w.WriteHeader(http.StatusFound)
	})
	c := NewClient(fs.URL, WithHTTPClient(fs.Client()), WithRetry(0, 0))
	if _, err := c.Get(context.Background(), 1); err == nil || errors.Is(err, ErrRedirectRefused) {
		t.Fatalf("loop: err = %v", err)
	}
	if n := len(fs.requests()); n != maxRedirects {
		t.Errorf("%d requests in a redirect loop, want %d", n, maxRedirects)
	}
	called := 0
	hc := fs.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { called++; return http.ErrUseLastResponse }
	c = NewClient(fs.URL, WithHTTPClient(hc), WithRetry(0, 0))
	if _, err := c.Get(context.Background(), 1); err == nil {
		t.Error("a 302 answered as is should be an error")
	}
	if called != 1 {
		t.Errorf("caller's CheckRedirect called %d times", called)
	}
}
