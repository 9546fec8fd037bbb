package harness

import (
	"context"
	"fmt"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// hangTimeout bounds the waits of a run (handshake, graceful end, the
// server's report) on a starved machine. It is never a measure: a run
// that needs it has failed.
const hangTimeout = 3 * time.Minute

// Result is one scenario's measurement.
type Result struct {
	Name           string    `json:"name"`
	Transport      Transport `json:"transport"`
	Kind           Kind      `json:"kind"`
	Dataset        string    `json:"dataset"`
	EventsPerFrame int       `json:"events_per_frame"`
	Zlib           bool      `json:"zlib"`
	StopAndWait    bool      `json:"stop_and_wait"`

	Seconds      float64 `json:"seconds"`
	Frames       uint64  `json:"frames"`
	Events       uint64  `json:"events"`
	FramesPerSec float64 `json:"frames_per_sec"`
	EventsPerSec float64 `json:"events_per_sec"`
	// CPUPerEvent is this process's CPU time (user + system, all threads)
	// per event, in nanoseconds; CPUPerFrame the same per frame.
	CPUPerEvent float64 `json:"cpu_ns_per_event"`
	CPUPerFrame float64 `json:"cpu_ns_per_frame"`
	// CPUCores is CPU time over wall time: how many cores the client kept
	// busy.
	CPUCores float64 `json:"cpu_cores"`
	// AllocsPerFrame and AllocBytesPerFrame are heap allocations of the
	// whole process per frame.
	AllocsPerFrame     float64 `json:"allocs_per_frame"`
	AllocBytesPerFrame float64 `json:"alloc_bytes_per_frame"`
	// ReadsPerFrame and WritesPerFrame count the client's system calls on
	// the TCP connection (under TLS, if any); writes are the acks'.
	ReadsPerFrame  float64 `json:"reads_per_frame"`
	WritesPerFrame float64 `json:"writes_per_frame"`

	// From the server, over the whole connection (warm-up included).
	ServerFrames uint64 `json:"server_frames"`
	Acks         uint64 `json:"acks"`
	// AckWrites is how many reads the server needed for the acks: about
	// the number of writes (syscalls) the client spent on them.
	AckWrites uint64 `json:"ack_writes"`
}

// FramesPerAckWrite is how many acks the client coalesced per write.
func (r Result) FramesPerAckWrite() float64 {
	if r.AckWrites == 0 {
		return 0
	}
	return float64(r.Acks) / float64(r.AckWrites)
}

type sample struct {
	t              time.Time
	frames, events uint64
	reads, writes  uint64
	cpu            time.Duration
	allocs, bytes  uint64
}

var allocMetrics = []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/heap/allocs:bytes"}}

func take(c *Counters) sample {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	ms := make([]metrics.Sample, len(allocMetrics))
	copy(ms, allocMetrics)
	metrics.Read(ms)
	return sample{
		t:      time.Now(),
		frames: c.frames.Load(),
		events: c.events.Load(),
		reads:  c.reads.Load(),
		writes: c.writes.Load(),
		cpu:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		allocs: ms[0].Value.Uint64(),
		bytes:  ms[1].Value.Uint64(),
	}
}

func (s Scenario) result(a, b sample) Result {
	r := Result{
		Name: s.Name(), Transport: s.Transport, Kind: s.Kind, Dataset: s.Dataset.String(),
		EventsPerFrame: s.Dataset.Events, Zlib: s.Dataset.Zlib, StopAndWait: s.Dataset.StopAndWait,
		Seconds: b.t.Sub(a.t).Seconds(),
		Frames:  b.frames - a.frames,
		Events:  b.events - a.events,
	}
	if r.Frames == 0 { // the Events API counts events only
		r.Frames = r.Events / uint64(s.Dataset.Events)
	}
	cpu := float64(b.cpu - a.cpu)
	r.FramesPerSec = float64(r.Frames) / r.Seconds
	r.EventsPerSec = float64(r.Events) / r.Seconds
	r.CPUCores = cpu / 1e9 / r.Seconds
	if r.Events > 0 {
		r.CPUPerEvent = cpu / float64(r.Events)
	}
	if r.Frames > 0 {
		r.CPUPerFrame = cpu / float64(r.Frames)
		r.AllocsPerFrame = float64(b.allocs-a.allocs) / float64(r.Frames)
		r.AllocBytesPerFrame = float64(b.bytes-a.bytes) / float64(r.Frames)
		r.ReadsPerFrame = float64(b.reads-a.reads) / float64(r.Frames)
		r.WritesPerFrame = float64(b.writes-a.writes) / float64(r.Frames)
	}
	return r
}

// outcome is how a scenario's run ended.
type outcome struct {
	rep pushserver.Report
	err error
}

// running is a scenario running in its own goroutine.
type running struct {
	s      Scenario
	c      *Counters
	cancel context.CancelFunc
	done   chan outcome
}

// launch runs s in a new goroutine, counting into new counters (with no
// target yet). The caller must call cancel or finish.
func launch(ctx context.Context, env *Env, s Scenario) *running {
	rctx, cancel := context.WithCancel(ctx)
	r := &running{s: s, c: newCounters(s), cancel: cancel, done: make(chan outcome, 1)}
	go func() {
		rep, err := s.run(rctx, env, r.c)
		r.done <- outcome{rep, err}
	}()
	return r
}

// ended is the error for a run that ended on its own, when (e.g. "early").
func (r *running) ended(o outcome, when string) error {
	return fmt.Errorf("%s: ended %s: %v", r.s.Name(), when, o.err)
}

// waitUnits polls every poll until min units have been consumed; if the run
// ends first it reports so, as having ended when.
func (r *running) waitUnits(min uint64, poll time.Duration, when string) error {
	for r.c.units() < min {
		select {
		case o := <-r.done:
			return r.ended(o, when)
		case <-time.After(poll):
		}
	}
	return nil
}

// finish cancels the run, waits for it, and makes the result of the
// samples a and b, with the server's report.
func (r *running) finish(a, b sample) (Result, error) {
	r.cancel()
	o := <-r.done
	if o.err != nil {
		return Result{}, o.err
	}
	res := r.s.result(a, b)
	res.ServerFrames, res.Acks, res.AckWrites = o.rep.Frames, o.rep.Acks, o.rep.AckReads
	return res, nil
}

// Measure runs s for warm, then measures it for dur.
func Measure(ctx context.Context, env *Env, s Scenario, warm, dur time.Duration) (Result, error) {
	if err := env.prepare(s); err != nil {
		return Result{}, err
	}
	r := launch(ctx, env, s)
	defer r.cancel()
	// Wait for the first unit of work, then warm up.
	if err := r.waitUnits(1, time.Millisecond, "before any frame"); err != nil {
		return Result{}, err
	}
	var a, b sample
	steps := []struct {
		d  time.Duration
		at *sample
	}{{warm, &a}, {dur, &b}}
	for _, st := range steps {
		t := time.NewTimer(st.d)
		select {
		case o := <-r.done:
			t.Stop()
			return Result{}, r.ended(o, "early")
		case <-t.C:
		}
		*st.at = take(r.c)
	}
	return r.finish(a, b)
}

// RunN runs s until n units (frames, or events for the event kinds) have
// been consumed after a warm-up of warmUnits, calling start when the timed
// part begins and stop when it ends (b.ResetTimer and b.StopTimer in a Go
// benchmark). The n units are counted from the first sample on, however
// late it is taken: a starved caller may take it long after the warm-up
// ended, when a target fixed in advance could already have been reached.
func RunN(ctx context.Context, env *Env, s Scenario, warmUnits, n uint64, start, stop func()) (Result, error) {
	if err := env.prepare(s); err != nil {
		return Result{}, err
	}
	r := launch(ctx, env, s)
	defer r.cancel()
	if err := r.waitUnits(warmUnits, 100*time.Microsecond, "during warm-up"); err != nil {
		return Result{}, err
	}
	a := take(r.c)
	r.c.setTarget(r.c.unitsAt(a) + max(n, 1))
	start()
	var b sample
	select {
	case o := <-r.done:
		return Result{}, r.ended(o, "early")
	case <-r.c.reached:
		stop()
		b = take(r.c)
	}
	return r.finish(a, b)
}
