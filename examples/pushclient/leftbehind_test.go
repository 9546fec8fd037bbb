package main

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// failingREST serves srv's REST API, answering 500 to the requests fail
// picks while broken is set.
func failingREST(t *testing.T, h http.Handler, broken *atomic.Bool, fail func(*http.Request) bool) *httptest.Server {
	t.Helper()
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() && fail(r) {
			http.Error(w, "<result><error>internal error</error></result>", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rest.Close)
	return rest
}

// lastLine is the last line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestFailedDeleteExits3: when deleting its monitor at exit fails, the
// client exits 3, not 0, and its last line on stderr names the monitor
// and a command that deletes it — which, run once the server deletes
// again, does. The failure is on stderr once, in that line: before, a
// WARN line said it first.
func TestFailedDeleteExits3(t *testing.T) {
	srv := simulator(t)
	var broken atomic.Bool
	broken.Store(true)
	rest := failingREST(t, srv.Handler(), &broken, func(r *http.Request) bool { return r.Method == http.MethodDelete })
	c := startClient(t, "-api-url", rest.URL, "-insecure", "-push-addr", srv.PushAddr(), "-count", "1", "-output", "ndjson",
		"alice", "s3cr3t-sentinel")
	id := ownMonitor(t, srv, c)
	publish(srv, 1)
	if got := readLines(t, c); len(got) != 1 {
		t.Fatalf("%d events, want 1\n%s", len(got), c.stderr)
	}
	if code := c.wait(t); code != exitMonitorLeft {
		t.Fatalf("exit %d, want %d when the monitor's delete failed\n%s", code, exitMonitorLeft, c.stderr)
	}
	if !exists(srv, id) {
		t.Fatalf("monitor %d is gone: the delete was to fail", id)
	}
	last := lastLine(c.stderr.String())
	ids := strconv.FormatUint(uint64(id), 10)
	wantCmd := "pushclient -api-url " + rest.URL + " -insecure monitors delete " + ids
	if !strings.Contains(last, "level=ERROR") || !strings.Contains(last, "monitor "+ids+" left behind") ||
		!strings.Contains(last, "delete it with: "+wantCmd) || !strings.Contains(last, "monitor_id="+ids) {
		t.Fatalf("last line of stderr does not name monitor %d and %q:\n%s", id, wantCmd, c.stderr)
	}
	expectOnce(t, c.stderr.String(), "internal error")
	if strings.Contains(c.stderr.String(), "s3cr3t") {
		t.Errorf("the password is on stderr:\n%s", c.stderr)
	}

	// The command, as printed, deletes the monitor once the server does.
	broken.Store(false)
	words := strings.Fields(wantCmd)
	out, err := exec.Command(binary, append(words[1:], "alice", "s3cr3t-sentinel")...).CombinedOutput()
	if err != nil || exists(srv, id) {
		t.Errorf("the printed command: %v, monitor %d still there: %v\n%s", err, id, exists(srv, id), out)
	}
}

// TestDeleteOfAGoneMonitorExits0: a monitor someone else deleted just
// before the client's own delete (404) is not left behind: exit 0.
func TestDeleteOfAGoneMonitorExits0(t *testing.T) {
	srv := simulator(t)
	var gone atomic.Bool
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			for _, m := range srv.Monitors() {
				gone.Store(srv.DeleteMonitor(m.ID))
			}
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer rest.Close()
	c := startClient(t, "-api-url", rest.URL, "-insecure", "-push-addr", srv.PushAddr(), "-count", "1", "-output", "ndjson",
		"alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	publish(srv, 1)
	if got := readLines(t, c); len(got) != 1 {
		t.Fatalf("%d events, want 1\n%s", len(got), c.stderr)
	}
	if code := c.wait(t); code != 0 || !gone.Load() || !strings.Contains(c.stderr.String(), "monitor already deleted") {
		t.Errorf("exit %d, want 0: the monitor was gone before the client's delete\n%s", code, c.stderr)
	}
}

// TestUncheckedCreateExits3: a create whose answer was lost, when the
// client then cannot look for the monitor it may have made, exits 3 with
// the monitor's description and the commands that find and delete it,
// said once, last: before, a WARN line said it first.
func TestUncheckedCreateExits3(t *testing.T) {
	srv := simulator(t)
	var broken, posted atomic.Bool
	broken.Store(true)
	rest := failingREST(t, srv.Handler(), &broken, func(r *http.Request) bool {
		// The listing at start-up answers; the one after the lost create
		// fails.
		return r.Method == http.MethodGet && posted.Load()
	})
	lost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !posted.Swap(true) {
			srv.Handler().ServeHTTP(httptest.NewRecorder(), r) // created, answer lost
			<-r.Context().Done()
			return
		}
		rest.Config.Handler.ServeHTTP(w, r)
	}))
	defer lost.Close()
	c := startClient(t, "-api-url", lost.URL, "-insecure", "-push-addr", srv.PushAddr(), "-rest-timeout", "3s", "alice", "s3cr3t-sentinel")
	for c.stdout.Scan() {
	}
	if code := c.wait(t); code != exitMonitorLeft {
		t.Fatalf("exit %d, want %d\n%s", code, exitMonitorLeft, c.stderr)
	}
	last := lastLine(c.stderr.String())
	if !strings.Contains(last, "a monitor may be left behind") || !strings.Contains(last, `description="`+descTemporary+": run ") ||
		!strings.Contains(last, "pushclient -api-url "+lost.URL+" -insecure monitors list") {
		t.Errorf("last line of stderr:\n%s", c.stderr)
	}
	expectOnce(t, c.stderr.String(), "internal error")
	expectOnce(t, c.stderr.String(), "may be left behind")
}

// expectOnce fails t unless stderr holds what exactly once, in its last
// line: a failure that leaves a monitor behind is said once, with the
// command that deletes it.
func expectOnce(t *testing.T, stderr, what string) {
	t.Helper()
	if n := strings.Count(stderr, what); n != 1 || !strings.Contains(lastLine(stderr), what) {
		t.Errorf("%q is on stderr %d times, want once, in the last line:\n%s", what, n, stderr)
	}
}

func TestCommandQuotes(t *testing.T) {
	o := &options{host: "rm.example.com", hostSet: true, caFile: "/etc/my ca's.pem"}
	if got, want := command(o, "monitors", "delete", "7"), `pushclient -host rm.example.com -ca-file '/etc/my ca'\''s.pem' monitors delete 7`; got != want {
		t.Errorf("command:\n got %s\nwant %s", got, want)
	}
	o = &options{apiURL: "https://bob:pw@rm.example.com:8443/base", host: "ignored", hostSet: true}
	if got := command(o, "monitors", "list"); strings.Contains(got, "pw") || strings.Contains(got, "ignored") ||
		!strings.Contains(got, "-api-url 'https://bob:REDACTED@rm.example.com:8443/base'") && !strings.Contains(got, "-api-url https://bob:REDACTED@rm.example.com:8443/base") {
		t.Errorf("command: %s", got)
	}
}
