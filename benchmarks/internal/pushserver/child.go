// Package pushserver is the server side of the benchmarks: a push server
// that streams pre-built frames on loopback (plain and TLS) and counts the
// acks it gets back, and a wrapper of the simulator (stream/streamtest) for
// the idle-session measurement. Both run in a child process, so that the
// client's CPU time and memory are measured alone: the benchmark binary
// re-executes itself (os.Executable) with an environment variable naming
// the role, and its main or TestMain calls MaybeRunChild first.
//
// The parent talks to the child over pipes: the child writes one JSON line
// (Hello) when it listens, then one JSON line per finished connection
// (Report) or per command (sim role; the push role's one command is
// "prepare", see Child.Prepare); it exits when its stdin closes.
package pushserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushmon/pushmon/internal/certs"
)

// envVar carries the ChildSpec of a child process.
const envVar = "PUSHMON_BENCH_CHILD"

// Roles of a child process.
const (
	RolePush = "push" // stream frame sets (see Dataset)
	RoleSim  = "sim"  // a streamtest.Server with Sessions monitors
)

// ChildSpec says what a child process serves.
type ChildSpec struct {
	Role     string `json:"role"`
	Sessions int    `json:"sessions,omitempty"` // sim: monitors to create
	Zlib     bool   `json:"zlib,omitempty"`     // sim: compress blocks
}

// Hello is the child's first line: where it listens and how to trust it.
type Hello struct {
	TCP          string `json:"tcp"`
	TLS          string `json:"tls"`
	CA           []byte `json:"ca"` // PEM
	FirstMonitor uint32 `json:"first_monitor,omitempty"`
	Err          string `json:"err,omitempty"`
}

// MaybeRunChild runs the child role named by the environment and exits the
// process, or returns at once in the parent. Call it first in main and in
// TestMain.
func MaybeRunChild() {
	spec := os.Getenv(envVar)
	if spec == "" {
		return
	}
	var cs ChildSpec
	err := json.Unmarshal([]byte(spec), &cs)
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	emit := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		out.Encode(v)
	}
	if err == nil {
		switch cs.Role {
		case RolePush:
			err = runPush(emit)
		case RoleSim:
			err = runSim(cs, emit, os.Stdin)
		default:
			err = fmt.Errorf("unknown role %q", cs.Role)
		}
	}
	if err != nil {
		emit(Hello{Err: err.Error()})
		os.Exit(1)
	}
	os.Exit(0)
}

// runPush serves frame sets on a plain and a TLS listener until stdin
// closes.
func runPush(emit func(any)) error {
	ca, err := certs.NewCA("pushmon benchmark CA")
	if err != nil {
		return err
	}
	leaf, err := ca.Leaf([]string{"127.0.0.1", "localhost"}, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s := &server{sets: make(map[Dataset]*FrameSet), out: func(r Report) { emit(r) }}
	s.wg.Add(2)
	go s.accept(plain, nil)
	go s.accept(secure, cfg)
	emit(Hello{TCP: plain.Addr().String(), TLS: secure.Addr().String(), CA: ca.PEM()})
	// Until the parent closes stdin, answer its "prepare ID" lines: build
	// the frame set of the dataset ID (see Child.Prepare).
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		ans := prepared{Err: fmt.Sprintf("unknown command %q", cmd)}
		if cmd == "prepare" {
			ans.Err = ""
			id, err := strconv.ParseUint(arg, 10, 32)
			var d Dataset
			if err == nil {
				ans.Prepared = new(uint32(id))
				d, err = DatasetFromID(uint32(id))
			}
			if err == nil {
				_, err = s.frameSet(d)
			}
			if err != nil {
				ans.Err = err.Error()
			}
		}
		emit(ans)
	}
	plain.Close()
	secure.Close()
	return nil
}

// Child is a running child process.
type Child struct {
	Hello Hello

	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []byte
	done  chan struct{} // closed when stdout ends

	mu      sync.Mutex
	reports []Report // reports not yet claimed
}

// Start re-executes the running binary as a child serving spec and waits
// for its Hello.
func Start(spec ChildSpec) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(spec)
	cmd := exec.Command(exe, "-test.run=^$") // the flag keeps a test binary from running tests, should the env be lost
	cmd.Env = append(os.Environ(), envVar+"="+string(b))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &Child{cmd: cmd, stdin: stdin, lines: make(chan []byte, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c.lines <- bytes.Clone(sc.Bytes())
		}
		close(c.lines)
	}()
	line, err := c.next(context.Background(), 2*time.Minute)
	if err == nil {
		err = json.Unmarshal(line, &c.Hello)
	}
	if err == nil && c.Hello.Err != "" {
		err = errors.New("pushserver child: " + c.Hello.Err)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// next returns the next line from the child, waiting at most timeout and
// not after ctx ends.
func (c *Child) next(ctx context.Context, timeout time.Duration) ([]byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-c.lines:
		if !ok {
			return nil, errors.New("pushserver child: exited")
		}
		return line, nil
	case <-t.C:
		return nil, errors.New("pushserver child: no answer in " + timeout.String())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ClientTLS returns a client configuration that trusts the child.
func (c *Child) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Hello.CA)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Report waits for the report of the connection whose user name was tag.
// Reports of other connections read meanwhile are kept for their own
// calls. It is meant for one caller at a time (the harness runs one
// scenario at a time): of two concurrent callers, one may keep the
// other's report while the other waits for a line that has already come,
// until its timeout.
func (c *Child) Report(tag string, timeout time.Duration) (Report, error) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for i, r := range c.reports {
			if r.Tag == tag {
				c.reports = append(c.reports[:i], c.reports[i+1:]...)
				c.mu.Unlock()
				return r, nil
			}
		}
		c.mu.Unlock()
		line, err := c.next(context.Background(), time.Until(deadline))
		if err != nil {
			return Report{}, fmt.Errorf("report of %s: %w", tag, err)
		}
		var r Report
		if err := json.Unmarshal(line, &r); err != nil {
			return Report{}, err
		}
		c.mu.Lock()
		c.reports = append(c.reports, r)
		c.mu.Unlock()
	}
}

// prepared is a push child's answer to "prepare ID". Prepared is set in
// it only (never in a Report), which tells the answer from the reports.
type prepared struct {
	Prepared *uint32 `json:"prepared,omitempty"`
	Err      string  `json:"err,omitempty"`
}

// Prepare has a push child build the frames of dataset d now, and waits
// for them, at most timeout (a bound against a hang, never a measure). A
// connection asking for d is then answered without building them first:
// building a compressed set is seconds of CPU time, which a starved
// machine stretches past the bound of a handshake. Reports read meanwhile
// are kept for Report. Like Report, it is for one caller at a time.
func (c *Child) Prepare(d Dataset, timeout time.Duration) error {
	if _, err := fmt.Fprintf(c.stdin, "prepare %d\n", d.ID()); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		line, err := c.next(context.Background(), time.Until(deadline))
		if err != nil {
			return fmt.Errorf("prepare %s: %w", d, err)
		}
		var p prepared
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		if p.Prepared == nil {
			var r Report
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			c.mu.Lock()
			c.reports = append(c.reports, r)
			c.mu.Unlock()
			continue
		}
		if p.Err != "" {
			return fmt.Errorf("pushserver child: prepare %s: %s", d, p.Err)
		}
		if *p.Prepared != d.ID() {
			return fmt.Errorf("pushserver child: prepared %d, want %d", *p.Prepared, d.ID())
		}
		return nil
	}
}

// Command sends one command line to a sim child and decodes its answer
// into v, waiting until ctx ends (at most 10 minutes without a deadline).
// Commands are for one caller at a time. If ctx ends before the answer,
// Command returns ctx.Err() and the answer is left unread: the Child is
// then out of step and should be closed.
func (c *Child) Command(ctx context.Context, cmd string, v any) error {
	if _, err := io.WriteString(c.stdin, cmd+"\n"); err != nil {
		return err
	}
	timeout := 10 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	line, err := c.next(ctx, timeout)
	if err != nil {
		return err
	}
	var e struct {
		Err string `json:"err"`
	}
	if json.Unmarshal(line, &e) == nil && e.Err != "" {
		return errors.New("pushserver child: " + e.Err)
	}
	return json.Unmarshal(line, v)
}

// Close ends the child (closing its stdin, then killing it if it has not
// exited within 5 s) and waits for it.
func (c *Child) Close() error {
	c.stdin.Close()
	t := time.AfterFunc(5*time.Second, func() { c.cmd.Process.Kill() })
	defer t.Stop()
	go func() {
		for range c.lines { // drain, so the reader goroutine ends
		}
	}()
	<-c.done
	return c.cmd.Wait()
}
