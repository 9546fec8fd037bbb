package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/harness"
	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// One push server child for all benchmarks of a run.
var (
	envOnce sync.Once
	env     *harness.Env
	envErr  error
)

func getEnv(b *testing.B) *harness.Env {
	envOnce.Do(func() { env, envErr = harness.NewEnv() })
	if envErr != nil {
		b.Fatal(envErr)
	}
	return env
}

func closeEnv() {
	if env != nil {
		env.Close()
	}
}

// References measured once per run (a fixed 1 s each), against which the
// benchmarks report their ratios.
var (
	refMu sync.Mutex
	refs  = map[string]harness.Result{}
)

func reference(b *testing.B, s harness.Scenario) harness.Result {
	refMu.Lock()
	defer refMu.Unlock()
	if r, ok := refs[s.Name()]; ok {
		return r
	}
	r, err := harness.Measure(context.Background(), getEnv(b), s, 200*time.Millisecond, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	refs[s.Name()] = r
	return r
}

var (
	transports = []harness.Transport{harness.TCP, harness.TLS}
	ds1        = pushserver.Dataset{Events: 1}
	datasets   = []pushserver.Dataset{ds1, {Events: 14}, {Events: 100, Zlib: true}}
)

// run runs s for b.N units (frames, or events for the Events API and the
// JSON baselines) and reports its rates.
func run(b *testing.B, s harness.Scenario) harness.Result {
	b.ReportAllocs()
	warm := uint64(2000)
	if s.Dataset.StopAndWait {
		warm = 200
	}
	r, err := harness.RunN(context.Background(), getEnv(b), s, warm, uint64(b.N), b.ResetTimer, b.StopTimer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.FramesPerSec, "frames/s")
	b.ReportMetric(r.EventsPerSec, "events/s")
	b.ReportMetric(r.CPUPerEvent, "cpu-ns/event")
	return r
}

// BenchmarkCeiling is the bare reader: frames walked in a 64 KiB buffer,
// acks coalesced, nothing decoded or delivered. ns/op is per frame.
func BenchmarkCeiling(b *testing.B) {
	for _, t := range transports {
		b.Run(string(t), func(b *testing.B) {
			run(b, harness.Scenario{Kind: harness.Ceiling, Transport: t, Dataset: ds1})
		})
	}
}

// BenchmarkBatches is SubscribeBatches, 300 B single-event frames, with a
// consumer that drains raw batches ("raw"), or takes each Batch's events
// with dedup on ("events") or off ("events-nodedup"), or decodes them too
// ("typed"); or ranges over BatchSubscription.All with AckManual ("iter",
// "iter-typed"). x-ceiling is its frame rate over the bare reader's,
// measured in the same run (goal for raw: ≥ 0.5).
func BenchmarkBatches(b *testing.B) {
	for _, t := range transports {
		for _, v := range []struct {
			name    string
			kind    harness.Kind
			nodedup bool
		}{{"raw", harness.Batches, false}, {"events", harness.BatchesEvents, false}, {"events-nodedup", harness.BatchesEvents, true},
			{"typed", harness.BatchesTyped, false}, {"iter", harness.IterEvents, false}, {"iter-typed", harness.IterTyped, false}} {
			s := harness.Scenario{Kind: v.kind, Transport: t, Dataset: ds1, NoDedup: v.nodedup}
			b.Run(string(t)+"/"+v.name, func(b *testing.B) {
				ceil := reference(b, harness.Scenario{Kind: harness.Ceiling, Transport: t, Dataset: ds1})
				r := run(b, s)
				b.ReportMetric(r.FramesPerSec/ceil.FramesPerSec, "x-ceiling")
			})
		}
	}
}

// BenchmarkEvents is the Events API (routing only, or decoding each body
// with Event.DataPoint) and the encoding/json baselines, for 1, 14 and
// 100 (zlib) events per frame. ns/op is per event; x-json-cpu is CPU per
// event over the typed encoding/json baseline's, measured in the same run
// (goals: typed ≤ 1.3, routing < 1).
func BenchmarkEvents(b *testing.B) {
	kinds := []harness.Kind{harness.EventsRoute, harness.EventsTyped, harness.JSONEnvelope, harness.JSONTyped}
	for _, t := range transports {
		for _, d := range datasets {
			for _, k := range kinds {
				b.Run(fmt.Sprintf("%s/%s/%s", t, d, k), func(b *testing.B) {
					base := reference(b, harness.Scenario{Kind: harness.JSONTyped, Transport: t, Dataset: d})
					r := run(b, harness.Scenario{Kind: k, Transport: t, Dataset: d})
					b.ReportMetric(r.CPUPerEvent/base.CPUPerEvent, "x-json-cpu")
				})
			}
		}
	}
}

// BenchmarkStopAndWait runs against a server that sends the next block only
// after the ack of the previous one: bare is one loopback round trip per
// block (read, then ack at once), events the Events API. x-bound is the
// block rate over the bare client's, measured in the same run (goal ≥ 0.9).
func BenchmarkStopAndWait(b *testing.B) {
	sw := pushserver.Dataset{Events: 1, StopAndWait: true}
	for _, t := range transports {
		for _, k := range []harness.Kind{harness.Ceiling, harness.EventsRoute, harness.Batches} {
			name := string(k)
			if k == harness.Ceiling {
				name = "bare"
			}
			b.Run(string(t)+"/"+name, func(b *testing.B) {
				bound := reference(b, harness.Scenario{Kind: harness.Ceiling, Transport: t, Dataset: sw})
				r := run(b, harness.Scenario{Kind: k, Transport: t, Dataset: sw})
				b.ReportMetric(r.FramesPerSec/bound.FramesPerSec, "x-bound")
			})
		}
	}
}

// BenchmarkIdle measures Go heap + stacks per idle subscription after one
// 10-event zlib block each, 1 000 and 10 000 subscriptions to the
// simulator in a child process. Each measurement runs once, whatever b.N.
func BenchmarkIdle(b *testing.B) {
	for _, t := range transports {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", t, n), func(b *testing.B) {
				var r harness.IdleResult
				for range b.N {
					var err error
					if r, err = harness.Idle(context.Background(), t, n, 10); err != nil {
						if r.Skipped != "" {
							b.Skip(r.Skipped)
						}
						b.Fatal(err)
					}
				}
				b.ReportMetric(r.BytesPerSession, "B/session")
				b.ReportMetric(r.GoroutinesPerSession, "goroutines/session")
			})
		}
	}
}

// BenchmarkGuard is the regression guard: a short run of the whole suite
// (one round of 500 ms per scenario, 1 000 idle sessions) that fails when
// a ratio falls past its regression floor (see harness.Goals). It logs
// every goal, met or not.
//
//	go test -run '^$' -bench Guard -benchtime 1x -v ./benchmarks
func BenchmarkGuard(b *testing.B) {
	for range b.N {
		rep, err := harness.Run(context.Background(), harness.Options{
			Rounds: 1, Warm: 200 * time.Millisecond, Dur: 500 * time.Millisecond,
			ChartSizes: []int{1, 14}, IdleN: []int{1000},
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range rep.Problems {
			b.Error(p)
		}
		for _, g := range rep.Goals {
			met := "met"
			if !g.Pass {
				met = "NOT met"
			}
			b.Logf("%-36s %10.3f  goal %s %.3g: %s; floor %.3g", g.Name, g.Value, g.Op, g.Target, met, g.Floor)
			if !g.AboveFloor() {
				b.Errorf("%s = %.3f, past its regression floor %.3g", g.Name, g.Value, g.Floor)
			}
		}
	}
}
