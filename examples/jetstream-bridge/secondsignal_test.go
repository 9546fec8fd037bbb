package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stallProxy forwards TCP connections to target; while stalled it
// forwards nothing, either way, as a network that silently stopped
// carrying packets (nothing is lost: it goes on once resumed).
type stallProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	gate  chan struct{} // non-nil while stalled; closed by resume
	conns []net.Conn
	done  bool
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.done {
			p.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(s, c) })
		p.wg.Go(func() { p.pipe(c, s) })
	}
}

// pipe copies src to dst, holding what it read while stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			if gate != nil {
				<-gate
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

func (p *stallProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

func (p *stallProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.done = true
	conns := p.conns
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	p.resume()
	p.wg.Wait()
}

// A second SIGTERM while the drain waits for PubAcks that do not come
// stops the process at once, with exit status 143 (128+SIGTERM), saying
// so on stderr — not after -drain-timeout (an hour here, longer than the
// test waits). Before, the second signal was ignored until the drain
// timed out.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	w := newWorld(t)
	proxy := startStallProxy(t, strings.TrimPrefix(w.ns.ClientURL(), "nats://"))
	// Port 0, read back from the log: a port found free beforehand
	// (freePort) may be taken by another process before the bridge binds
	// it.
	args := w.args("-ack-timeout", "1h", "-drain-timeout", "1h", "-http-addr", "127.0.0.1:0", "-progress", "0")
	for i, a := range args {
		if a == "-nats" {
			args[i+1] = "nats://" + proxy.addr()
		}
	}
	cmd, logs, exited := startProcess(t, args)
	httpAddr := waitLog(t, logs, `http_addr=(\S+)`)

	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := w.sim.WaitConnected(ctx, w.monitor); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs)
	}
	// NATS stops answering: what the bridge publishes now waits for its
	// PubAcks (-ack-timeout, an hour).
	proxy.stall()
	w.publish(0, 100)
	inflight := fmt.Sprintf("pushmon_bridge_monitor_inflight_events{monitor_id=%q}", fmt.Sprint(w.monitor))
	for {
		if _, m := get(t, "http://"+httpAddr+"/metrics"); metric(m, inflight) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing in flight; logs:\n%s", logs)
		case <-time.After(10 * time.Millisecond):
		}
	}

	// The first signal starts the drain, which waits for those PubAcks.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(logs.String(), "signal received: finishing in-flight blocks") {
		select {
		case err := <-exited:
			t.Fatalf("exited on the first signal (%v), while events were in flight; logs:\n%s", err, logs)
		case <-ctx.Done():
			t.Fatalf("the first signal started no drain; logs:\n%s", logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The second stops it.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGTERM) {
			t.Fatalf("exit %v, want status %d; logs:\n%s", err, 128+int(syscall.SIGTERM), logs)
		}
	case <-ctx.Done():
		t.Fatalf("no exit after the second signal; logs:\n%s", logs)
	}
	for _, want := range []string{"second signal received: stopping now", "drain cut short by a second signal",
		"stopped at once by a second signal", "exit_status=143"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs.String(), testPassword) {
		t.Errorf("the password is in the logs")
	}
	// Nothing un-stored was acknowledged: the stalled events are replayed.
	proxy.resume()
	if st := w.sim.Stats(w.monitor); st.EventsAcked > w.streamMsgs(t) {
		t.Errorf("%d events acked, %d stored", st.EventsAcked, w.streamMsgs(t))
	}
}

// A cause without a signal (not main's) still gives a non-zero status.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		cause error
		want  int
	}{
		{secondSignal{syscall.SIGTERM}, 143},
		{secondSignal{os.Interrupt}, 130},
		{fmt.Errorf("wrapped: %w", secondSignal{syscall.SIGINT}), 130},
		{context.Canceled, 1},
	} {
		if got := exitStatus(tc.cause); got != tc.want {
			t.Errorf("exitStatus(%v) = %d, want %d", tc.cause, got, tc.want)
		}
	}
}
