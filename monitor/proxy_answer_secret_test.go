package monitor_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/monitor"
)

// A plain-http base URL reached through an HTTP proxy: the request goes to
// the proxy itself, with Proxy-Authorization, and the proxy's refusal
// (407) is an answer like any other, whose body may echo the header it
// was sent. The *APIError built from that body must not carry the
// proxy's credentials, in any of the forms the proxy may spell them.
func TestProxyAnswerEchoingCredentials(t *testing.T) {
	const user, pass = "proxyuser", "proxy-hunter2"
	b64 := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pa := r.Header.Get("Proxy-Authorization")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pa, "Basic "))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusProxyAuthRequired)
		w.Write([]byte("bad proxy credentials: " + pa + " (" + string(raw) + ") for " + r.URL.String()))
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	pu.User = url.UserPassword(user, pass)
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	defer tr.CloseIdleConnections()
	c := monitor.NewClient("http://rm.example.com", monitor.WithBasicAuth("u", "acct-pass-123"),
		monitor.WithHTTPClient(&http.Client{Transport: tr}), monitor.WithRetry(0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Get(ctx, 1)
	var ae *monitor.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("Get through a refusing proxy = %v; want an *APIError 407", err)
	}
	if s := err.Error(); strings.Contains(s, "hunter2") || strings.Contains(s, b64) {
		t.Errorf("the error carries the proxy's credentials: %v", err)
	}
}
