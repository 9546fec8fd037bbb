package stream

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/internal/faultnet"
	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestSecretsInScenarioLogs runs failure scenarios with the sentinel
// password — refusals, resets, garbage, timeouts, TLS failures, invalid
// configs — logging through the checked slog sink, and prints every
// config, subscription, state change, error and REST client involved with
// every verb. The sentinel must appear nowhere. (The sink also checks the
// logs of every other test; TestMain fails the run on a leak.)
func TestSecretsInScenarioLogs(t *testing.T) {
	// The check itself must be able to fail.
	if !containsSecret(fmt.Sprintf("%+v", struct{ P string }{SentinelPassword})) || !containsSecret(fmt.Sprintf("%x", SentinelPassword)) {
		t.Fatal("containsSecret misses the sentinel")
	}
	name := t.Name()
	var (
		mu    sync.Mutex
		shown []any
	)
	show := func(vs ...any) {
		mu.Lock()
		shown = append(shown, vs...)
		mu.Unlock()
	}

	ca, err := certs.NewCA("secrets test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf([]string{"rm.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := certs.NewCA("other")

	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		good := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 2, BatchDuration: -1, AckExplicit: true, Persistent: true})
		reset := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 2, BatchDuration: -1, AckExplicit: true, Persistent: true})
		garbled := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		hang := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		srv.SetHooks(reset, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			return streamtest.BlockAction{Verb: streamtest.BlockReset, At: len(bi.Frame) / 2}
		}})
		srv.SetHooks(garbled, streamtest.Hooks{OnConnect: func(streamtest.ConnInfo) streamtest.ConnectAction {
			return streamtest.ConnectAction{Raw: append(protocol.AppendConnectResponse(nil, 200), 0, 9, 1, 2, 3), Close: true}
		}})
		srv.SetHooks(hang, streamtest.Hooks{OnConnect: func(streamtest.ConnInfo) streamtest.ConnectAction {
			return streamtest.ConnectAction{Hang: true}
		}})
		tlsDial := func() Dialer {
			return dialFunc(func(context.Context, string, string) (net.Conn, error) {
				c, s := net.Pipe()
				srv.ServeConn(tls.Server(s, &tls.Config{Certificates: []tls.Certificate{leaf}}))
				return c, nil
			})
		}
		scenarios := []struct {
			what   string
			id     uint32
			modify func(*Config)
		}{
			{"wrong password", good, func(c *Config) { c.Password = secret.New(SentinelPassword + "-wrong") }},
			{"unknown monitor", 999, nil},
			{"reset mid-block", reset, nil},
			{"garbage after login", garbled, nil},
			{"no ConnectResponse", hang, func(c *Config) { c.HandshakeTimeout = 5 * time.Second }},
			{"reset in ConnectRequest", good, func(c *Config) {
				c.Dialer = simDialer(srv, func(int) faultnet.Script {
					return faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(20, faultnet.RST)}}
				})
			}},
			{"TLS unknown CA", good, func(c *Config) {
				c.Plaintext, c.TLSConfig, c.Dialer = false, &tls.Config{RootCAs: other.Pool(), ServerName: "rm.test"}, tlsDial()
			}},
			{"TLS ok", good, func(c *Config) {
				c.Plaintext, c.TLSConfig, c.Dialer = false, &tls.Config{RootCAs: ca.Pool(), ServerName: "rm.test"}, tlsDial()
			}},
		}
		for _, sc := range scenarios {
			cfg := simConfig(t, simDialer(srv, nil), sc.id)
			cfg.Logger = testLogger(name)
			cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
			if sc.modify != nil {
				sc.modify(&cfg)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			sub, err := Subscribe(ctx, cfg)
			if err != nil {
				t.Fatalf("%s: %v", sc.what, err)
			}
			srv.Publish(streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": sc.what}})
			consumed := make(chan struct{})
			go func() {
				defer close(consumed)
				for ev := range sub.Events() {
					show(ev)
				}
			}()
			for st := range sub.States() {
				show(st, st.Err)
			}
			cancel()
			<-sub.Done()
			<-consumed
			show(cfg, &cfg, sub, sub.Err(), sub.Stats())
		}
		// Invalid configs: a password too long to send, made of sentinels.
		cfg := simConfig(t, simDialer(srv, nil), good)
		cfg.Password = secret.New(strings.Repeat(SentinelPassword, 5000))
		_, err := Subscribe(t.Context(), cfg)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("long password: %v", err)
		}
		show(err, cfg)
	})

	// The REST client of the monitor package, with the same password,
	// against the simulator's REST API: right and wrong.
	rest := newSim(t, streamtest.Options{})
	defer rest.Close()
	hs := httptest.NewServer(rest.Handler())
	defer hs.Close()
	for _, pass := range []string{SentinelPassword, SentinelPassword + "-wrong"} {
		api := monitor.NewClient(hs.URL, monitor.WithBasicAuth("user", pass), monitor.WithRetry(0, time.Millisecond))
		_, err := api.Create(t.Context(), monitor.Spec{Topics: []string{"DataPoint"}, Transport: monitor.TransportTCP})
		show(api, err)
	}

	assertNoSecret(t, shown...)
	if n := testLogs.count(name); n < 20 {
		t.Errorf("only %d log lines were checked", n)
	}
	for _, l := range testLogs.leaked() {
		if strings.HasPrefix(l, name+":") {
			t.Errorf("log line shows the password: %s", l)
		}
	}
	t.Logf("%d values printed with 6 verbs and %d log lines checked", len(shown), testLogs.count(name))
}

// TestSecretsNestedInUserStructs holds a Config and an HTTPConfig in the
// unexported fields of a caller's struct, where fmt cannot call their
// methods: the secrets must still print redacted, in every verb, in JSON
// and in slog.
func TestSecretsNestedInUserStructs(t *testing.T) {
	type service struct {
		Name string
		push Config
		hook HTTPConfig
		ptr  *Config
	}
	cfg := Config{Host: "rm.test", Username: "user", Password: secret.New(SentinelPassword), MonitorID: 7}
	hook := HTTPConfig{MonitorID: 7, Token: secret.New(hookToken), Headers: []secret.String{secret.New("X-Key: " + SentinelPassword)}}
	svc := service{Name: "billing", push: cfg, hook: hook, ptr: &cfg}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d", "%q"} {
		for _, v := range []any{svc, &svc, []any{svc}, map[string]any{"s": svc}} {
			if out := fmt.Sprintf(verb, v); containsSecret(out) {
				t.Errorf("%s printed a secret: %s", verb, out)
			}
		}
	}
	b, err := json.Marshal(struct{ Hook HTTPConfig }{hook})
	if err != nil || containsSecret(string(b)) {
		t.Errorf("json: %s %v", b, err)
	}
	var buf strings.Builder
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("config", "svc", svc, "cfg", cfg, "hook", hook)
	}
	if containsSecret(buf.String()) {
		t.Errorf("slog printed a secret: %s", buf.String())
	}
}
