package main

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
)

// state is what the endpoints and the progress line report: set as the
// program starts up, read at any time.
type state struct {
	nc       atomic.Pointer[nats.Conn]
	verified atomic.Bool // the stream (and with -ha the lease bucket) checked
	draining atomic.Bool // a signal or -count started the bridge's Shutdown
	bridge   atomic.Pointer[bridge.Bridge]
	latency  prometheus.Histogram
	push     *pushMetrics // the subscriptions' Observer (pushmetrics.go)
}

func newState() *state {
	return &state{latency: prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "pushmon_bridge",
		Name:      "store_latency_seconds",
		Help:      "Time from the publish of a batch's first event to the PubAck of its last, per batch acknowledged to Remote Manager.",
		Buckets:   prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms … 16 s
	}), push: newPushMetrics()}
}

// observe is bridge.Config.ObserveStore.
func (s *state) observe(_ uint32, _ int, d time.Duration) { s.latency.Observe(d.Seconds()) }

// ready: NATS connected, the stream verified, and not draining.
func (s *state) ready() bool {
	nc := s.nc.Load()
	return nc != nil && nc.IsConnected() && s.verified.Load() && !s.draining.Load()
}

// registry returns the Prometheus registry of /metrics: the bridge's
// metrics, the Go runtime's and the process's.
func (s *state) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.latency, &collector{s: s})
	reg.MustRegister(s.push.collectors()...)
	return reg
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("pushmon_bridge_"+name, help, labels, nil)
}

var (
	counterDescs = []struct {
		d *prometheus.Desc
		v func(bridge.Stats) uint64
	}{
		{desc("events_published_total", "Events published to JetStream (replays included)."), func(s bridge.Stats) uint64 { return s.Events }},
		{desc("events_stored_total", "PubAcks of new messages."), func(s bridge.Stats) uint64 { return s.Stored }},
		{desc("duplicates_total", "PubAcks of messages JetStream already had: replays dropped by the duplicate window."), func(s bridge.Stats) uint64 { return s.Duplicates }},
		{desc("blocks_received_total", "Blocks taken from Remote Manager."), func(s bridge.Stats) uint64 { return s.Blocks }},
		{desc("blocks_acked_total", "Blocks acknowledged to Remote Manager after all their PubAcks."), func(s bridge.Stats) uint64 { return s.Acked }},
		{desc("acks_lost_total", "Blocks stored whose ack could not be sent (their connection had ended)."), func(s bridge.Stats) uint64 { return s.AckLost }},
		{desc("sessions_total", "Push sessions started."), func(s bridge.Stats) uint64 { return s.Sessions }},
		{desc("session_failures_total", "Sessions ended by an error other than a shutdown."), func(s bridge.Stats) uint64 { return s.Failures }},
		{desc("leases_acquired_total", "Monitor leases taken by this replica (-ha)."), func(s bridge.Stats) uint64 { return s.LeasesAcquired }},
		{desc("leases_released_total", "Monitor leases released gracefully (-ha)."), func(s bridge.Stats) uint64 { return s.LeasesReleased }},
		{desc("leases_lost_total", "Monitor leases found taken or expired (-ha)."), func(s bridge.Stats) uint64 { return s.LeasesLost }},
		{desc("fenced_total", "Sessions stopped because their lease was not renewed in time (-ha)."), func(s bridge.Stats) uint64 { return s.Fenced }},
		{desc("stand_bys_total", "Times this replica stood by: no push session connected while other replicas streamed (-ha)."), func(s bridge.Stats) uint64 { return s.StandBys }},
	}
	ownedDesc     = desc("owned_monitors", "Monitors this bridge runs (with -ha: whose lease it holds).")
	stateDesc     = desc("monitor_state", "1 for the state each monitor is in on this bridge, 0 for the others.", "monitor_id", "state")
	lagDesc       = desc("monitor_lag_seconds", "At the last ack: the time since the newest event timestamp of the acknowledged batch.", "monitor_id")
	inflightDesc  = desc("monitor_inflight_events", "Events published and awaiting their PubAck.", "monitor_id")
	lastAckDesc   = desc("monitor_last_ack_timestamp_seconds", "When a block was last acknowledged to Remote Manager (Unix time; absent before the first).", "monitor_id")
	connectedDesc = desc("nats_connected", "1 while the NATS connection is up.")
	readyDesc     = desc("ready", "1 when NATS is connected, the stream verified and the bridge not draining (as /readyz).")
)

// collector reads the bridge's counters and monitor states at each scrape.
type collector struct{ s *state }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range counterDescs {
		ch <- d.d
	}
	for _, d := range []*prometheus.Desc{ownedDesc, stateDesc, lagDesc, inflightDesc, lastAckDesc, connectedDesc, readyDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	nc := c.s.nc.Load()
	gauge(connectedDesc, b2f(nc != nil && nc.IsConnected()))
	gauge(readyDesc, b2f(c.s.ready()))
	b := c.s.bridge.Load()
	if b == nil {
		return
	}
	st := b.Stats()
	for _, d := range counterDescs {
		ch <- prometheus.MustNewConstMetric(d.d, prometheus.CounterValue, float64(d.v(st)))
	}
	owned := 0
	for _, m := range b.Monitors() {
		id := strconv.FormatUint(uint64(m.ID), 10)
		if m.Owned {
			owned++
		}
		for _, s := range bridge.MonitorStates() {
			gauge(stateDesc, b2f(m.State == s), id, s.String())
		}
		gauge(lagDesc, m.Lag.Seconds(), id)
		gauge(inflightDesc, float64(m.InFlight), id)
		if !m.LastAck.IsZero() {
			gauge(lastAckDesc, float64(m.LastAck.UnixNano())/1e9, id)
		}
	}
	gauge(ownedDesc, float64(owned))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
