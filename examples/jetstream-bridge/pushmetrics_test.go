package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// scrape returns the registry's metrics in the text format.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, err := io.ReadAll(w.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// The push metrics, driven by the subscription's Observer, say what its
// Stats count: connections and how they ended, blocks, events, acks, and
// one lag observation per batch taken.
func TestPushMetricsFollowTheSubscription(t *testing.T) {
	sim, err := streamtest.Start(streamtest.Options{Users: map[string]string{testUser: testPassword}, HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	mon := sim.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 5, BatchDuration: -1,
		AckExplicit: true, Persistent: true})
	pm := newPushMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(pm.collectors()...)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	sub, err := stream.SubscribeBatches(ctx, stream.Config{Addr: sim.PushAddr(), Plaintext: true, Username: testUser,
		Password: secret.New(testPassword), MonitorID: mon, Observer: pm,
		NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(10 * time.Millisecond) }}, stream.AckManual)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	w := &world{sim: sim, monitor: mon}
	events := 0
	takeAll := func(n int) {
		t.Helper()
		for events < n {
			select {
			case b := <-sub.Batches():
				events += len(b.Events())
				b.Ack()
			case <-ctx.Done():
				t.Fatalf("%d events taken, want %d", events, n)
			}
		}
		if err := sim.WaitIdle(ctx, mon); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	w.publish(0, 20)
	takeAll(20)
	sim.DropConnections(mon) // the server closes the connection: the subscription reconnects
	if err := sim.WaitConnected(ctx, mon); err != nil {
		t.Fatal(err)
	}
	w.publish(20, 30)
	takeAll(30)
	label := fmt.Sprintf(`{monitor_id="%d"}`, mon)
	if text := scrape(t, reg); metric(text, "pushmon_bridge_push_connected"+label) != 1 {
		t.Errorf("connected while streaming:\n%s", text)
	}
	if err := sub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	st := sub.Stats()
	text := scrape(t, reg)
	for name, want := range map[string]uint64{
		"push_connects_total" + label:        st.Connects,
		"push_blocks_received_total" + label: st.Blocks,
		"push_events_total" + label:          st.Events,
		"push_acks_total" + label:            st.Acks,
		fmt.Sprintf(`push_disconnects_total{cause="server_closed",monitor_id="%d"}`, mon): 1,
		fmt.Sprintf(`push_disconnects_total{cause="stopped",monitor_id="%d"}`, mon):       1,
		"push_connected" + label: 0,
	} {
		if got := metric(text, "pushmon_bridge_"+name); got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	if st.Connects != 2 || st.Events != 30 || st.Acks != st.Blocks {
		t.Errorf("the scenario did not happen as planned: %+v", st)
	}
	if n := metric(text, "pushmon_bridge_push_lag_seconds_count"+label); n < 2 || n > float64(st.Blocks) {
		t.Errorf("%v lag observations for %d blocks:\n%s", n, st.Blocks, text)
	}
}
