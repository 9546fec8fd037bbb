package main

import (
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pushmon/pushmon/stream"
)

// pushMetrics is a stream.Observer that turns what the push subscriptions
// do into Prometheus metrics, per monitor, as it happens: the adapter the
// stream package leaves to programs, so that its own module needs no
// Prometheus. One value serves every monitor's subscription (the bridge
// sets it in Config.Push); its methods are safe for concurrent use and only
// update metrics, as an Observer's must.
type pushMetrics struct {
	stream.NopObserver // methods added to stream.Observer later do nothing

	connected   *prometheus.GaugeVec
	connects    *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	blocks      *prometheus.CounterVec
	events      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	invalid     *prometheus.CounterVec
	badBlocks   *prometheus.CounterVec
	undelivered *prometheus.CounterVec
	acks        *prometheus.CounterVec
	lag         *prometheus.HistogramVec
}

var _ stream.Observer = (*pushMetrics)(nil)

func newPushMetrics() *pushMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "pushmon_bridge", Name: name, Help: help},
			append([]string{"monitor_id"}, labels...))
	}
	return &pushMetrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "pushmon_bridge", Name: "push_connected",
			Help: "1 while the monitor's push connection is up (its ConnectResponse received)."}, []string{"monitor_id"}),
		connects: counter("push_connects_total", "Push connections established."),
		disconnects: counter("push_disconnects_total",
			"Push connections ended, by cause: server_closed, frame_timeout, write_timeout, network, error, or stopped (by the bridge).", "cause"),
		blocks:      counter("push_blocks_received_total", "Blocks (PublishMessages) received from Remote Manager."),
		events:      counter("push_events_total", "Events taken from the push subscriptions (replays JetStream drops included)."),
		duplicates:  counter("push_duplicates_total", "Replays dropped by the subscription's de-duplication (off by default: JetStream's window does it)."),
		invalid:     counter("push_invalid_events_total", "Events delivered with Event.Err set (published as they are)."),
		badBlocks:   counter("push_bad_blocks_total", "Blocks acked and skipped: corrupt compression or a document over a parsing budget."),
		undelivered: counter("push_undelivered_events_total", "Events received and never taken because the session ended (replayed by Remote Manager)."),
		acks:        counter("push_acks_total", "Acks written to Remote Manager."),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "pushmon_bridge", Name: "push_lag_seconds",
			Help:    "Per batch taken: the time from the newest event timestamp to the bridge taking the batch.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 17), // 50 ms … 55 min
		}, []string{"monitor_id"}),
	}
}

// collectors returns the metrics to register.
func (m *pushMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connected, m.connects, m.disconnects, m.blocks, m.events, m.duplicates,
		m.invalid, m.badBlocks, m.undelivered, m.acks, m.lag}
}

func monitorLabel(o stream.Origin) string { return strconv.FormatUint(uint64(o.MonitorID), 10) }

func (m *pushMetrics) Connected(i stream.ConnectInfo) {
	m.connects.WithLabelValues(monitorLabel(i.Origin)).Inc()
	m.connected.WithLabelValues(monitorLabel(i.Origin)).Inc()
}

func (m *pushMetrics) Disconnected(i stream.DisconnectInfo) {
	m.disconnects.WithLabelValues(monitorLabel(i.Origin), disconnectCause(i.Err)).Inc()
	m.connected.WithLabelValues(monitorLabel(i.Origin)).Dec()
}

func (m *pushMetrics) BlockReceived(i stream.BlockInfo) {
	m.blocks.WithLabelValues(monitorLabel(i.Origin)).Inc()
}

func (m *pushMetrics) Delivered(i stream.DeliveryInfo) {
	m.events.WithLabelValues(monitorLabel(i.Origin)).Add(float64(i.Events))
	if !i.Newest.IsZero() {
		m.lag.WithLabelValues(monitorLabel(i.Origin)).Observe(max(i.Lag.Seconds(), 0))
	}
}

func (m *pushMetrics) Duplicates(i stream.CountInfo) {
	m.duplicates.WithLabelValues(monitorLabel(i.Origin)).Add(float64(i.N))
}

func (m *pushMetrics) InvalidEvents(i stream.InvalidInfo) {
	m.invalid.WithLabelValues(monitorLabel(i.Origin)).Add(float64(i.N))
}

func (m *pushMetrics) BadBlock(i stream.BadBlockInfo) {
	m.badBlocks.WithLabelValues(monitorLabel(i.Origin)).Inc()
}

func (m *pushMetrics) Undelivered(i stream.CountInfo) {
	m.undelivered.WithLabelValues(monitorLabel(i.Origin)).Add(float64(i.N))
}

func (m *pushMetrics) Acked(i stream.CountInfo) {
	m.acks.WithLabelValues(monitorLabel(i.Origin)).Add(float64(i.N))
}

// disconnectCause is a label for why a connection ended: a small fixed
// set, never the error's text (which varies: addresses, ports).
func disconnectCause(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "stopped"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "server_closed"
	case errors.Is(err, stream.ErrFrameTimeout):
		return "frame_timeout"
	case errors.Is(err, stream.ErrWriteTimeout):
		return "write_timeout"
	case errors.As(err, &ne):
		return "network"
	}
	return "error"
}
