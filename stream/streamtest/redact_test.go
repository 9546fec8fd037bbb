package streamtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
)

func TestNothingPrintsPasswords(t *testing.T) {
	const pw = "hunter2-secret"
	opts := Options{Users: map[string]string{"alice": pw}, HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-"}
	spec := MonitorSpec{Topics: []string{"DataPoint"}, TransportToken: "bob:" + pw}
	s := NewServer(opts)
	defer s.Close()
	for _, v := range []any{opts, &opts, spec, &spec, s, MonitorInfo{Spec: spec}, spec.TransportToken} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, pw) || strings.Contains(out, fmt.Sprintf("%x", pw)) {
				t.Errorf("%s of %T shows the password: %s", verb, v, out)
			}
		}
	}
	if got := fmt.Sprint(opts); !strings.Contains(got, `"alice":[REDACTED]`) {
		t.Errorf("Options.String: %s", got)
	}
	if Secret("").String() != "" || string(spec.TransportToken) != "bob:"+pw {
		t.Error("Secret")
	}
}

func TestLogsHaveNoPasswords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var logs strings.Builder
		opts := offline()
		opts.Users = map[string]string{"alice": "right-pass"}
		opts.Logf = func(f string, a ...any) {
			mu.Lock()
			fmt.Fprintf(&logs, f+"\n", a...)
			mu.Unlock()
		}
		s := NewServer(opts)
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		for _, pass := range []string{"wrong-pass", "right-pass"} {
			rc := pipeClient(t, s)
			rc.connect("alice", pass, id)
			rc.Close()
		}
		synctest.Wait()
		s.Close()
		out := logs.String()
		if !strings.Contains(out, "refused with 403") || !strings.Contains(out, "connected to monitor") {
			t.Fatalf("expected log lines missing:\n%s", out)
		}
		if strings.Contains(out, "pass") {
			t.Errorf("a password reached the log:\n%s", out)
		}
	})
}
