package stream

// Shared harness of the reliability tests: the sentinel password every
// test config uses, a log sink that checks every line for it, and the
// simulator served over net.Pipe (optionally wrapped by faultnet) so that
// scenarios run inside testing/synctest bubbles on a fake clock.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pushmon/pushmon/internal/faultnet"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// SentinelPassword is the password of every test config and of the
// simulator's test user. It must never appear in a log line, an error or
// any fmt output; the log sink and TestMain check that. (Exported for the
// external test package.)
const SentinelPassword = "s3cr3t-sentinel"

// logSink collects every log line of the test binary's subscriptions and
// simulators and remembers the lines that contain the sentinel.
type logSink struct {
	mu     sync.Mutex
	lines  int
	leaks  []string
	byTest map[string]int
}

var testLogs = &logSink{byTest: map[string]int{}}

// record checks one formatted line (and extra renderings of its values).
func (s *logSink) record(test, line string, extra ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines++
	s.byTest[test]++
	for _, x := range append([]string{line}, extra...) {
		if containsSecret(x) {
			s.leaks = append(s.leaks, test+": "+line)
			return
		}
	}
}

func (s *logSink) count(test string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byTest[test]
}

func (s *logSink) leaked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.leaks...)
}

// containsSecret reports whether text holds the sentinel, plainly or in
// the hex and Go-quoted forms that %x and %q would give it.
func containsSecret(text string) bool {
	return strings.Contains(text, SentinelPassword) ||
		strings.Contains(text, fmt.Sprintf("%x", SentinelPassword)) ||
		strings.Contains(text, fmt.Sprintf("% x", SentinelPassword))
}

// sinkHandler is a slog.Handler feeding testLogs. Besides the text form of
// each record it renders every attribute value with %v, %+v and %#v, so an
// error or config logged by value is checked in all its forms.
type sinkHandler struct {
	test  string
	attrs []slog.Attr
	group string
}

func (h *sinkHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	var buf bytes.Buffer
	th := slog.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if len(h.attrs) > 0 {
		th = th.WithAttrs(h.attrs)
	}
	if h.group != "" {
		th = th.WithGroup(h.group)
	}
	if err := th.Handle(context.Background(), r); err != nil {
		return err
	}
	var extra []string
	render := func(a slog.Attr) bool {
		v := a.Value.Resolve().Any()
		extra = append(extra, fmt.Sprintf("%v|%+v|%#v", v, v, v))
		return true
	}
	r.Attrs(render)
	for _, a := range h.attrs {
		render(a)
	}
	testLogs.record(h.test, buf.String(), extra...)
	return nil
}

func (h *sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *sinkHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = name
	return &c
}

// testLogger returns a logger feeding the checked sink under test's name.
func testLogger(test string) *slog.Logger { return slog.New(&sinkHandler{test: test}) }

// checkSecretsAtExit is run by TestMain after every test: it fails the
// binary if any log line of any test contained the sentinel.
func checkSecretsAtExit(code int) {
	if leaks := testLogs.leaked(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d log lines contain the sentinel password:\n%s\n", len(leaks), strings.Join(leaks, "\n"))
		code = 1
	}
	os.Exit(code)
}

// assertNoSecret fails t if any of vs prints the sentinel with any verb.
func assertNoSecret(t testing.TB, vs ...any) {
	t.Helper()
	for i, v := range vs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if s := fmt.Sprintf(verb, v); containsSecret(s) {
				t.Errorf("value %d (%T) printed with %s shows the password: %s", i, v, verb, s)
			}
		}
	}
}

// newSim starts a listener-less simulator whose only user is "user" with
// SentinelPassword, logging into the checked sink. Inside a synctest
// bubble it lives on the fake clock. The caller closes it.
func newSim(t testing.TB, opts streamtest.Options) *streamtest.Server {
	opts.HTTPAddr, opts.PushAddr, opts.PushTLSAddr = "-", "-", "-"
	opts.Users = map[string]string{"user": SentinelPassword}
	name := t.Name()
	opts.Logf = func(format string, args ...any) {
		testLogs.record(name, fmt.Sprintf(format, args...))
	}
	return streamtest.NewServer(opts)
}

// simDialer serves every dial on srv over a net.Pipe; the client's end is
// wrapped with script(i) for the i-th dial (nil script: no faults).
func simDialer(srv *streamtest.Server, script func(i int) faultnet.Script) *faultnet.Dialer {
	return &faultnet.Dialer{
		Dial: func(context.Context, string, string) (net.Conn, error) {
			c, s := net.Pipe()
			srv.ServeConn(s)
			return c, nil
		},
		Script: script,
	}
}

// simConfig is testConfig for monitor id on d, logging into the sink.
func simConfig(t testing.TB, d Dialer, id uint32) Config {
	cfg := testConfig(d)
	cfg.MonitorID = id
	cfg.Logger = testLogger(t.Name())
	return cfg
}
