package stream

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// traceKey is a context key a caller's tracing would use.
type traceKey struct{}

// ctxRecord is what ctxHandler saw of one log record: its message, the
// traceKey value of its context and whether that context was done.
type ctxRecord struct {
	msg  string
	val  any
	done bool
}

// ctxHandler is a slog.Handler that records the context of every record.
type ctxHandler struct {
	mu   sync.Mutex
	recs []ctxRecord
}

func (h *ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *ctxHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *ctxHandler) WithGroup(string) slog.Handler            { return h }
func (h *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, ctxRecord{msg: r.Message, val: ctx.Value(traceKey{}), done: ctx.Err() != nil})
	return nil
}

func (h *ctxHandler) records() []ctxRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

// check fails t unless every record carried val, in a context that was not
// done, and a record of each of msgs was logged.
func (h *ctxHandler) check(t *testing.T, val string, msgs ...string) {
	t.Helper()
	recs := h.records()
	for _, r := range recs {
		if r.val != val || r.done {
			t.Errorf("%q was logged with the context value %v (done: %t), want %q in a live context", r.msg, r.val, r.done, val)
		}
	}
	for _, m := range msgs {
		if !slices.ContainsFunc(recs, func(r ctxRecord) bool { return strings.HasPrefix(r.msg, m) }) {
			t.Errorf("nothing logged %q; logged %v", m, recs)
		}
	}
}

// TestLogsCarryTheSubscribeContext: a subscription's logs — connected, an
// invalid event, a connection that failed, a permanent stop — carry the
// values of the context given to Subscribe.
func TestLogsCarryTheSubscribeContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, BatchSize: 1, BatchDuration: -1})
		bad := jsonDoc(jsonMsg("1/DataPoint/d/t", "INSERTION", "2025-01-01T00:00:00.000Z", "DataPoint", `{"data":tru}`, false))
		srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(b streamtest.BlockInfo) streamtest.BlockAction {
			f, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: b.DataBlockID, Count: 1,
				Format: protocol.FormatJSON, Payload: []byte(bad)})
			return streamtest.BlockAction{Raw: f}
		}})
		h := &ctxHandler{}
		ctx := context.WithValue(t.Context(), traceKey{}, "subscription")
		cfg := simConfig(t, simDialer(srv, nil), id)
		cfg.Logger = slog.New(h)
		sub, err := Subscribe(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if err := srv.WaitConnected(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		srv.Publish(observedEvent(0, time.Now()))
		take(t, sub.Events(), 1)
		synctest.Wait()
		srv.DropConnections(id)
		if err := srv.WaitConnected(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		srv.DeleteMonitor(id) // the next connection is refused for good
		srv.DropConnections(id)
		waitDone(t, sub)
		h.check(t, "subscription", "push connected", "invalid events delivered flagged", "push connection failed", "push subscription stopped")
	})
}

// TestLogsCarryTheRequestContext: an HTTPReceiver logs its own warning with
// the values of the context given to NewHTTPReceiver, and a request's with
// those of the request's context, also once that context is done.
func TestLogsCarryTheRequestContext(t *testing.T) {
	h := &ctxHandler{}
	ctx := context.WithValue(t.Context(), traceKey{}, "receiver")
	r, err := NewHTTPReceiver(ctx, HTTPConfig{MonitorID: 1, AllowUnauthenticated: true, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h.check(t, "receiver", "http receiver accepts unauthenticated pushes")

	h = &ctxHandler{}
	r2, err := NewHTTPReceiver(ctx, HTTPConfig{MonitorID: 2, Token: secret.New(hookToken), Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	live := context.WithValue(context.Background(), traceKey{}, "request")
	gone, cancel := context.WithCancel(live)
	cancel() // the client has gone: the log still carries the values
	for _, c := range []struct {
		ctx    context.Context
		method string
	}{{gone, http.MethodGet}, {live, http.MethodPost}} {
		req := httptest.NewRequestWithContext(c.ctx, c.method, "/push",
			strings.NewReader(`{"Document":{"Msg":{"topic":"1/X/1","X":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}}}`))
		req.SetBasicAuth("hook", SentinelPassword)
		r2.ServeHTTP(httptest.NewRecorder(), req)
	}
	h.check(t, "request", "push refused", "push document over a parsing budget")
}

// TestLogsCarryThePollerAndGroupContext: a Poller's logs carry the values
// of the context given to NewPoller, a Group's those of NewGroup's, also
// after that context was cancelled.
func TestLogsCarryThePollerAndGroupContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 1)...)
		srv.Throttle(1)
		h := &ctxHandler{}
		ctx := context.WithValue(t.Context(), traceKey{}, "poller")
		p, err := NewPoller(ctx, PollerConfig{Client: api, MonitorID: id, Interval: time.Minute, Logger: slog.New(h)})
		if err != nil {
			t.Fatal(err)
		}
		take(t, p.Events(), 1)
		p.Close()
		h.check(t, "poller", "history request failed; retrying")

		h = &ctxHandler{}
		gctx, cancel := context.WithCancel(context.WithValue(t.Context(), traceKey{}, "group"))
		g := NewGroup(gctx, GroupConfig{Logger: slog.New(h)})
		if _, err := g.Poll(PollerConfig{Client: api, MonitorID: id, Interval: time.Minute}); err != nil {
			t.Fatal(err)
		}
		cancel() // the member's stop is logged after this
		g.Wait()
		h.check(t, "group", "group member started", "group member stopped")
	})
}
