//go:build unix

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestTerminalHangupCleansUp: a terminal that closes sends its foreground
// job SIGHUP twice — the shell passes on the one it got, then the kernel
// sends one to the foreground process group as the shell exits. The
// second is no operator's "quit at once": the client still deletes its
// monitor and exits 0. (The second SIGHUP killed it in the middle of its
// clean-up, its monitor left behind.)
func TestTerminalHangupCleansUp(t *testing.T) {
	defaultSIGHUP(t)
	srv := simulator(t)
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var cl atomic.Pointer[client]
	var deletes atomic.Int32
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := cl.Load(); r.Method == http.MethodDelete && c != nil && deletes.Add(1) == 1 {
			// The clean-up of the first SIGHUP is under way: the second
			// comes now, and is taken before the delete is answered.
			pid := c.cmd.Process.Pid
			c.cmd.Process.Signal(syscall.SIGHUP)
			deadline := time.After(hangTimeout) // not t.Fatal: this is the handler's goroutine
			for signalPending(pid, syscall.SIGHUP) {
				select {
				case <-deadline:
					t.Error("the second SIGHUP stays pending")
				case <-time.After(10 * time.Millisecond):
					continue
				}
				break
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer rest.Close()
	c := startClient(t, "-api-url", rest.URL, "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel")
	id := waitingForEvents(t, srv, c)
	cl.Store(c)
	c.cmd.Process.Signal(syscall.SIGHUP)
	if code := c.wait(t); code != 0 {
		t.Errorf("exit %d after two SIGHUPs\n%s", code, c.stderr)
	}
	if exists(srv, id) || !strings.Contains(c.stderr.String(), "monitor deleted") {
		t.Errorf("monitor %d not deleted after two SIGHUPs\n%s", id, c.stderr)
	}
}

// signalPending reports whether sig is pending for process pid (its
// shared pending set, where a signal sent to the process waits). Where
// that cannot be read (not Linux, a process reaped), it reports false.
func signalPending(pid int, sig syscall.Signal) bool {
	if runtime.GOOS != "linux" {
		return false
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(status)) {
		if value, ok := strings.CutPrefix(line, "ShdPnd:"); ok {
			v, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
			return err == nil && v&sigBit(sig) != 0
		}
	}
	return false
}
