package stream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// hookRouter serves /m/{n} with the receiver registered for n.
type hookRouter struct{ rcv sync.Map }

func (h *hookRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/m/"))
	if v, ok := h.rcv.Load(n); ok {
		v.(http.Handler).ServeHTTP(w, r)
		return
	}
	http.Error(w, "no receiver", http.StatusServiceUnavailable)
}

// TestGroupFiftyMonitorsMixedTransports runs 50 monitors — tcp, http and
// polling — plus one that cannot work, in one Group.
func TestGroupFiftyMonitorsMixedTransports(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	router := &hookRouter{}
	hs := httptest.NewServer(router)
	defer hs.Close()

	g := stream.NewGroup(ctx, stream.GroupConfig{})
	defer g.Close()
	const n = 50
	ids := make([]uint32, n)
	transports := []string{"tcp", "http", "polling"}
	for i := range n {
		tr := transports[i%3]
		spec := streamtest.MonitorSpec{Topics: []string{fmt.Sprintf("DataPoint/dev%d", i)}, Transport: tr,
			BatchSize: 10, BatchDuration: -1, AckExplicit: tr == "tcp"}
		if tr == "http" {
			spec.TransportURL = fmt.Sprintf("%s/m/%d", hs.URL, i)
			spec.TransportToken = hookToken
		}
		id, err := srv.TryCreateMonitor(spec)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		switch tr {
		case "tcp":
			err = g.Subscribe(stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user",
				Password: secret.New(stream.SentinelPassword), MonitorID: id})
		case "http":
			var rcv *stream.HTTPReceiver
			rcv, err = g.Receive(stream.HTTPConfig{MonitorID: id, Token: secret.New(hookToken)})
			if err == nil {
				router.rcv.Store(i, rcv)
			}
		case "polling":
			_, err = g.Poll(stream.PollerConfig{Client: api, MonitorID: id, Interval: time.Second})
		}
		if err != nil {
			t.Fatalf("member %d (%s): %v", i, tr, err)
		}
	}
	// A member that cannot work: an unknown monitor id (400 at login).
	const broken = 4_000_000
	if err := g.Subscribe(stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user",
		Password: secret.New(stream.SentinelPassword), MonitorID: broken}); err != nil {
		t.Fatal(err)
	}
	if err := g.Subscribe(stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user",
		Password: secret.New(stream.SentinelPassword), MonitorID: ids[0]}); !errors.Is(err, stream.ErrDuplicateMember) {
		t.Errorf("duplicate member: %v", err)
	}
	for i, id := range ids {
		if i%3 == 0 {
			if err := srv.WaitConnected(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}

	const per = 3
	for k := range per {
		for i := range n {
			srv.Publish(streamtest.Event{Topic: fmt.Sprintf("DataPoint/dev%d/x", i), Operation: "INSERTION",
				Timestamp: time.Date(2025, 1, 1, 0, 0, k, i, time.UTC),
				Body:      map[string]any{"id": fmt.Sprintf("%d-%d", i, k), "data": k}})
		}
	}
	byMonitor := map[uint32][]stream.Event{}
	for _, ev := range collectN(t, "group", g.Events(), n*per) {
		byMonitor[ev.MonitorID] = append(byMonitor[ev.MonitorID], ev)
	}
	for i, id := range ids {
		evs := byMonitor[id]
		if len(evs) != per {
			t.Errorf("monitor %d (%s): %d events", id, transports[i%3], len(evs))
			continue
		}
		for k, ev := range evs {
			dp, err := ev.DataPoint()
			if err != nil || dp.ID != fmt.Sprintf("%d-%d", i, k) {
				t.Errorf("monitor %d event %d: %v %v", id, k, dp.ID, err)
			}
		}
	}

	// The broken member is reported and the others went on regardless.
	bad, ok := g.Member(broken)
	if !ok || bad.Running || !errors.Is(bad.Err, stream.ErrBadRequest) || bad.State != stream.StateStopped {
		t.Errorf("broken member %+v", bad)
	}
	status := g.Status()
	if len(status) != n+1 {
		t.Fatalf("%d statuses", len(status))
	}
	for _, st := range status {
		if st.MonitorID == broken {
			continue
		}
		if !st.Running || st.Err != nil || st.Events > per || st.State == stream.StateStopped {
			t.Errorf("member %+v", st)
		}
	}

	// Remove one member: it stops cleanly, the rest keep running.
	if err := g.Remove(ids[1]); err != nil {
		t.Errorf("remove: %v", err)
	}
	if st, _ := g.Member(ids[1]); st.Running || st.Err != nil {
		t.Errorf("removed member %+v", st)
	}
	if err := g.Remove(ids[1]); !errors.Is(err, stream.ErrUnknownMember) {
		t.Errorf("second remove: %v", err)
	}
	srv.Publish(streamtest.Event{Topic: "DataPoint/dev2/x", Operation: "INSERTION", Body: map[string]any{"id": "late"}})
	if ev := collectN(t, "after remove", g.Events(), 1)[0]; ev.MonitorID != ids[2] {
		t.Errorf("event for %d", ev.MonitorID)
	}

	if err := g.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, ok := <-g.Events(); ok {
		t.Error("Events open after Close")
	}
	for _, st := range g.Status() {
		if st.Running {
			t.Errorf("member %d still running after Close", st.MonitorID)
		}
		want := uint64(per)
		switch st.MonitorID {
		case broken:
			want = 0
		case ids[2]:
			want = per + 1
		}
		if st.Events != want {
			t.Errorf("member %d: %d events, want %d", st.MonitorID, st.Events, want)
		}
	}
	if _, err := g.Poll(stream.PollerConfig{Client: api, MonitorID: ids[2]}); !errors.Is(err, stream.ErrGroupClosed) {
		t.Errorf("add after close: %v", err)
	}
}

func TestGroupFailFast(t *testing.T) {
	srv, _ := sim(t)
	ctx := deadline(t)
	good := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
	g := stream.NewGroup(ctx, stream.GroupConfig{FailFast: true})
	cfg := stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: good}
	if err := g.Subscribe(cfg); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitConnected(ctx, good); err != nil {
		t.Fatal(err)
	}
	cfg.MonitorID = 4_000_001
	if err := g.Subscribe(cfg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.Done():
	case <-ctx.Done():
		t.Fatal("group did not stop")
	}
	if err := g.Err(); !errors.Is(err, stream.ErrBadRequest) || !strings.Contains(err.Error(), "4000001") {
		t.Errorf("group error %v", err)
	}
	if st, _ := g.Member(good); st.Running || st.Err != nil {
		t.Errorf("good member %+v", st)
	}
	if _, ok := <-g.Events(); ok {
		t.Error("Events open")
	}
	if err := g.Subscribe(stream.Config{}); !errors.Is(err, stream.ErrInvalidConfig) && !errors.Is(err, stream.ErrGroupClosed) {
		t.Errorf("member added to a closed group: %v", err)
	}
	// The parent context ends a group too.
	pctx, cancel := context.WithCancel(ctx)
	g2 := stream.NewGroup(pctx, stream.GroupConfig{})
	cancel()
	if err := g2.Wait(); err != nil {
		t.Errorf("cancelled group: %v", err)
	}
}
