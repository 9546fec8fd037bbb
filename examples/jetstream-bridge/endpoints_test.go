package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// waitLog waits until the log matches re and returns the first submatch
// (or the whole match).
func waitLog(t *testing.T, logs *syncBuffer, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(hangTimeout)
	for {
		if m := rx.FindStringSubmatch(logs.String()); m != nil {
			return m[len(m)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log never matched %q:\n%s", re, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get returns the status and body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// freePort returns a loopback port nobody listens on (just now).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runAsync runs the command on a goroutine; the test's cleanup stops it.
func runAsync(t *testing.T, args []string, logs *syncBuffer) *asyncRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &asyncRun{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.code = run(ctx, args, env("RM_USERNAME", testUser, "RM_PASSWORD", testPassword), logs, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(hangTimeout):
			t.Errorf("run did not return; logs:\n%s", logs)
		}
	})
	return r
}

type asyncRun struct {
	stop context.CancelFunc // a signal
	done chan struct{}
	code int // once done is closed
}

// exit sends the signal and returns the exit status.
func (r *asyncRun) exit(t *testing.T, logs *syncBuffer) int {
	t.Helper()
	r.stop()
	select {
	case <-r.done:
		return r.code
	case <-time.After(hangTimeout):
		t.Fatalf("no exit after the signal; logs:\n%s", logs)
		return -1
	}
}

// metric returns the value of the sample named exactly name (with its
// labels) in a Prometheus text exposition, or -1.
func metric(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// NATS not up yet at start: the bridge retries with backoff, /healthz
// answers and /readyz says 503; once NATS is up it becomes ready, bridges,
// serves its metrics, logs its progress, and a signal stops it with exit
// status 0.
func TestStartsWhenNATSComesUpWithEndpoints(t *testing.T) {
	sim, err := streamtest.Start(streamtest.Options{Users: map[string]string{testUser: testPassword}, HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mon := sim.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 20, BatchDuration: -1,
		AckExplicit: true, Persistent: true})
	port := freePort(t)
	logs := &syncBuffer{}
	r := runAsync(t, []string{"-nats", fmt.Sprintf("nats://127.0.0.1:%d", port), "-push-addr", sim.PushAddr(), "-plaintext",
		"-monitors", fmt.Sprint(mon), "-stream", "T", "-dup-window", "10m", "-http-addr", "127.0.0.1:0", "-progress", "100ms"}, logs)

	base := "http://" + waitLog(t, logs, `http_addr=(\S+)`)
	waitLog(t, logs, `connecting to NATS failed; retrying`)
	if st, _ := get(t, base+"/healthz"); st != http.StatusOK {
		t.Errorf("/healthz before NATS: %d", st)
	}
	if st, _ := get(t, base+"/readyz"); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz before NATS: %d, want 503", st)
	}

	startNATS(t, &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	w := &world{sim: sim, monitor: mon}
	w.publish(0, 100)
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	if st, body := get(t, base+"/readyz"); st != http.StatusOK {
		t.Errorf("/readyz once bridging: %d %s", st, body)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		"pushmon_bridge_events_stored_total 100",
		"pushmon_bridge_owned_monitors 1",
		fmt.Sprintf(`pushmon_bridge_monitor_state{monitor_id="%d",state="streaming"} 1`, mon),
		fmt.Sprintf(`pushmon_bridge_monitor_state{monitor_id="%d",state="retrying"} 0`, mon),
		fmt.Sprintf(`pushmon_bridge_monitor_inflight_events{monitor_id="%d"} 0`, mon),
		fmt.Sprintf(`pushmon_bridge_monitor_last_ack_timestamp_seconds{monitor_id="%d"}`, mon),
		"pushmon_bridge_nats_connected 1",
		"pushmon_bridge_ready 1",
		"pushmon_bridge_duplicates_total 0",
		fmt.Sprintf(`pushmon_bridge_push_connected{monitor_id="%d"} 1`, mon),
		fmt.Sprintf(`pushmon_bridge_push_events_total{monitor_id="%d"} 100`, mon),
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// One latency observation per acked batch of one or more blocks.
	if acked, n := metric(metrics, "pushmon_bridge_blocks_acked_total"), metric(metrics, "pushmon_bridge_store_latency_seconds_count"); acked < 5 || n < 1 || n > acked {
		t.Errorf("%v blocks acked, %v store latencies observed", acked, n)
	}
	waitLog(t, logs, `msg=progress .*stored=100 `)
	if c := r.exit(t, logs); c != 0 {
		t.Errorf("exit %d after the signal; logs:\n%s", c, logs)
	}
	if strings.Contains(logs.String(), testPassword) || strings.Contains(metrics, testPassword) {
		t.Error("the password is in the logs or the metrics")
	}
	// The server is closed with the command.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("/healthz still answers after the exit")
	}
}

// A signal while NATS is still unreachable: exit status 0, nothing hangs.
func TestSignalWhileWaitingForNATS(t *testing.T) {
	logs := &syncBuffer{}
	r := runAsync(t, []string{"-nats", fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), "-monitors", "1"}, logs)
	waitLog(t, logs, `connecting to NATS failed; retrying`)
	if c := r.exit(t, logs); c != 0 || !strings.Contains(logs.String(), "signal received before the bridge started") {
		t.Errorf("exit %d; logs:\n%s", c, logs)
	}
}

// Two processes with -ha share one monitor: exactly one connects it at a
// time, every event is stored once, and each says in /metrics whether it
// owns it.
//
// The lease TTL is no speed budget but it decides what the checks see: a
// replica whose renewals fall TTL/2 behind fences its session (no push
// session open, a correct reaction), so a short TTL (it was 1 s: fencing
// after 500 ms) fails the "1 session open" check on a machine starved of
// CPU. 20 s (not the 10 s default, so that the bucket's TTL shows the flag
// was applied) is far beyond any starvation, and no lease has to expire
// here: the second replica finds the monitor taken and waits.
func TestHAReplicasShareTheMonitor(t *testing.T) {
	const leaseTTL = 20 * time.Second
	w := newWorld(t)
	logs := [2]*syncBuffer{{}, {}}
	var bases [2]string
	for i := range logs {
		runAsync(t, w.args("-ha", "-lease-ttl", leaseTTL.String(), "-lease-bucket", "leases", "-replica-name", fmt.Sprintf("r%d", i),
			"-http-addr", "127.0.0.1:0"), logs[i])
		bases[i] = "http://" + waitLog(t, logs[i], `http_addr=(\S+)`)
		waitLog(t, logs[i], `msg="bridging as a replica" replica=r`+fmt.Sprint(i))
	}
	w.publish(0, 300)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := w.sim.WaitIdle(ctx, w.monitor); err != nil {
		t.Fatalf("%v; logs:\n%s\n%s", err, logs[0], logs[1])
	}
	owners := 0
	for _, base := range bases {
		_, m := get(t, base+"/metrics")
		if strings.Contains(m, "pushmon_bridge_owned_monitors 1") {
			owners++
		}
	}
	if owners != 1 {
		t.Errorf("%d replicas say they own the monitor", owners)
	}
	if open, peak := w.sim.PushSessions(w.monitor); open != 1 || peak != 1 {
		t.Errorf("%d push sessions open, at most %d at once; want 1 and 1", open, peak)
	}
	if n := w.streamMsgs(t); n != 300 {
		t.Errorf("the stream holds %d messages, want 300", n)
	}
	kv, err := w.js.KeyValue(ctx, "leases")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != leaseTTL {
		t.Errorf("lease bucket: %v, %v", st, err)
	}
}
