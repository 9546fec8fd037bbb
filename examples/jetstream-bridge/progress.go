package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
)

// logProgress logs a line every interval until ctx ends: the totals, the
// rate of stored events since the last line, and what the monitors do.
func logProgress(ctx context.Context, every time.Duration, st *state, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last bridge.Stats
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b := st.bridge.Load()
		if b == nil {
			continue
		}
		s := b.Stats()
		now := time.Now()
		rate := float64(s.Stored+s.Duplicates-last.Stored-last.Duplicates) / now.Sub(lastAt).Seconds()
		owned, streaming := 0, 0
		for _, m := range b.Monitors() {
			if m.Owned {
				owned++
			}
			if m.State == bridge.MonitorStreaming {
				streaming++
			}
		}
		log.Info("progress", "events", s.Events, "stored", s.Stored, "duplicates", s.Duplicates,
			"acked_blocks", s.Acked, "events_per_s", int64(rate+0.5), "owned", owned, "streaming", streaming,
			"failures", s.Failures, "fenced", s.Fenced, "nats_connected", st.nc.Load().IsConnected())
		last, lastAt = s, now
	}
}
