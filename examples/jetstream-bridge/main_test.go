package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestMain checks for leaks, or, as a helper process for the signal test,
// runs the command with the arguments in JSB_ARGS.
//
// One goroutine of nats.go (v1.55.0) itself is let through, as in the
// bridge package's tests, whose sessions these runs share: a publisher's
// CleanupPublisher that runs before the reconnect watcher started by its
// first PublishAsync has read its status channel leaves that watcher
// receiving from a nil channel for good — an upstream race that a session
// ending right after its first publish (a signal, a NATS drop) can meet.
func TestMain(m *testing.M) {
	if os.Getenv("JSB_HELPER") == "1" {
		os.Args = append([]string{"jetstream-bridge"}, strings.Fields(os.Getenv("JSB_ARGS"))...)
		main()
		return
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}

// hangTimeout bounds the tests' waits for what must happen. It is no
// speed budget: it only turns a hang into a failure, generous enough for
// a machine starved of CPU.
const hangTimeout = 3 * time.Minute

const (
	testUser     = "bridge"
	testPassword = "sentinel-S3cret-pw" // must never appear in any output
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestUsage(t *testing.T) {
	creds := env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword)
	cases := map[string][]string{
		"no monitors":      {},
		"bad monitor":      {"-monitors", "12,x"},
		"zero monitor":     {"-monitors", "0"},
		"huge monitor":     {"-monitors", "4294967296"},
		"storage":          {"-monitors", "1", "-storage", "disk"},
		"replicas":         {"-monitors", "1", "-replicas", "0"},
		"window":           {"-monitors", "1", "-dup-window", "0s"},
		"prefix":           {"-monitors", "1", "-subject-prefix", "rm.>"},
		"push addr":        {"-monitors", "1", "-push-addr", "nohost"},
		"log level":        {"-monitors", "1", "-log-level", "loud"},
		"positional":       {"-monitors", "1", "user", "pass"},
		"unknown flag":     {"-monitor", "1"},
		"negative pending": {"-monitors", "1", "-max-pending", "0"},
		"short lease ttl":  {"-monitors", "1", "-ha", "-lease-ttl", "100ms"},
		"replica name":     {"-monitors", "1", "-ha", "-replica-name", "a.b"},
		"stand-by after":   {"-monitors", "1", "-ha", "-stand-by-after", "1s"},
		"http addr":        {"-monitors", "1", "-http-addr", "nohost"},
		"progress":         {"-monitors", "1", "-progress", "-1s"},
	}
	for name, args := range cases {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, creds, &out, &errOut); code != 2 {
			t.Errorf("%s: exit %d, want 2; stderr:\n%s", name, code, errOut.String())
		}
		if strings.Contains(errOut.String(), testPassword) {
			t.Errorf("%s: the password is in the output", name)
		}
	}
	// A NATS URL the client cannot parse is bad usage, at once (it is not
	// retried for ever), and its password is not printed.
	for _, u := range []string{"nats://bridge:" + testPassword + " x@127.0.0.1:4222", "nats://bridge:" + testPassword + "%zz@n1:4222",
		"nats://n1:4222, nats://bridge:" + testPassword + "@n2:99999"} {
		for _, e := range []func(string) string{
			env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword, "NATS_URL", u),
			env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword),
		} {
			args := []string{"-monitors", "1"}
			if e("NATS_URL") == "" {
				args = append(args, "-nats", u)
			}
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
			code := run(ctx, args, e, &out, &errOut)
			cancel()
			if code != 2 || strings.Contains(errOut.String(), testPassword) || !strings.Contains(errOut.String(), "-nats") {
				t.Errorf("NATS URL %q: exit %d, want 2, and a message without the password:\n%s", u, code, errOut.String())
			}
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"-monitors", "1"}, env("RM_USERNAME", testUser), &errOut, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "RM_PASSWORD") {
		t.Errorf("without a password: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"-h"}, creds, &errOut, &errOut); code != 0 || !strings.Contains(errOut.String(), "-monitors") {
		t.Errorf("-h: exit %d, %s", code, errOut.String())
	}
}

// -demo runs the whole chain in-process and stops by itself at -count.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if code := run(ctx, []string{"-demo", "-count", "100"}, env(), &out, logs); code != 0 {
		t.Fatalf("exit %d; logs:\n%s", code, logs)
	}
	for _, want := range []string{"stream RM_EVENTS:", "Nats-Msg-Id: ", "Rm-Operation: ", "#"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(logs.String(), "count reached") || !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("logs:\n%s", logs)
	}
}

// world is an embedded NATS server and a simulator with one persistent,
// explicit-ack monitor, for the command's tests.
type world struct {
	ns      *server.Server
	sim     *streamtest.Server
	monitor uint32
	js      jetstream.JetStream
}

// startNATS starts a nats-server with opts (logs and signals off) and
// stops it when the test ends.
func startNATS(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.NoLog, opts.NoSigs = true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(hangTimeout) {
		t.Fatal("nats-server did not start")
	}
	return ns
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir()})
	sim, err := streamtest.Start(streamtest.Options{Users: map[string]string{testUser: testPassword}, HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	id := sim.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 20, BatchDuration: -1,
		AckExplicit: true, Persistent: true})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &world{ns: ns, sim: sim, monitor: id, js: js}
}

func (w *world) args(extra ...string) []string {
	return append([]string{"-nats", w.ns.ClientURL(), "-push-addr", w.sim.PushAddr(), "-plaintext",
		"-monitors", fmt.Sprint(w.monitor), "-stream", "T", "-dup-window", "10m"}, extra...)
}

func (w *world) publish(from, to int) {
	for i := from; i < to; i++ {
		w.sim.Publish(streamtest.Event{Topic: fmt.Sprintf("DataPoint/d/s%d", i%4), Operation: "INSERTION",
			Body: json.RawMessage(fmt.Sprintf(`{"id":"e%d","data":%d}`, i, i))})
	}
}

func (w *world) streamMsgs(t *testing.T) int {
	t.Helper()
	s, err := w.js.Stream(context.Background(), "T")
	if err != nil {
		return 0
	}
	return int(s.CachedInfo().State.Msgs)
}

// startProcess runs the bridge with args as a real process (this test
// binary as its helper), with the test credentials in its environment. It
// returns the process, its output and a channel that gets Wait's result;
// a process still running when the test ends is killed.
func startProcess(t *testing.T, args []string) (*exec.Cmd, *syncBuffer, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JSB_HELPER=1", "JSB_ARGS="+strings.Join(args, " "),
		"RM_USERNAME="+testUser, "RM_PASSWORD="+testPassword)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(waited)
		exited <- err
	}()
	t.Cleanup(func() {
		select {
		case <-waited:
		default:
			cmd.Process.Kill()
			<-waited
		}
	})
	return cmd, logs, exited
}

// SIGTERM to the real process: it stops taking blocks, stores and acks
// what is in flight, and exits 0; everything stored was acked.
func TestSIGTERMDrainsAndExits(t *testing.T) {
	w := newWorld(t)
	cmd, logs, exited := startProcess(t, w.args())

	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := w.sim.WaitConnected(ctx, w.monitor); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	w.publish(0, 3000)
	for w.streamMsgs(t) < 500 {
		if ctx.Err() != nil {
			t.Fatalf("nothing stored; logs:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v; logs:\n%s", err, logs)
		}
	case <-ctx.Done():
		t.Fatalf("no exit after SIGTERM; logs:\n%s", logs)
	}
	stored := w.streamMsgs(t)
	st := w.sim.Stats(w.monitor)
	if st.EventsAcked != stored {
		t.Errorf("%d events stored, %d acked: a graceful stop acks exactly what it stored", stored, st.EventsAcked)
	}
	if !strings.Contains(logs.String(), "signal received") || strings.Contains(logs.String(), testPassword) {
		t.Errorf("logs (must tell of the signal and hold no password):\n%s", logs)
	}
	t.Logf("%d events stored and acked before the exit", stored)
}

// The command refuses a stream that does not fit unless told to update
// it, and a missing one with -create-stream=false.
func TestStreamChecks(t *testing.T) {
	w := newWorld(t)
	creds := env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword)
	logs := &syncBuffer{}
	if code := run(context.Background(), w.args("-create-stream=false"), creds, logs, logs); code != 1 || !strings.Contains(logs.String(), "stream not found") {
		t.Errorf("missing stream with -create-stream=false: exit %d\n%s", code, logs)
	}
	if _, err := w.js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "T", Subjects: []string{"rm.>"}, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	if code := run(context.Background(), w.args(), creds, logs, logs); code != 1 || !strings.Contains(logs.String(), "duplicate window") {
		t.Errorf("short window: exit %d\n%s", code, logs)
	}

	// With -update-stream it is fixed, and the bridge runs until the count.
	w.publish(0, 50)
	logs = &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if code := run(ctx, w.args("-update-stream", "-count", "50"), creds, logs, logs); code != 0 {
		t.Fatalf("with -update-stream: exit %d\n%s", code, logs)
	}
	s, err := w.js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CachedInfo(); c.Config.Duplicates != 10*time.Minute || c.State.Msgs != 50 {
		t.Errorf("after the run: window %v, %d messages", c.Config.Duplicates, c.State.Msgs)
	}
}

// Wrong Remote Manager credentials: exit 1, the password nowhere.
func TestWrongPasswordExits1(t *testing.T) {
	w := newWorld(t)
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	code := run(ctx, w.args(), env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword+"x"), logs, logs)
	if code != 1 || !strings.Contains(logs.String(), "403") || strings.Contains(logs.String(), testPassword) {
		t.Errorf("exit %d; logs:\n%s", code, logs)
	}
}

// A bridge that stops by itself (every monitor refused) while -count is
// watched: the watcher has ended when run returns, not polling the closed
// connection.
func TestCountWatcherEndsWithRun(t *testing.T) {
	w := newWorld(t)
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	code := run(ctx, w.args("-count", "1000"), env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword+"x"), logs, logs)
	if code != 1 {
		t.Fatalf("exit %d; logs:\n%s", code, logs)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "watchCount") {
		t.Errorf("the -count watcher still runs after run returned:\n%s", stacks)
	}
}

func TestCheckNATSURLs(t *testing.T) {
	for _, good := range []string{nats.DefaultURL, "nats://n1:4222,nats://n2:4222, nats://n3:4222", "n1", "localhost:4222",
		"tls://user:p%40ss%20w@host:4443", "ws://host:8080", "nats://[::1]:4222", "nats://token@host"} {
		if err := checkNATSURLs(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{" , ", "nats://", "nats://host:0", "nats://u:p w@host", "nats://host:port"} {
		if err := checkNATSURLs(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
