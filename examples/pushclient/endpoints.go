package main

// Where REST and push go, and how TLS is checked: the same -ca-file and
// -insecure for both.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/stream"
)

// endpoints are the resolved REST and push addresses and their TLS.
type endpoints struct {
	apiURL string
	// tls is the client TLS configuration of REST and push: RootCAs from
	// -ca-file, nil for the system's roots.
	tls  *tls.Config
	push stream.Config // Host, Addr, Plaintext and TLSConfig set
}

// resolveEndpoints applies -host, -api-url, -push-addr, -insecure and
// -ca-file.
func resolveEndpoints(o *options, log *slog.Logger) (*endpoints, error) {
	name, restHost := splitHost(o.host)
	ep := &endpoints{apiURL: o.apiURL}
	if ep.apiURL == "" {
		scheme := "https"
		if o.insecure {
			scheme = "http"
		}
		ep.apiURL = scheme + "://" + restHost
	}
	if u, err := url.Parse(ep.apiURL); err == nil && u.Scheme == "http" && !o.insecure && !isLoopback(u.Hostname()) {
		log.Warn("REST over plain http: the password crosses the network in clear", "api_url", showURL(ep.apiURL))
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca-file %s holds no PEM certificate", o.caFile)
		}
		ep.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	ep.push = stream.Config{Host: name, Addr: o.pushAddr, Plaintext: o.insecure, TLSConfig: ep.tls}
	if o.pushAddr != "" && !o.hostSet {
		ep.push.Host = "" // the TLS server name is then the push address's host
	}
	return ep, nil
}

// pushAddr is where c's push connection goes, for status lines.
func pushAddr(c stream.Config) string {
	if c.Addr != "" {
		return c.Addr
	}
	port := stream.DefaultTLSPort
	if c.Plaintext {
		port = stream.DefaultPlaintextPort
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// httpClient is the REST client's HTTP client: nil (the monitor package's
// default) unless -ca-file gives the roots to verify with.
func (ep *endpoints) httpClient() *http.Client {
	if ep.tls == nil {
		return nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // proxies from the environment, as the default
	tr.TLSClientConfig = ep.tls.Clone()
	return &http.Client{Transport: tr, Timeout: monitor.DefaultTimeout}
}

// newAPI is the REST client, the one place the password is revealed to
// it.
func newAPI(ep *endpoints, o *options) *monitor.Client {
	return monitor.NewClient(ep.apiURL,
		monitor.WithBasicAuth(o.username, o.password.Reveal()),
		monitor.WithHTTPClient(ep.httpClient()))
}

// splitHost splits -host into the bare host name (push address and TLS
// server name) and the host as it goes into the REST URL (port kept, IPv6
// bracketed).
func splitHost(h string) (name, restHost string) {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host, h
	}
	if strings.Contains(h, ":") { // a bare IPv6 address
		h = strings.Trim(h, "[]")
		return h, "[" + h + "]"
	}
	return h, h
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
