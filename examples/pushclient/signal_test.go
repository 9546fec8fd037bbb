package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestSIGTERMCleansUp: SIGTERM (a service manager stopping the client)
// and SIGHUP (its terminal gone) delete the monitor and exit 0.
func TestSIGTERMCleansUp(t *testing.T) {
	for _, tc := range []struct {
		transport string
		sig       syscall.Signal
	}{{"tcp", syscall.SIGTERM}, {"polling", syscall.SIGTERM}, {"tcp", syscall.SIGHUP}} {
		t.Run(tc.transport+"/"+tc.sig.String(), func(t *testing.T) {
			if tc.sig == syscall.SIGHUP {
				defaultSIGHUP(t)
			}
			srv := simulator(t)
			c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-transport", tc.transport, "alice", "s3cr3t-sentinel")
			id := waitingForEvents(t, srv, c)
			if ign, caught, ok := signalMasks(c.cmd.Process.Pid); ok && (ign&sigBit(tc.sig) != 0 || caught&sigBit(tc.sig) == 0) {
				t.Errorf("the client does not catch %v (ignored %#x, caught %#x)", tc.sig, ign, caught)
			}
			c.cmd.Process.Signal(tc.sig)
			if code := c.wait(t); code != 0 {
				t.Errorf("exit %d\n%s", code, c.stderr)
			}
			if exists(srv, id) {
				t.Errorf("monitor not deleted after %v\n%s", tc.sig, c.stderr)
			}
		})
	}
}

// TestSIGHUPIgnoredStaysIgnored: started with SIGHUP ignored (nohup), the
// client keeps ignoring it — it outlives its terminal — and still cleans
// up on SIGTERM.
func TestSIGHUPIgnoredStaysIgnored(t *testing.T) {
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Skip("no nohup here")
	}
	srv := simulator(t)
	args := []string{binary, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel"}
	c := startProgram(t, []string{"RM_USERNAME=", "RM_PASSWORD="}, nohup, args...) // nohup execs the client: same process
	id := waitingForEvents(t, srv, c)
	if ign, caught, ok := signalMasks(c.cmd.Process.Pid); ok && (ign&sigBit(syscall.SIGHUP) == 0 || caught&sigBit(syscall.SIGHUP) != 0) {
		t.Errorf("SIGHUP is not ignored any more (ignored %#x, caught %#x)", ign, caught)
	}
	// An ignored signal is discarded when it is sent: the SIGTERM is the
	// only signal the client receives.
	c.cmd.Process.Signal(syscall.SIGHUP)
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Errorf("exit %d\n%s", code, c.stderr)
	}
	if n := strings.Count(c.stderr.String(), "signal received"); n != 1 {
		t.Errorf("%d signals received, want the SIGTERM only\n%s", n, c.stderr)
	}
	if exists(srv, id) {
		t.Errorf("monitor not deleted after SIGTERM\n%s", c.stderr)
	}
}

// defaultSIGHUP makes the clients started during t begin with SIGHUP at
// its default disposition. A test process started under nohup ignores
// SIGHUP, and exec passes an ignored signal on; a caught one is reset to
// the default. So the test process catches SIGHUP while t runs.
func defaultSIGHUP(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(ch) })
}

// waitingForEvents waits until c has created its monitor on srv and says
// it waits for events, and returns the monitor's id.
func waitingForEvents(t *testing.T, srv *streamtest.Server, c *client) uint32 {
	t.Helper()
	var id uint32
	eventually(t, "the monitor is created", func() bool {
		for _, m := range srv.Monitors() {
			id = m.ID
		}
		return id != 0
	})
	eventually(t, "the client waits for events", func() bool {
		return strings.Contains(c.stderr.String(), fmt.Sprintf("waiting for events on monitor %d …", id))
	})
	return id
}

// signalMasks returns the signals process pid ignores and catches, as the
// bit masks of /proc/<pid>/status; ok is false where there is no such file
// (not Linux).
func signalMasks(pid int) (ignored, caught uint64, ok bool) {
	if runtime.GOOS != "linux" {
		return 0, 0, false
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	var gotIgn, gotCgt bool
	for line := range strings.Lines(string(status)) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		v, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		switch {
		case err != nil:
		case name == "SigIgn":
			ignored, gotIgn = v, true
		case name == "SigCgt":
			caught, gotCgt = v, true
		}
	}
	return ignored, caught, gotIgn && gotCgt
}

// sigBit is the bit of sig in a /proc signal mask.
func sigBit(sig syscall.Signal) uint64 { return 1 << (uint(sig) - 1) }
