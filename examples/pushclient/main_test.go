package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// hangTimeout bounds the tests' waits for what must happen. It is no
// speed budget: it only turns a hang into a failure, generous enough for
// a machine starved of CPU.
const hangTimeout = 3 * time.Minute

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pushclient-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "pushclient")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building pushclient: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// client runs the built binary.
type client struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	stderr *syncBuffer
}

// syncBuffer is a bytes.Buffer that the test may read while the process
// writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// eventually waits, with a generous deadline, until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func start(t *testing.T, env []string, args ...string) *client {
	t.Helper()
	return startProgram(t, env, binary, args...)
}

// startProgram runs program (the client, or a command that execs it).
func startProgram(t *testing.T, env []string, program string, args ...string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &client{cmd: cmd, stdout: bufio.NewScanner(out), stderr: &syncBuffer{}}
	c.stdout.Buffer(make([]byte, 1<<20), 1<<20)
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) wait(t *testing.T) int {
	t.Helper()
	err := c.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func simulator(t *testing.T) *streamtest.Server {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"alice": "s3cr3t-sentinel"}})
	t.Cleanup(srv.Close)
	return srv
}

// waitMonitor waits until the client has created its monitor and is
// connected to it.
func waitMonitor(t *testing.T, srv *streamtest.Server) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	for {
		for _, m := range srv.Monitors() {
			if srv.Connected(m.ID) {
				return m.ID
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the client never connected")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func publish(srv *streamtest.Server, n int) {
	for i := range n {
		srv.Publish(streamtest.Event{
			Topic: fmt.Sprintf("DeviceCore/%d/0", 100+i), Operation: "UPDATE",
			Timestamp: time.Date(2025, 1, 2, 3, 4, 5, i*int(time.Millisecond), time.UTC),
			Body:      map[string]any{"devConnectwareId": fmt.Sprintf("dev-%d", i), "dpConnectionStatus": i % 2},
		})
	}
}

type line struct {
	Topic, Resource, Operation, Timestamp, Group string
	Replay                                       bool
	Body                                         json.RawMessage
}

func TestNDJSONCountAndCleanup(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", tls), func(t *testing.T) {
			srv := simulator(t)
			args := []string{"-api-url", srv.URL(), "-output", "ndjson", "-count", "5", "-b", "2", "-d", "1"}
			if tls {
				ca := filepath.Join(t.TempDir(), "ca.pem")
				os.WriteFile(ca, srv.CACertPEM(), 0o600)
				args = append(args, "-push-addr", srv.PushTLSAddr(), "-ca-file", ca)
			} else {
				args = append(args, "-insecure", "-push-addr", srv.PushAddr())
			}
			c := start(t, nil, append(args, "alice", "s3cr3t-sentinel")...)
			id := waitMonitor(t, srv)
			info, _ := srv.MonitorInfo(id)
			if fmt.Sprint(info.Spec.Topics) != "[DeviceCore]" || info.Spec.BatchSize != 2 || !info.Spec.AckExplicit || info.Spec.Compression != "zlib" {
				t.Errorf("monitor created as %+v", info.Spec)
			}
			publish(srv, 8)
			var got []line
			for c.stdout.Scan() {
				var l line
				if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil {
					t.Fatalf("not JSON: %q", c.stdout.Text())
				}
				got = append(got, l)
			}
			if code := c.wait(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, c.stderr)
			}
			if len(got) != 5 {
				t.Fatalf("%d lines, want 5 (-count 5)", len(got))
			}
			for i, l := range got {
				var body struct{ DevConnectwareID string }
				json.Unmarshal(l.Body, &body)
				if l.Topic != fmt.Sprintf("1234/DeviceCore/%d/0", 100+i) || l.Resource != "DeviceCore" || l.Operation != "UPDATE" ||
					l.Timestamp != fmt.Sprintf("2025-01-02T03:04:05.%03dZ", i) || body.DevConnectwareID != fmt.Sprintf("dev-%d", i) {
					t.Errorf("line %d = %+v", i, l)
				}
			}
			if ms := srv.Monitors(); len(ms) != 0 {
				t.Errorf("monitor not deleted on exit: %v", ms)
			}
			if strings.Contains(c.stderr.String(), "s3cr3t-sentinel") {
				t.Error("password in the log")
			}
		})
	}
}

func TestXMLBodyIsElementString(t *testing.T) {
	srv := simulator(t)
	c := start(t, []string{"RM_USERNAME=alice", "RM_PASSWORD=s3cr3t-sentinel"},
		"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-f", "xml", "-c", "none", "-output", "ndjson", "-count", "1", "-keep")
	id := waitMonitor(t, srv)
	publish(srv, 1)
	if !c.stdout.Scan() {
		t.Fatalf("no output; stderr:\n%s", c.stderr)
	}
	var l struct{ Body string }
	if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil || !strings.HasPrefix(l.Body, "<DeviceCore>") || !strings.Contains(l.Body, "<devConnectwareId>dev-0</devConnectwareId>") {
		t.Errorf("line %s (%v)", c.stdout.Text(), err)
	}
	for c.stdout.Scan() {
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, ok := srv.MonitorInfo(id); !ok {
		t.Error("-keep: monitor deleted")
	}
}

// TestBadFlagsExit2: a usage error is one short line naming the problem
// and pointing to -h, not the whole usage text.
func TestBadFlagsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nosuchflag"}, "pushclient: bad flag: -nosuchflag is not a flag (see -h)"},
		{[]string{"-count"}, "pushclient: bad flag: flag needs an argument: -count (see -h)"},
		{[]string{"-format", "yaml", "u", "p"}, "pushclient: bad flag: -format must be json or xml (see -h)"},
		{[]string{"-output", "csv", "u", "p"}, "-output must be text or ndjson"},
		{[]string{"-ack", "sometimes", "u", "p"}, "-ack must be explicit or off"},
		{[]string{"onlyuser"}, "pushclient: want username and password, got 1 argument(s) (see -h)"},
		{[]string{}, "username and password are required"}, // no credentials at all
		{[]string{"-push-addr", "nohostport", "u", "p"}, "-push-addr must be HOST:PORT"},
		{[]string{"-insecure", "-ca-file", "ca.pem", "u", "p"}, "-ca-file is for TLS, which -insecure turns off"},
		{[]string{"-insecure", "-api-url", "https://rm.example.com", "u", "p"}, "-insecure turns TLS off, but -api-url is https"},
		{[]string{"-a", "https://rm.example.com", "u", "p"}, "-host takes HOST or HOST:PORT"},
		{[]string{"-replace-foreign", "-monitor-id", "5", "u", "p"}, "-replace-foreign replaces nothing with -monitor-id"},
		{[]string{"-d", "9223372037", "u", "p"}, "-batchduration, -count and -monitor-id must not be negative or too large"},
		{[]string{"-b", "9999999999999", "u", "p"}, "-batchsize must be ≥ 1"},
		{[]string{"-topics", "DeviceCore,,DataPoint", "u", "p"}, "-topics has an empty topic"},
		{[]string{"-topics", "DeviceCore,", "u", "p"}, "-topics has an empty topic"},
		// Refused before -listen is bound and before any REST call.
		{[]string{"-transport", "http", "u", "p"}, "-transport http needs -public-url"},
	} {
		c := start(t, []string{"RM_USERNAME=", "RM_PASSWORD="}, tc.args...)
		for c.stdout.Scan() {
			t.Errorf("%q: stdout %q", tc.args, c.stdout.Text())
		}
		code := c.wait(t)
		errText := c.stderr.String()
		if code != 2 || !strings.Contains(errText, tc.want) || strings.Count(errText, "\n") != 1 || !strings.HasSuffix(errText, "(see -h)\n") {
			t.Errorf("%q: exit %d, stderr:\n%s", tc.args, code, errText)
		}
	}
}

// TestHelp: -h prints the usage on stdout, including what the client
// deletes, and exits 0.
func TestHelp(t *testing.T) {
	c := startClient(t, "-h")
	var out strings.Builder
	for c.stdout.Scan() {
		out.WriteString(c.stdout.Text() + "\n")
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"usage: pushclient", `"pushclient temporary: run …"`, "-replace-foreign", "-host, -a HOST",
		"-ca-file FILE", "for REST (https) and push TLS alike", "141 when stdout was closed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h does not say %q:\n%s", want, out.String())
		}
	}
}

// TestBadCredentialsExit1AtOnce: a 401 is not retried: one request, exit 1.
func TestBadCredentialsExit1AtOnce(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"alice": "s3cr3t-sentinel"},
		Logf: func(format string, args ...any) {
			if line := fmt.Sprintf(format, args...); strings.HasPrefix(line, "streamtest: REST ") {
				mu.Lock()
				requests = append(requests, line)
				mu.Unlock()
			}
		}})
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "wrong-password")
	code := c.wait(t)
	// The access log line of a request is written before its answer
	// leaves, so before the client can exit.
	srv.Close()
	if code != 1 || !strings.Contains(c.stderr.String(), "authentication failed") {
		t.Errorf("exit %d, stderr:\n%s", code, c.stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 1 || !strings.Contains(requests[0], " 401 ") {
		t.Errorf("REST requests %q, want one answered 401", requests)
	}
	if strings.Contains(c.stderr.String(), "wrong-password") {
		t.Error("password in the error")
	}
}

func TestExistingMonitorWrongPasswordForPush(t *testing.T) {
	// -monitor-id skips REST, so the push login is what fails: 403 → exit 1.
	srv := simulator(t)
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}})
	c := startClient(t, "-insecure", "-push-addr", srv.PushAddr(), "-monitor-id", fmt.Sprint(id), "alice", "nope")
	if code := c.wait(t); code != 1 || !strings.Contains(c.stderr.String(), "403") {
		t.Errorf("exit %d, stderr:\n%s", code, c.stderr)
	}
	if _, ok := srv.MonitorInfo(id); !ok {
		t.Error("-monitor-id: the monitor was deleted")
	}
}

func TestDemo(t *testing.T) {
	c := start(t, nil, "-demo", "-output", "ndjson", "-count", "3")
	n := 0
	for c.stdout.Scan() {
		var l line
		if err := json.Unmarshal(c.stdout.Bytes(), &l); err != nil || l.Topic == "" {
			t.Errorf("line %q", c.stdout.Text())
		}
		n++
	}
	if code := c.wait(t); code != 0 || n != 3 {
		t.Errorf("exit %d with %d events\n%s", code, n, c.stderr)
	}
}

func startClient(t *testing.T, args ...string) *client {
	return start(t, []string{"RM_USERNAME=", "RM_PASSWORD="}, args...)
}
