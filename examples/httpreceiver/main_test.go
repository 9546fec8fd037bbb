package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// hangTimeout bounds the tests' waits for what must happen. It is no
// speed budget: it only turns a hang into a failure, generous enough for
// a machine starved of CPU.
const hangTimeout = 3 * time.Minute

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoReceivesPushes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-demo", "-listen", "127.0.0.1:0", "-count", "4", "-output", "ndjson"},
		func(string) string { return "" }, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), stdout.String())
	}
	for _, l := range lines {
		var rec struct {
			Topic, Operation string
			Raw              bool
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Topic == "" || rec.Raw {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

func TestAgainstSimulatorCreatesAndDeletes(t *testing.T) {
	srv := streamtest.NewServer(streamtest.Options{Users: map[string]string{"alice": "s3cr3t-sentinel"}, PushAddr: "-", PushTLSAddr: "-"})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	// A free port for -listen and -public-url alike. Found free just
	// before, it may be taken by another process before run binds it: then
	// run ends at once, having created nothing, and the test tries another.
	var stdout, stderr bytes.Buffer
	var done chan int
	var id uint32
	for attempt := 0; id == 0; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		stdout.Reset()
		stderr.Reset()
		done = make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"-api-url", srv.URL(), "-listen", addr, "-public-url", "http://" + addr + "/rm/push?key=q-s3cr3t",
				"-token", "hook:tok-s3cr3t", "-count", "2", "-topics", "DataPoint", "alice", "s3cr3t-sentinel"},
				func(string) string { return "" }, &stdout, &stderr)
		}()
	wait:
		for id == 0 {
			for _, m := range srv.Monitors() {
				id = m.ID
			}
			select {
			case code := <-done:
				if attempt < 5 && strings.Contains(stderr.String(), "address already in use") {
					break wait
				}
				t.Fatalf("exited %d early\n%s", code, stderr.String())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	info, _ := srv.MonitorInfo(id)
	if info.Spec.Transport != "http" || string(info.Spec.TransportToken) != "hook:tok-s3cr3t" || info.Spec.TransportMethod != "POST" {
		t.Errorf("monitor %+v", info.Spec)
	}
	for i := range 2 {
		srv.Publish(streamtest.Event{Topic: "DataPoint/d/t", Operation: "INSERTION", Body: map[string]any{"id": i}})
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "INSERTION 1234/DataPoint/d/t"); n != 2 {
		t.Errorf("output:\n%s", stdout.String())
	}
	if len(srv.Monitors()) != 0 {
		t.Error("monitor not deleted")
	}
	if strings.Contains(stderr.String(), "s3cr3t") {
		t.Errorf("secret in the log:\n%s", stderr.String())
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"u", "p"}, {"-monitor-id", "5", "u", "p"}, {"-demo", "-output", "csv"}, {"-demo", "-token", "x"}, {"-demo", "extra"},
		// A token without a password: refused before any monitor is created.
		{"-demo", "-listen", "127.0.0.1:0", "-token", "hook:"},
		{"-listen", "127.0.0.1:0", "-api-url", "http://127.0.0.1:1", "-public-url", "https://hooks.example.com/rm", "-token", "hook:", "u", "p"},
		// -public-url is checked as the monitor's URL before a listener opens.
		{"-listen", "127.0.0.1:0", "-public-url", "hooks.example.com/rm", "u", "p"},
		{"-listen", "127.0.0.1:0", "-public-url", "ftp://hooks.example.com/rm", "u", "p"},
		{"-listen", "127.0.0.1:0", "-public-url", "https://hooks.example.com/rm", "-topics", ",", "u", "p"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("%q: exit %d", args, code)
		}
	}
}
