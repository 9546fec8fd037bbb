package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

// hangTimeout bounds the tests' waits for what must happen. It is no
// speed budget: it only turns a hang into a failure, generous enough for
// a machine starved of CPU.
const hangTimeout = 3 * time.Minute

// TestSimulatorServesAClient builds the command, starts it on free ports
// and runs this project's client against it over REST and TLS push.
func TestSimulatorServesAClient(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	ca := filepath.Join(dir, "ca.pem")
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-push", "-", "-push-tls", "127.0.0.1:0",
		"-users", "ann:pw1,bob:pw2", "-ca-out", ca, "-rate", "200")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	sc := bufio.NewScanner(out)
	for len(addrs) < 3 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		addrs[k] = v
	}
	if addrs["rest"] == "" || addrs["push-tls"] == "" || addrs["ca"] != ca {
		t.Fatalf("listeners %v", addrs)
	}
	pem, _ := os.ReadFile(ca)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA written")
	}
	api := monitor.NewClient(addrs["rest"], monitor.WithBasicAuth("bob", "pw2"))
	id, err := api.Create(ctx, monitor.Spec{Topics: []string{"DataPoint", "DeviceCore"}, BatchSize: 5, BatchDuration: time.Second, Ack: monitor.AckExplicit})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := stream.Subscribe(ctx, stream.Config{Addr: addrs["push-tls"], TLSConfig: &tls.Config{RootCAs: pool},
		Username: "bob", Password: secret.New("pw2"), MonitorID: id})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		ev := <-sub.Events()
		if ev.Resource != "DataPoint" && ev.Resource != "DeviceCore" {
			t.Errorf("event of %q for a DataPoint,DeviceCore monitor", ev.Resource)
		}
	}
	sub.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("simulator exit: %v", err)
	}
}

// TestOutOfRangeGeneratorExit2: a -rate or -devices the generator refuses
// is bad usage, reported at once, not a server that generates nothing.
func TestOutOfRangeGeneratorExit2(t *testing.T) {
	bin := build(t, t.TempDir())
	for _, args := range [][]string{{"-rate", "1e9"}, {"-rate", "-1"}, {"-devices", "2000000"}} {
		ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
		cmd := exec.CommandContext(ctx, bin, append([]string{"-http", "127.0.0.1:0", "-push", "-", "-push-tls", "-"}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 2 || len(out) != 0 || !strings.Contains(stderr.String(), "Usage of simulator") {
			t.Errorf("%q: %v, stdout %q, stderr:\n%s", args, err, out, stderr.String())
		}
	}
}

// TestExtraArgumentNotQuoted: an argument the simulator does not take
// (a password typed where a flag's value was meant, say) is a usage error
// that counts the extra arguments without quoting them.
func TestExtraArgumentNotQuoted(t *testing.T) {
	bin := build(t, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), hangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-http", "127.0.0.1:0", "-push", "-", "-push-tls", "-", "Hunter2-s3cret")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "1 unexpected argument(s)") {
		t.Errorf("%v, stderr:\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "Hunter2") {
		t.Errorf("the extra argument is printed:\n%s", stderr.String())
	}
}

// build builds the command into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "simulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
