package streamtest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	rm "github.com/pushmon/pushmon/monitor"
)

// The REST API over HTTPS, with the TLS push certificate: this project's
// REST client works against it trusting only CertPool, and the
// certificate names 127.0.0.1 both as an IP address and as a DNS name
// (for clients that match an IP literal against DNS names only), and
// localhost.
func TestRESTOverHTTPS(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-", HTTPAddr: "-", HTTPSAddr: "127.0.0.1:0"})
	defer s.Close()
	if s.URL() != "" || !strings.HasPrefix(s.HTTPSURL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q, HTTPSURL %q", s.URL(), s.HTTPSURL())
	}
	for _, serverName := range []string{"", "localhost"} { // "": the host of the URL, 127.0.0.1
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), ServerName: serverName}}
		hc := &http.Client{Transport: tr}
		api := rm.NewClient(s.HTTPSURL(), rm.WithBasicAuth("user", "password"), rm.WithHTTPClient(hc))
		id, err := api.Create(context.Background(), rm.Spec{Topics: []string{"DeviceCore"}})
		if err != nil {
			t.Fatalf("server name %q: %v", serverName, err)
		}
		if info, ok := s.MonitorInfo(id); !ok || info.Spec.Topics[0] != "DeviceCore" {
			t.Fatalf("monitor %d: %+v", id, info)
		}
		tr.CloseIdleConnections()
	}
	// The certificate's names.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.HTTPSURL(), "https://"), &tls.Config{RootCAs: s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if !slices.Contains(leaf.DNSNames, "127.0.0.1") || !slices.Contains(leaf.DNSNames, "localhost") ||
		!slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }) {
		t.Errorf("certificate names %q, addresses %v", leaf.DNSNames, leaf.IPAddresses)
	}
	// Without the CA, no.
	resp, err := http.Get(s.HTTPSURL() + "/ws/Monitor")
	if err == nil {
		resp.Body.Close()
		t.Fatal("an https client without the CA was served")
	}
}

// HTTPSAddr is off unless set, and "-" also means off.
func TestHTTPSIsOffByDefault(t *testing.T) {
	for _, addr := range []string{"", "-"} {
		s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-", HTTPAddr: "-", HTTPSAddr: addr})
		if s.HTTPSURL() != "" {
			t.Errorf("HTTPSAddr %q: listening on %s", addr, s.HTTPSURL())
		}
		s.Close()
	}
}

// Every REST call is logged on Logf with its method, path, status and
// user, never with a password.
func TestRESTAccessLog(t *testing.T) {
	var logs logLines
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-", Logf: logs.logf, Users: map[string]string{"ann": "pw-sentinel"}})
	c := newREST(t, s)
	c.user, c.pass = "ann", "pw-sentinel"
	c.do("GET", "/ws/Monitor?condition="+"monTopic%3D%27x%0Ay%27", "")
	c.pass = "wrong-sentinel"
	c.do("GET", "/ws/DeviceCore", "")
	s.Close()
	var access []string
	for _, l := range logs.get() {
		if strings.Contains(l, "streamtest: REST ") {
			access = append(access, l)
		}
		if strings.Contains(l, "sentinel") {
			t.Errorf("a password in the log: %q", l)
		}
	}
	if len(access) != 2 || !strings.Contains(access[0], `GET "/ws/Monitor?condition=monTopic%3D%27x%0Ay%27" 200 (user "ann"`) ||
		!strings.Contains(access[1], `GET "/ws/DeviceCore" 401 (user "ann"`) {
		t.Fatalf("access log %q", access)
	}
}
