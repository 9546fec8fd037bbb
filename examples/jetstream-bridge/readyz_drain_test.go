package main

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// /readyz answers 503, and the ready gauge is 0, once the bridge drains
// for a stop, although NATS is still connected and the stream verified:
// a replica on its way out is not ready. Before, it stayed 200 until the
// process exited.
func TestReadyzFalseWhileDraining(t *testing.T) {
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: -1})
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	st := newState()
	st.nc.Store(nc)
	st.verified.Store(true)
	h, err := startHTTP("127.0.0.1:0", st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	if code, body := get(t, "http://"+h.addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz while bridging: %d %s", code, body)
	}
	st.draining.Store(true)
	if code, _ := get(t, "http://"+h.addr+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d, want 503", code)
	}
	if _, metrics := get(t, "http://"+h.addr+"/metrics"); metric(metrics, "pushmon_bridge_ready") != 0 {
		t.Errorf("pushmon_bridge_ready while draining: %v, want 0", metric(metrics, "pushmon_bridge_ready"))
	}
}
