package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// readLines reads the client's ndjson output to the end.
func readLines(t *testing.T, c *client) []line {
	t.Helper()
	var got []line
	for c.stdout.Scan() {
		var l line
		if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil {
			t.Fatalf("not JSON: %q", c.stdout.Text())
		}
		got = append(got, l)
	}
	return got
}

func TestDemoTransports(t *testing.T) {
	for _, tr := range []string{"http", "polling"} {
		t.Run(tr, func(t *testing.T) {
			c := start(t, nil, "-demo", "-transport", tr, "-listen", "127.0.0.1:0", "-interval", "1s", "-output", "ndjson", "-count", "3")
			got := readLines(t, c)
			if code := c.wait(t); code != 0 || len(got) != 3 {
				t.Fatalf("exit %d with %d events\n%s", code, len(got), c.stderr)
			}
			for _, l := range got {
				if l.Topic == "" || l.Resource == "" {
					t.Errorf("line %+v", l)
				}
			}
		})
	}
}

// TestPollingAgainstSimulator creates a polling monitor with a template
// and reads it by polling.
func TestPollingAgainstSimulator(t *testing.T) {
	srv := simulator(t)
	c := startClient(t, "-api-url", srv.URL(), "-transport", "polling", "-interval", "1s", "-output", "ndjson",
		"-count", "4", "alice", "s3cr3t-sentinel")
	var id uint32
	deadline := time.Now().Add(hangTimeout)
	for id == 0 && time.Now().Before(deadline) {
		for _, m := range srv.Monitors() {
			id = m.ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	info, _ := srv.MonitorInfo(id)
	if info.Spec.Transport != "polling" {
		t.Fatalf("monitor %+v", info.Spec)
	}
	publish(srv, 4)
	got := readLines(t, c)
	if code := c.wait(t); code != 0 || len(got) != 4 {
		t.Fatalf("exit %d with %d lines\n%s", code, len(got), c.stderr)
	}
	for i, l := range got {
		if l.Topic != fmt.Sprintf("1234/DeviceCore/%d/0", 100+i) {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	if len(srv.Monitors()) != 0 {
		t.Error("monitor not deleted")
	}
}

// TestHTTPTransportWithSchema runs -transport http against the simulator
// with a handlebars template: the pushed bodies are the template's output,
// printed raw.
func TestHTTPTransportWithSchema(t *testing.T) {
	srv := simulator(t)
	schema := filepath.Join(t.TempDir(), "t.hbs")
	os.WriteFile(schema, []byte(`{"devices":[{{#each this}}"{{DeviceCore.devConnectwareId}}"{{#unless @last}},{{/unless}}{{/each}}]}`), 0o600)
	addr := freeAddr(t)
	// A key in the public URL's query is a secret: never logged.
	const public = "http://127.0.0.1:1/unused?key=QKEY-s3cr3t"
	c := startClient(t, "-api-url", srv.URL(), "-transport", "http", "-listen", addr, "-public-url", public,
		"-schema", schema, "-b", "2", "-output", "ndjson", "-count", "1", "-keep", "alice", "s3cr3t-sentinel")
	var id uint32
	deadline := time.Now().Add(hangTimeout)
	for id == 0 && time.Now().Before(deadline) {
		for _, m := range srv.Monitors() {
			id = m.ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	info, _ := srv.MonitorInfo(id)
	if info.Spec.Transport != "http" || info.Spec.SchemaType != "handlebars" || !strings.Contains(info.Spec.SchemaData, "#each") ||
		info.Spec.TransportURL != public || !strings.HasPrefix(string(info.Spec.TransportToken), "pushclient:") {
		t.Fatalf("monitor %+v", info.Spec)
	}
	// The public URL is a placeholder here (the simulator would push the
	// template's output there): push to the client's listener directly,
	// as a reverse proxy would.
	tok := string(info.Spec.TransportToken)
	body := `{"devices":["a","b"]}`
	req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+addr+"/anything", strings.NewReader(body))
	user, pass, _ := strings.Cut(tok, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	got := readLines(t, c)
	if code := c.wait(t); code != 0 || len(got) != 1 || string(got[0].Body) != body {
		t.Fatalf("exit %d, lines %+v\n%s", code, got, c.stderr)
	}
	if errText := c.stderr.String(); strings.Contains(errText, "QKEY") || !strings.Contains(errText, "key=REDACTED") {
		t.Errorf("stderr shows the URL's key, or not the URL:\n%s", errText)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestMonitorsCommands(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"alice": "s3cr3t-sentinel"},
		PushAddr: "-", PushTLSAddr: "-", HTTPRetryInterval: 10 * time.Millisecond, HTTPDisableAfter: 30 * time.Millisecond})
	defer srv.Close()
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer dead.Close()
	tcp := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Description: "first"})
	hook := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: dead.URL + "/x?key=s3cr3t-q",
		TransportToken: "h:tok-s3cr3t", BatchDuration: -1})
	srv.Publish(streamtest.Event{Topic: "DataPoint/d/t", Body: map[string]any{"id": 1}})
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	if err := srv.WaitStatus(ctx, hook, streamtest.StatusDisabled); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		c := startClient(t, append([]string{"-api-url", srv.URL()}, args...)...)
		var out strings.Builder
		for c.stdout.Scan() {
			out.WriteString(c.stdout.Text() + "\n")
		}
		code := c.wait(t)
		return code, out.String(), c.stderr.String()
	}
	code, out, errText := run("monitors", "list", "alice", "s3cr3t-sentinel")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d  tcp", tcp)) || !strings.Contains(out, "DISABLED") || !strings.Contains(out, "first") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errText)
	}
	code, out, _ = run("-output", "ndjson", "monitors", "list", "alice", "s3cr3t-sentinel")
	if code != 0 || strings.Count(out, "\n") != 2 || strings.Contains(out, "s3cr3t") {
		t.Errorf("list ndjson: exit %d\n%s", code, out)
	}
	if code, out, errText = run("monitors", "reset", fmt.Sprint(hook), "alice", "s3cr3t-sentinel"); code != 0 || !strings.Contains(out, "reset") {
		t.Fatalf("reset: exit %d\n%s\n%s", code, out, errText)
	}
	if info, _ := srv.MonitorInfo(hook); info.Status == streamtest.StatusDisabled || info.Kicks != 1 {
		t.Errorf("after reset: %s, %d kicks", info.Status, info.Kicks)
	}
	if code, _, _ = run("monitors", "delete", fmt.Sprint(tcp), "alice", "s3cr3t-sentinel"); code != 0 {
		t.Errorf("delete: exit %d", code)
	}
	if _, ok := srv.MonitorInfo(tcp); ok {
		t.Error("not deleted")
	}
	if code, _, errText = run("monitors", "delete", fmt.Sprint(tcp), "alice", "s3cr3t-sentinel"); code != 1 || !strings.Contains(errText, "404") {
		t.Errorf("delete again: exit %d\n%s", code, errText)
	}
	for _, args := range [][]string{
		{"monitors"}, {"monitors", "frobnicate"}, {"monitors", "reset"}, {"monitors", "delete", "x"},
		{"-transport", "carrier-pigeon", "u", "p"}, {"-interval", "0s", "u", "p"}, {"-token", "nocolon", "u", "p"},
		{"-transport", "http", "-monitor-id", "5", "u", "p"},
		// A push token without a password: refused before a monitor is created with it.
		{"-transport", "http", "-public-url", "https://hooks.example.com/rm", "-token", "hook:", "u", "p"},
	} {
		if code, _, errText := run(args...); code != 2 || !strings.HasSuffix(errText, "(see -h)\n") || strings.Count(errText, "\n") != 1 {
			t.Errorf("%q: exit %d\n%s", args, code, errText)
		}
	}
}
