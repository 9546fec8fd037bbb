package main

import (
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// httpsREST serves the simulator's REST API over https with a leaf of a
// new private CA (for localhost and 127.0.0.1).
func httpsREST(t *testing.T, srv *streamtest.Server) (*httptest.Server, *certs.CA) {
	t.Helper()
	ca, err := certs.NewCA("private REST CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf([]string{"localhost", "127.0.0.1"}, certs.DefaultNotBefore, certs.DefaultNotAfter)
	if err != nil {
		t.Fatal(err)
	}
	rest := httptest.NewUnstartedServer(srv.Handler())
	rest.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	rest.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	rest.StartTLS()
	t.Cleanup(rest.Close)
	return rest, ca
}

// writeFile writes the concatenation of parts to a new file named name.
func writeFile(t *testing.T, name string, parts ...[]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	var all []byte
	for _, b := range parts {
		all = append(all, b...)
	}
	if err := os.WriteFile(p, all, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCAFileForRESTAndPush: -ca-file is trusted by REST over https and by
// the TLS push connection alike, and -a names the host of both.
func TestCAFileForRESTAndPush(t *testing.T) {
	srv := simulator(t)
	rest, restCA := httpsREST(t, srv)
	u, _ := url.Parse(rest.URL)
	both := writeFile(t, "both.pem", restCA.PEM(), srv.CACertPEM())
	pushOnly := writeFile(t, "push.pem", srv.CACertPEM())
	restOnly := writeFile(t, "rest.pem", restCA.PEM())

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stderr  string
		created bool
	}{
		{"api-url", []string{"-api-url", rest.URL, "-push-addr", srv.PushTLSAddr(), "-ca-file", both}, 0, "", true},
		// -a: REST at https://localhost:PORT, and localhost is the push
		// TLS server name.
		{"a", []string{"-a", "localhost:" + u.Port(), "-push-addr", srv.PushTLSAddr(), "-ca-file", both}, 0, "", true},
		{"push CA only", []string{"-api-url", rest.URL, "-push-addr", srv.PushTLSAddr(), "-ca-file", pushOnly}, 1, "certificate signed by unknown authority", false},
		{"REST CA only", []string{"-api-url", rest.URL, "-push-addr", srv.PushTLSAddr(), "-ca-file", restOnly}, 1, "certificate signed by unknown authority", true},
		{"system roots", []string{"-api-url", rest.URL, "-push-addr", srv.PushTLSAddr()}, 1, "certificate signed by unknown authority", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startClient(t, append(tc.args, "-output", "ndjson", "-count", "1", "alice", "s3cr3t-sentinel")...)
			if tc.code == 0 {
				ownMonitor(t, srv, c)
				publish(srv, 1)
			}
			got := readLines(t, c)
			code := c.wait(t)
			if code != tc.code || (tc.code == 0 && len(got) != 1) || !strings.Contains(c.stderr.String(), tc.stderr) {
				t.Fatalf("exit %d with %d events, want exit %d with %q\n%s", code, len(got), tc.code, tc.stderr, c.stderr)
			}
			if created := strings.Contains(c.stderr.String(), "monitor created"); created != tc.created {
				t.Errorf("monitor created: %v, want %v\n%s", created, tc.created, c.stderr)
			}
			if ms := srv.Monitors(); len(ms) != 0 {
				t.Errorf("monitors left: %v", ms)
			}
		})
	}
}

// TestHostAlias: -a HOST:PORT with -insecure is REST at http://HOST:PORT.
func TestHostAlias(t *testing.T) {
	srv := simulator(t)
	u, _ := url.Parse(srv.URL())
	c := startClient(t, "-a", u.Host, "-insecure", "-push-addr", srv.PushAddr(), "-output", "ndjson", "-count", "1", "alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	publish(srv, 1)
	got := readLines(t, c)
	if code := c.wait(t); code != 0 || len(got) != 1 {
		t.Fatalf("exit %d with %d events\n%s", code, len(got), c.stderr)
	}
	if !strings.Contains(c.stderr.String(), "connecting to http://"+u.Host+" (REST)") {
		t.Errorf("stderr:\n%s", c.stderr)
	}
}

// TestHostAliasIsPushServerName: with -push-addr, the -a host is the name
// the push certificate is checked against. The simulator's push
// certificate names localhost and 127.0.0.1, not 127.0.0.2, where it
// listens here.
func TestHostAliasIsPushServerName(t *testing.T) {
	srv, err := streamtest.Start(streamtest.Options{Users: map[string]string{"alice": "s3cr3t-sentinel"}, PushTLSAddr: "127.0.0.2:0"})
	if err != nil {
		t.Skipf("no loopback address 127.0.0.2: %v", err)
	}
	defer srv.Close()
	rest, restCA := httpsREST(t, srv)
	u, _ := url.Parse(rest.URL)
	ca := writeFile(t, "both.pem", restCA.PEM(), srv.CACertPEM())
	for _, tc := range []struct {
		host string
		code int
	}{{"localhost", 0}, {"", 1}} {
		args := []string{"-api-url", rest.URL}
		if tc.host != "" {
			args = []string{"-a", tc.host + ":" + u.Port()}
		}
		c := startClient(t, append(args, "-push-addr", srv.PushTLSAddr(), "-ca-file", ca, "-output", "ndjson", "-count", "1", "alice", "s3cr3t-sentinel")...)
		if tc.code == 0 {
			ownMonitor(t, srv, c)
			publish(srv, 1)
		}
		got := readLines(t, c)
		if code := c.wait(t); code != tc.code || len(got) != 1-tc.code {
			t.Fatalf("-a %q: exit %d with %d events\n%s", tc.host, code, len(got), c.stderr)
		}
		if tc.code == 1 && !strings.Contains(c.stderr.String(), "127.0.0.2") {
			t.Errorf("without -a: %s", c.stderr)
		}
	}
	if ms := srv.Monitors(); len(ms) != 0 {
		t.Errorf("monitors left: %v", ms)
	}
}
