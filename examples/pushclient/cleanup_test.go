package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// ownMonitor waits until exactly one monitor on srv carries the
// description of a monitor pushclient creates, and a client is connected
// to it, and returns its id.
// It fails at once when c (if not nil) logs an error.
func ownMonitor(t *testing.T, srv *streamtest.Server, c *client, skip ...uint32) uint32 {
	t.Helper()
	var id uint32
	eventually(t, "pushclient created its monitor and connected", func() bool {
		if c != nil && strings.Contains(c.stderr.String(), "level=ERROR") {
			t.Fatalf("the client failed:\n%s", c.stderr)
		}
		for _, m := range srv.Monitors() {
			if strings.HasPrefix(m.Spec.Description, descTemporary+": run ") && srv.Connected(m.ID) && !contains(skip, m.ID) {
				id = m.ID
				return true
			}
		}
		return false
	})
	return id
}

func contains(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func exists(srv *streamtest.Server, id uint32) bool {
	_, ok := srv.MonitorInfo(id)
	return ok
}

// TestForeignMonitorSurvives: at start-up the client deletes only a
// leftover of its own on the same topics; another service's monitor, a
// kept one and one on other topics survive its whole run, and the ones it
// leaves alone are named on stderr.
func TestForeignMonitorSurvives(t *testing.T) {
	srv := simulator(t)
	ended := endedPid(t)
	topics := []string{"DeviceCore", "DataPoint"}
	foreign := srv.CreateMonitor(streamtest.MonitorSpec{Topics: topics, Persistent: true, Description: "production-billing-service"})
	srv.Publish(streamtest.Event{Topic: "DataPoint/dev/t", Body: map[string]any{"v": 1}}) // recorded for the billing service
	leftover := srv.CreateMonitor(streamtest.MonitorSpec{Topics: topics, Description: fmt.Sprintf("%s: run 0123456789ab, host %s, pid %d", descTemporary, runHost(), ended)})
	kept := srv.CreateMonitor(streamtest.MonitorSpec{Topics: topics, Description: descKept + ": run 0123456789ab, pid 1"})
	other := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Description: descTemporary + ": run ba9876543210, pid 2"})
	// Another service's description that merely starts with the same words.
	lookalike := srv.CreateMonitor(streamtest.MonitorSpec{Topics: topics, Description: descTemporary + " feed of the billing team"})

	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-t", "DataPoint,DeviceCore", "alice", "s3cr3t-sentinel")
	id := ownMonitor(t, srv, c)
	if exists(srv, leftover) {
		t.Error("the leftover of an earlier run was not deleted")
	}
	for _, m := range []uint32{foreign, kept, other, lookalike} {
		if !exists(srv, m) {
			t.Errorf("monitor %d deleted at start-up", m)
		}
	}
	if info, _ := srv.MonitorInfo(foreign); info.Stats.Queued != 1 {
		t.Errorf("the foreign monitor's recorded events: %+v", info.Stats)
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	if code := c.wait(t); code != 0 {
		t.Errorf("Ctrl-C: exit %d\n%s", code, c.stderr)
	}
	if exists(srv, id) {
		t.Error("own monitor not deleted after Ctrl-C")
	}
	for _, m := range []uint32{foreign, kept, other} {
		if !exists(srv, m) {
			t.Errorf("monitor %d deleted", m)
		}
	}
	errText := c.stderr.String()
	for _, want := range []string{
		fmt.Sprintf("monitor_id=%d description=production-billing-service topics=DeviceCore,DataPoint", foreign),
		fmt.Sprintf("an earlier pushclient run left behind\" monitor_id=%d", leftover),
	} {
		if !strings.Contains(errText, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errText)
		}
	}
}

// TestReplaceForeign: -replace-foreign deletes every monitor on the same
// topics and says which, with id, description and topics, on stderr.
func TestReplaceForeign(t *testing.T) {
	srv := simulator(t)
	foreign := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Persistent: true, Description: "production-billing-service"})
	other := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Description: "production-billing-service"})
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-replace-foreign", "-count", "1", "alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	if exists(srv, foreign) {
		t.Error("-replace-foreign: the monitor on the same topics survived")
	}
	if !exists(srv, other) {
		t.Error("-replace-foreign: a monitor on other topics was deleted")
	}
	publish(srv, 1)
	for c.stdout.Scan() {
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, c.stderr)
	}
	want := fmt.Sprintf(`level=WARN msg="deleting a monitor on the same topics (-replace-foreign)" monitor_id=%d description=production-billing-service topics=DeviceCore`, foreign)
	if !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr does not name the deleted monitor:\n%s", c.stderr)
	}
}

// TestSecondClientLeavesFirstAlone: a pushclient does not take a running
// pushclient's monitor for a leftover: a client is connected to it.
func TestSecondClientLeavesFirstAlone(t *testing.T) {
	srv := simulator(t)
	args := []string{"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel"}
	first := startClient(t, args...)
	id1 := ownMonitor(t, srv, first)
	second := startClient(t, args...)
	id2 := ownMonitor(t, srv, second, id1)
	if !exists(srv, id1) || !srv.Connected(id1) {
		t.Error("the second client deleted the first one's monitor")
	}
	for _, c := range []*client{first, second} {
		c.cmd.Process.Signal(syscall.SIGTERM)
		if code := c.wait(t); code != 0 {
			t.Errorf("SIGTERM: exit %d\n%s", code, c.stderr)
		}
	}
	if exists(srv, id1) || exists(srv, id2) {
		t.Error("monitors not deleted after SIGTERM")
	}
	if !strings.Contains(second.stderr.String(), fmt.Sprintf("another pushclient is connected to\" monitor_id=%d", id1)) {
		t.Errorf("second client's stderr:\n%s", second.stderr)
	}
}

// TestSIGPIPECleansUp: when the reader of stdout goes away (pushclient |
// head), the client deletes its monitor and exits 141 without an error.
func TestSIGPIPECleansUp(t *testing.T) {
	srv := simulator(t)
	r, c := startPiped(t, srv, "-output", "ndjson")
	cmd, stderr := c.cmd, c.stderr
	id := ownMonitor(t, srv, nil)
	publish(srv, 1)
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("first event: %v\n%s", err, stderr)
	}
	r.Close() // like head -1
	publish(srv, 3)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitOutputClosed {
		t.Fatalf("exit %v, want status %d\n%s", err, exitOutputClosed, stderr)
	}
	if exists(srv, id) {
		t.Errorf("monitor %d not deleted after the reader went away\n%s", id, stderr)
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Errorf("an error on stderr:\n%s", stderr)
	}
}

// TestSignalDuringCreate: a signal while the create request is under way
// does not abandon the monitor the server creates: the client waits for
// the answer and deletes it.
func TestSignalDuringCreate(t *testing.T) {
	srv := simulator(t)
	var cl atomic.Pointer[client]
	var posted, signalled atomic.Bool
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !posted.Swap(true) && waitUntil(r.Context(), func() bool { return cl.Load() != nil }) {
			// The request has reached the server: signal the client and
			// let it take the signal before the monitor is created.
			c := cl.Load()
			c.cmd.Process.Signal(syscall.SIGTERM)
			signalled.Store(waitUntil(r.Context(), func() bool { return strings.Contains(c.stderr.String(), "signal received") }))
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer rest.Close()
	c := start(t, []string{"RM_USERNAME=alice", "RM_PASSWORD=s3cr3t-sentinel"}, "-api-url", rest.URL, "-insecure", "-push-addr", srv.PushAddr(), "-topics", "DataPoint")
	cl.Store(c)
	for c.stdout.Scan() {
	}
	if code := c.wait(t); code != 0 {
		t.Errorf("exit %d\n%s", code, c.stderr)
	}
	if !posted.Load() || !signalled.Load() {
		t.Fatalf("the signal did not arrive during the create\n%s", c.stderr)
	}
	if len(srv.Monitors()) != 0 || !strings.Contains(c.stderr.String(), "monitor deleted") {
		t.Errorf("monitors left: %v\n%s", srv.Monitors(), c.stderr)
	}
}

// waitUntil polls cond until it holds (true) or ctx ends (false).
func waitUntil(ctx context.Context, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, hangTimeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// TestCreateTimeoutCleansUp: a create whose answer never comes may still
// have created the monitor; the client finds it by its run's description
// and deletes it.
func TestCreateTimeoutCleansUp(t *testing.T) {
	srv := simulator(t)
	var posted atomic.Bool
	rest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !posted.Swap(true) {
			srv.Handler().ServeHTTP(httptest.NewRecorder(), r) // created, answer lost
			<-r.Context().Done()
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer rest.Close()
	c := startClient(t, "-api-url", rest.URL, "-insecure", "-push-addr", srv.PushAddr(), "-rest-timeout", "3s", "alice", "s3cr3t-sentinel")
	for c.stdout.Scan() {
	}
	if code := c.wait(t); code != 1 {
		t.Errorf("exit %d\n%s", code, c.stderr)
	}
	if !posted.Load() || len(srv.Monitors()) != 0 || !strings.Contains(c.stderr.String(), "deleted the monitor a failed create had made") ||
		!strings.Contains(c.stderr.String(), "(no answer within -rest-timeout)") {
		t.Errorf("monitors left: %v\n%s", srv.Monitors(), c.stderr)
	}
}

// TestOutputClosedWhileIdle: when the reader of stdout goes away while no
// event comes (pushclient | head on a quiet monitor), the client notices
// without waiting for an event, deletes its monitor and exits 141.
func TestOutputClosedWhileIdle(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a closed stdout is watched for on Linux only")
	}
	srv := simulator(t)
	r, c := startPiped(t, srv)
	cmd, stderr := c.cmd, c.stderr
	id := ownMonitor(t, srv, nil)
	eventually(t, "the client waits for events", func() bool {
		return strings.Contains(stderr.String(), fmt.Sprintf("waiting for events on monitor %d …", id))
	})
	r.Close() // the reader goes away; no event is ever published
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitOutputClosed {
		t.Fatalf("exit %v, want status %d\n%s", err, exitOutputClosed, stderr)
	}
	if exists(srv, id) {
		t.Errorf("monitor %d not deleted after the reader went away\n%s", id, stderr)
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Errorf("an error on stderr:\n%s", stderr)
	}
}

// TestSecondClientLeavesHTTPClientAlone: the monitor of a running
// pushclient -transport http shows no connected client (Remote Manager
// pushes to it); another pushclient on the same topics must not take it
// for a leftover, which would leave the first one waiting forever.
func TestSecondClientLeavesHTTPClientAlone(t *testing.T) {
	srv := simulator(t)
	addr := freeAddr(t)
	first := startClient(t, "-api-url", srv.URL(), "-insecure", "-transport", "http", "-listen", addr,
		"-public-url", "http://"+addr+"/hook", "alice", "s3cr3t-sentinel")
	var id1 uint32
	eventually(t, "the first client waits for events", func() bool {
		for _, m := range srv.Monitors() {
			id1 = m.ID
		}
		return id1 != 0 && strings.Contains(first.stderr.String(), fmt.Sprintf("waiting for events on monitor %d …", id1))
	})
	second := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel")
	id2 := ownMonitor(t, srv, second, id1)
	if !exists(srv, id1) {
		t.Errorf("the second client deleted the running http client's monitor\n%s", second.stderr)
	}
	for _, c := range []*client{first, second} {
		c.cmd.Process.Signal(syscall.SIGTERM)
		if code := c.wait(t); code != 0 {
			t.Errorf("SIGTERM: exit %d\n%s", code, c.stderr)
		}
	}
	if exists(srv, id1) || exists(srv, id2) {
		t.Error("monitors not deleted after SIGTERM")
	}
}

// TestHTTPLeftoverDeletedOnlyWhenItsRunEnded: an http monitor pushclient
// created is a leftover only when its description names this host and a
// process that has ended; one from another host is left alone and named.
func TestHTTPLeftoverDeletedOnlyWhenItsRunEnded(t *testing.T) {
	srv := simulator(t)
	ended := endedPid(t)
	hook := func(desc string) uint32 {
		return srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Transport: "http",
			TransportURL: "http://127.0.0.1:1/hook", Description: desc})
	}
	dead := hook(fmt.Sprintf("%s: run 0123456789ab, host %s, pid %d", descTemporary, runHost(), ended))
	remote := hook(descTemporary + ": run 0123456789ab, host elsewhere.example, pid 1")
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	if exists(srv, dead) {
		t.Errorf("the http monitor of an ended run on this host survived\n%s", c.stderr)
	}
	if !exists(srv, remote) {
		t.Errorf("the http monitor of a run on another host was deleted\n%s", c.stderr)
	}
	if want := fmt.Sprintf("may be receiving (if its run has ended, delete it with 'pushclient monitors delete ID')\" monitor_id=%d", remote); !strings.Contains(c.stderr.String(), want) {
		t.Errorf("stderr does not name the monitor left alone:\n%s", c.stderr)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Errorf("SIGTERM: exit %d\n%s", code, c.stderr)
	}
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		desc string
		host string
		pid  int
		ok   bool
	}{
		{descTemporary + ": run 0123456789ab, host build-7, pid 4242", "build-7", 4242, true},
		{descTemporary + ": run 0123456789ab, pid 17", "", 17, true},
		{descTemporary + ": run 0123456789ab, host a, pid x", "", 0, false},
		{descTemporary + " from elsewhere", "", 0, false},
		{"pushclient", "", 0, false},
	} {
		host, pid, ok := origin(tc.desc)
		if host != tc.host || pid != tc.pid || ok != tc.ok {
			t.Errorf("origin(%q) = %q, %d, %v; want %q, %d, %v", tc.desc, host, pid, ok, tc.host, tc.pid, tc.ok)
		}
	}
}

// endedPid returns the id of a process that has ended.
func endedPid(t *testing.T) int {
	t.Helper()
	ended := exec.Command("true")
	if err := ended.Run(); err != nil {
		t.Skip("no process to end:", err)
	}
	return ended.Process.Pid
}

// TestTCPMonitorOfARunningClientSurvives: a tcp monitor no client is
// connected to is not taken for a leftover while its run may still be
// going: its process runs on this host (reconnecting, or not connected
// yet), or it comes from another host, or from this host name in another
// PID namespace. Only the one whose process has ended here is deleted.
func TestTCPMonitorOfARunningClientSurvives(t *testing.T) {
	srv := simulator(t)
	ended := endedPid(t)
	desc := func(host string, pid int) string {
		return fmt.Sprintf("%s: run 0123456789ab, host %s, pid %d", descTemporary, host, pid)
	}
	mon := func(d string) uint32 {
		return srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Description: d})
	}
	running := mon(desc(runHost(), os.Getpid())) // this test's process: it runs
	remote := mon(desc("elsewhere.example", 1))
	otherNS := mon(desc(hostName()+" pidns 1", ended))
	dead := mon(desc(runHost(), ended))
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	for _, m := range []uint32{running, remote, otherNS} {
		if !exists(srv, m) {
			t.Errorf("monitor %d deleted at start-up\n%s", m, c.stderr)
		}
	}
	if exists(srv, dead) {
		t.Errorf("the leftover of an ended run on this host survived\n%s", c.stderr)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Errorf("SIGTERM: exit %d\n%s", code, c.stderr)
	}
}

// TestReplaceForeignWithABadSpecDeletesNothing: a run whose monitor
// cannot be created (-transport http with a -public-url that is not an
// http URL) fails before it deletes anything, -replace-foreign or not.
func TestReplaceForeignWithABadSpecDeletesNothing(t *testing.T) {
	srv := simulator(t)
	foreign := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Description: "production-billing-service"})
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-replace-foreign",
		"-transport", "http", "-public-url", "ftp://hooks.example.com/rm", "alice", "s3cr3t-sentinel")
	if code := c.wait(t); code == 0 {
		t.Errorf("exit 0\n%s", c.stderr)
	}
	if !exists(srv, foreign) {
		t.Errorf("the foreign monitor was deleted by a run that could not create its own\n%s", c.stderr)
	}
}

// TestLeftoverOfAnotherMachineWithThisHostNameSurvives: host names repeat
// across machines ("raspberrypi", "ubuntu", "localhost"), and the initial
// PID namespace has the same number on every Linux host, so a host name
// and a PID namespace do not tell this machine from another. A monitor
// whose description does not name this machine — another machine's,
// whose process id means nothing here — is left alone, however it names
// the host; the leftover of an ended run on this machine is deleted.
func TestLeftoverOfAnotherMachineWithThisHostNameSurvives(t *testing.T) {
	if machineTag() == "" {
		t.Skip("this system has no machine id to tell machines apart")
	}
	srv := simulator(t)
	ended := endedPid(t)
	desc := func(host string) string {
		return fmt.Sprintf("%s: run 0123456789ab, host %s, pid %d", descTemporary, host, ended)
	}
	var others []uint32
	for _, host := range []string{
		hostName() + " pidns " + pidNamespace(),                           // as written before machines were named
		hostName() + " pidns " + pidNamespace() + " machine 0123456789ab", // another machine
	} {
		for _, transport := range []string{"tcp", "http"} {
			spec := streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Transport: transport, Description: desc(host)}
			if transport == "http" {
				spec.TransportURL = "http://127.0.0.1:1/hook"
			}
			others = append(others, srv.CreateMonitor(spec))
		}
	}
	dead := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DeviceCore"}, Description: desc(runHost())})
	c := startClient(t, "-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "alice", "s3cr3t-sentinel")
	ownMonitor(t, srv, c)
	for _, m := range others {
		if !exists(srv, m) {
			info, _ := srv.MonitorInfo(m)
			t.Errorf("monitor %d (%q) of another machine deleted at start-up\n%s", m, info.Spec.Description, c.stderr)
		}
	}
	if exists(srv, dead) {
		t.Errorf("the leftover of an ended run on this machine survived\n%s", c.stderr)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Errorf("SIGTERM: exit %d\n%s", code, c.stderr)
	}
}

// startPiped starts the client binary against srv, with args before the
// credentials and its stdout into a pipe, whose read end it returns
// (closed when the test ends; the test may close it sooner, or never read
// it), and its stderr captured.
func startPiped(t *testing.T, srv *streamtest.Server, args ...string) (*os.File, *client) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	t.Cleanup(cancel)
	args = append([]string{"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr()}, args...)
	cmd := exec.CommandContext(ctx, binary, append(args, "alice", "s3cr3t-sentinel")...)
	cmd.Env = append(os.Environ(), "RM_USERNAME=", "RM_PASSWORD=")
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = w, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return r, &client{cmd: cmd, stderr: stderr}
}
