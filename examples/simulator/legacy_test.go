package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/protocol"
)

// sim is a running simulator command.
type sim struct {
	cmd    *exec.Cmd
	addrs  map[string]string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

// startSim runs the built simulator with args and reads its listener
// lines (want of them).
func startSim(t *testing.T, bin string, want int, args ...string) *sim {
	t.Helper()
	// Not t.Context(): it ends before the cleanup below stops the command.
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	t.Cleanup(cancel)
	s := &sim{cmd: exec.CommandContext(ctx, bin, args...), addrs: map[string]string{}, done: make(chan struct{})}
	out, _ := s.cmd.StdoutPipe()
	errOut, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	sc := bufio.NewScanner(out)
	for len(s.addrs) < want && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		s.addrs[k] = v
	}
	go io.Copy(io.Discard, out)
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.cmd.Wait(); err != nil {
			t.Errorf("simulator exit: %v", err)
		}
	})
	return s
}

// logs returns the simulator's stderr once it has exited.
func (s *sim) logs(t *testing.T) string {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// pythonClient logs in on monitor id as the old Python clients do and
// returns the connection and its frame reader.
func pythonClient(t *testing.T, addr string, id uint32) (net.Conn, *protocol.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(hangTimeout)) // only against a hang
	req, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	rd := protocol.NewReader(c, protocol.ReaderOptions{})
	f, err := rd.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := protocol.ParseConnectResponse(f.Payload); err != nil || st.Status != protocol.StatusOK {
		t.Fatalf("ConnectResponse %+v, %v", st, err)
	}
	return c, rd
}

func readBlock(rd *protocol.Reader) (uint16, error) {
	f, err := rd.ReadFrame()
	if err != nil {
		return 0, err
	}
	m, err := protocol.ParsePublishMessage(f.Payload)
	return m.DataBlockID, err
}

// The simulator command accepts the old Python clients' 6-byte ack by
// default: with one block in flight at a time, the next block comes only
// once the first was acked that way. With -strict-ack the ack is refused,
// the connection closed, and the log says how to fix it.
func TestSimulatorAcceptsPythonAck(t *testing.T) {
	bin := build(t, t.TempDir())
	for _, strict := range []bool{false, true} {
		args := []string{"-http", "127.0.0.1:0", "-push", "127.0.0.1:0", "-push-tls", "-", "-inflight", "1", "-rate", "100"}
		if strict {
			args = append(args, "-strict-ack")
		}
		s := startSim(t, bin, 2, args...)
		api := monitor.NewClient(s.addrs["rest"], monitor.WithBasicAuth("user", "password"))
		id, err := api.Create(t.Context(), monitor.Spec{Topics: []string{"DataPoint", "DeviceCore", "FileData"}, BatchSize: 1, Ack: monitor.AckExplicit})
		if err != nil {
			t.Fatal(err)
		}
		c, rd := pythonClient(t, s.addrs["push"], id)
		first, err := readBlock(rd)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(protocol.AppendLegacyAck(nil, first)); err != nil {
			t.Fatal(err)
		}
		next, err := readBlock(rd)
		c.Close()
		logs := s.logs(t)
		if !strict {
			if err != nil || next != first+1 {
				t.Fatalf("after a 6-byte ack of block %d: block %d, %v\n%s", first, next, err, logs)
			}
			if strings.Contains(logs, "refused") {
				t.Errorf("an accepted ack was reported refused:\n%s", logs)
			}
			continue
		}
		if err == nil {
			t.Fatalf("-strict-ack: block %d after a 6-byte ack", next)
		}
		if n := strings.Count(logs, "refused a 6-byte ack"); n != 1 || !strings.Contains(logs, "-strict-ack") || !strings.Contains(logs, "level=WARN") {
			t.Fatalf("-strict-ack: %d refusal lines, want 1 naming the fix:\n%s", n, logs)
		}
	}
}

// -https serves the REST API over TLS with the CA written by -ca-out;
// /ws/DeviceCore checks credentials; -v logs every REST call.
func TestSimulatorHTTPSAndDeviceCore(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	ca := filepath.Join(dir, "ca.pem")
	s := startSim(t, bin, 3, "-http", "-", "-https", "127.0.0.1:0", "-push", "-", "-push-tls", "127.0.0.1:0",
		"-rate", "0", "-ca-out", ca, "-v")
	if !strings.HasPrefix(s.addrs["rest-https"], "https://127.0.0.1:") || s.addrs["ca"] != ca {
		t.Fatalf("listeners %v", s.addrs)
	}
	pem, _ := os.ReadFile(ca)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA written")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	api := monitor.NewClient(s.addrs["rest-https"], monitor.WithBasicAuth("user", "password"), monitor.WithHTTPClient(hc))
	if _, err := api.Create(t.Context(), monitor.Spec{Topics: []string{"DeviceCore"}}); err != nil {
		t.Fatal(err)
	}
	get := func(user, pass string) (int, string) {
		req, _ := http.NewRequest("GET", s.addrs["rest-https"]+"/ws/DeviceCore", nil)
		req.SetBasicAuth(user, pass)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("user", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("bad credentials: %d", code)
	}
	code, body := get("user", "password")
	var list struct {
		ResultTotalRows string
		Items           []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || list.ResultTotalRows != "5" || len(list.Items) != 5 {
		t.Fatalf("DeviceCore: %d %v %s", code, err, body)
	}
	// A client without the CA is refused.
	if _, err := http.Get(s.addrs["rest-https"] + "/ws/DeviceCore"); err == nil {
		t.Error("an https client without the CA was served")
	} else if !errors.As(err, new(*tls.CertificateVerificationError)) {
		t.Logf("without the CA: %v", err)
	}
	logs := s.logs(t)
	if !strings.Contains(logs, `GET \"/ws/DeviceCore\" 401`) || !strings.Contains(logs, `POST \"/ws/Monitor\" 201`) {
		t.Errorf("-v logs no REST calls:\n%s", logs)
	}
	if strings.Contains(logs, "password") {
		t.Errorf("a password in the log:\n%s", logs)
	}
}
