package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// Options configure a suite run.
type Options struct {
	Warm, Dur  time.Duration // per measurement (0: 300 ms, 1 s)
	Rounds     int           // each scenario runs this many times, interleaved; the median counts (0: 3)
	Transports []Transport   // 0: tcp and tls
	ChartSizes []int         // events per frame of the chart (0: 1 2 5 14 50 100)
	IdleN      []int         // idle session counts (0: 1000 and 10000); none with a negative value
	// Run, when set, selects scenarios, idle runs and inflate runs by name.
	Run *regexp.Regexp
	Log io.Writer // progress; nil means none
}

func (o *Options) defaults() {
	if o.Warm == 0 {
		o.Warm = 300 * time.Millisecond
	}
	if o.Dur == 0 {
		o.Dur = time.Second
	}
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	if len(o.Transports) == 0 {
		o.Transports = []Transport{TCP, TLS}
	}
	if len(o.ChartSizes) == 0 {
		o.ChartSizes = []int{1, 2, 5, 14, 50, 100}
	}
	if len(o.IdleN) == 0 {
		o.IdleN = []int{1000, 10000}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Report is the outcome of a suite run.
type Report struct {
	Machine  Machine         `json:"machine"`
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Rounds   int             `json:"rounds"`
	Warm     string          `json:"warm"`
	Dur      string          `json:"dur"`
	Results  []Result        `json:"results"` // medians, in run order
	All      [][]Result      `json:"all_rounds"`
	Idle     []IdleResult    `json:"idle"`
	Inflate  []InflateResult `json:"inflate"`
	Goals    []Goal          `json:"goals"`
	Problems []string        `json:"problems,omitempty"`
}

// Machine describes where the suite ran.
type Machine struct {
	CPU        string  `json:"cpu"`
	Cores      int     `json:"cores"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Go         string  `json:"go"`
	OS         string  `json:"os"`
	Kernel     string  `json:"kernel"`
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
	// Settings are the environment variables that tune the Go runtime
	// (GOGC, GOMEMLIMIT, GODEBUG), as set for this run: the goals are
	// defined at the defaults, so a tuned run says so.
	Settings []string `json:"settings,omitempty"`
}

// runtimeSettings returns the runtime's tuning variables set in the
// environment, as NAME=value.
func runtimeSettings() []string {
	var set []string
	for _, k := range [...]string{"GOGC", "GOMEMLIMIT", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			set = append(set, k+"="+v)
		}
	}
	return set
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Settings: runtimeSettings()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAvg()
	return m
}

func loadAvg() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &l)
	}
	return l
}

// Dataset shorthands.
var (
	ds1       = pushserver.Dataset{Events: 1}
	ds14      = pushserver.Dataset{Events: 14}
	ds100z    = pushserver.Dataset{Events: 100, Zlib: true}
	ds1StopWt = pushserver.Dataset{Events: 1, StopAndWait: true}
)

// TableScenarios are the scenarios of the main table, for one transport.
func TableScenarios(t Transport) []Scenario {
	var s []Scenario
	add := func(k Kind, d pushserver.Dataset, nodedup bool) {
		s = append(s, Scenario{Kind: k, Transport: t, Dataset: d, NoDedup: nodedup})
	}
	add(Ceiling, ds1, false)
	add(Batches, ds1, false)
	add(BatchesEvents, ds1, false)
	add(BatchesEvents, ds1, true)
	add(BatchesTyped, ds1, false)
	add(IterEvents, ds1, false)
	add(IterTyped, ds1, false)
	for _, d := range []pushserver.Dataset{ds1, ds14, ds100z} {
		if d != ds1 {
			add(Ceiling, d, false)
		}
		add(EventsRoute, d, false)
		add(EventsTyped, d, false)
		add(JSONEnvelope, d, false)
		add(JSONTyped, d, false)
	}
	add(EventsRoute, ds1, true)
	add(Ceiling, ds1StopWt, false)
	add(EventsRoute, ds1StopWt, false)
	add(Batches, ds1StopWt, false)
	return s
}

// ChartScenarios are the extra points of the chart (events per frame not
// in the table), for one transport.
func ChartScenarios(t Transport, sizes []int) []Scenario {
	var s []Scenario
	for _, n := range sizes {
		if n == 1 || n == 14 {
			continue // in the table
		}
		d := pushserver.Dataset{Events: n}
		s = append(s, Scenario{Kind: EventsRoute, Transport: t, Dataset: d}, Scenario{Kind: EventsTyped, Transport: t, Dataset: d},
			Scenario{Kind: JSONTyped, Transport: t, Dataset: d})
	}
	return s
}

// Run runs the whole suite: the table and chart scenarios for every
// transport (Rounds times, interleaved), the idle sessions and the
// inflate comparison, and evaluates the goals.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts.defaults()
	rep := &Report{Machine: machine(), Started: time.Now(), Rounds: opts.Rounds, Warm: opts.Warm.String(), Dur: opts.Dur.String()}
	selected := func(name string) bool { return opts.Run == nil || opts.Run.MatchString(name) }

	var scen []Scenario
	for _, t := range opts.Transports {
		scen = append(scen, TableScenarios(t)...)
	}
	for _, t := range opts.Transports {
		scen = append(scen, ChartScenarios(t, opts.ChartSizes)...)
	}
	scen = slices.DeleteFunc(scen, func(s Scenario) bool { return !selected(s.Name()) })
	if len(scen) > 0 {
		env, err := NewEnv()
		if err != nil {
			return nil, err
		}
		defer env.Close()
		all := make([][]Result, len(scen))
		for r := range opts.Rounds {
			for i, s := range scen {
				res, err := Measure(ctx, env, s, opts.Warm, opts.Dur)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					rep.Problems = append(rep.Problems, err.Error())
					fmt.Fprintf(opts.Log, "round %d %-40s error: %v\n", r+1, s.Name(), err)
					continue
				}
				all[i] = append(all[i], res)
				fmt.Fprintf(opts.Log, "round %d %-40s %10.0f frames/s %10.0f events/s %7.0f ns CPU/event\n",
					r+1, s.Name(), res.FramesPerSec, res.EventsPerSec, res.CPUPerEvent)
			}
		}
		for _, rs := range all {
			if len(rs) > 0 {
				rep.Results = append(rep.Results, median(rs))
				rep.All = append(rep.All, rs)
			}
		}
	}

	for _, t := range opts.Transports {
		for _, n := range opts.IdleN {
			if n <= 0 || !selected(idleName(t, n)) {
				continue
			}
			fmt.Fprintf(opts.Log, "idle: %d %s sessions…\n", n, t)
			res, err := Idle(ctx, t, n, 10)
			if err != nil && !errors.Is(err, ErrSkipped) {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %v", res.Name, err))
				fmt.Fprintf(opts.Log, "%s error: %v\n", res.Name, err)
				continue
			}
			rep.Idle = append(rep.Idle, res)
			fmt.Fprintf(opts.Log, "%-20s %8.0f B/session (heap %.0f, stacks %.0f, consumer %.0f), %.1f goroutines, connect %.1fs %s\n",
				res.Name, res.BytesPerSession, res.HeapPerSession, res.StackPerSession, res.ConsumerBytes,
				res.GoroutinesPerSession, res.ConnectSeconds, res.Skipped)
		}
	}

	if selected("inflate") {
		inf, err := Inflate(100, max(opts.Dur, time.Second))
		if err != nil {
			rep.Problems = append(rep.Problems, "inflate: "+err.Error())
		}
		rep.Inflate = inf
		for _, r := range inf {
			fmt.Fprintf(opts.Log, "inflate %-22s %5.2f GB/s %8.0f ns/op %.1f allocs/op\n", r.Name, r.GBPerSec, r.NsPerOp, r.AllocsPerOp)
		}
	}
	rep.Goals = Goals(rep)
	rep.Machine.LoadAfter = loadAvg()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// median returns the result with the median rate (events per second) of
// rs, so that all its figures come from one run.
func median(rs []Result) Result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b Result) int {
		switch {
		case a.EventsPerSec < b.EventsPerSec:
			return -1
		case a.EventsPerSec > b.EventsPerSec:
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

// Find returns the result named name.
func (r *Report) Find(name string) (Result, bool) {
	for _, x := range r.Results {
		if x.Name == name {
			return x, true
		}
	}
	return Result{}, false
}

// Goal is one performance goal and how the run did.
type Goal struct {
	Name   string  `json:"name"`
	What   string  `json:"what"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // ">=", "<=" or "<"
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	// Floor is the regression guard's bound (see BenchmarkGuard): a ratio
	// this run must not fall below (or above, for "<=" goals).
	Floor float64 `json:"floor"`
	Unit  string  `json:"unit,omitempty"`
}

// Regression floors: what this library reached on the recorded machine
// (benchmarks/README.md), with a margin for the noise of shared machines.
// The guard fails past them; the goals themselves are reported, not
// enforced. Ratios are machine-independent to first order; the idle bytes
// are absolute. The absolute speed goals (CPU ns per event, inflate GB/s)
// have no floor of their own, since a slower machine would fail them:
// their paths are guarded by ratios to a baseline of the same run
// (batches-typed/json, events-typed/json, inflate/zlib).
var floors = map[string]float64{
	"batches/ceiling":     0.25,     // measured 0.44-0.49 (tcp), 0.50-0.61 (tls)
	"events-typed/json":   1.3,      // measured 0.80-0.97
	"events-route/json":   0.6,      // measured 0.29-0.37
	"stop-and-wait/bound": 0.4,      // measured 0.58-1.28 (latency on a loaded machine)
	"idle-tcp":            16 << 10, // measured 13.1 KiB
	"idle-tls":            40 << 10, // measured 25.8-27.8 KiB
	"inflate/zlib":        1.0,      // measured 1.28-1.39
	"batches-typed/json":  0.6,      // measured 0.22-0.32
	"iter/batches":        0.7,      // measured 0.91-0.92
}

// Goals evaluates the performance goals on a report.
func Goals(r *Report) []Goal {
	var g []Goal
	ratio := func(name, what, num, den string, op string, target float64, floorKey string, cpu bool) {
		a, ok1 := r.Find(num)
		b, ok2 := r.Find(den)
		if !ok1 || !ok2 {
			return
		}
		var v float64
		if cpu {
			v = a.CPUPerEvent / b.CPUPerEvent
		} else {
			v = a.FramesPerSec / b.FramesPerSec
		}
		g = append(g, Goal{Name: name, What: what, Value: v, Op: op, Target: target, Floor: floors[floorKey], Pass: cmp(v, op, target)})
	}
	cpu := func(name, what, scen string, target float64, floorKey string) {
		a, ok := r.Find(scen)
		if !ok {
			return
		}
		g = append(g, Goal{Name: name, What: what, Value: a.CPUPerEvent, Op: "<=", Target: target, Floor: floors[floorKey],
			Pass: a.CPUPerEvent <= target, Unit: "ns"})
	}
	rate := func(name, what, num, den string) {
		a, ok1 := r.Find(num)
		b, ok2 := r.Find(den)
		if !ok1 || !ok2 {
			return
		}
		v := a.EventsPerSec / b.EventsPerSec
		g = append(g, Goal{Name: name, What: what, Value: v, Op: ">=", Target: 0.9, Floor: floors["iter/batches"], Pass: v >= 0.9})
	}
	for _, t := range []Transport{TCP, TLS} {
		ratio(fmt.Sprintf("%s batches/ceiling", t), "Batches API frames/s ÷ bare reader frames/s (1 event per frame)",
			fmt.Sprintf("%s/batches/1ev", t), fmt.Sprintf("%s/ceiling/1ev", t), ">=", 0.5, "batches/ceiling", false)
		cpu(fmt.Sprintf("%s batches-typed ns/event", t), "Batches + Batch.Events + Event.DataPoint, CPU ns per event (1 event per frame)",
			fmt.Sprintf("%s/batches-typed/1ev", t), 1500, "")
		cpu(fmt.Sprintf("%s events-typed ns/event", t), "Events API + Event.DataPoint, CPU ns per event (1 event per frame)",
			fmt.Sprintf("%s/events-typed/1ev", t), 2000, "")
		ratio(fmt.Sprintf("%s batches-typed/json 1ev", t), "Batches + Batch.Events + Event.DataPoint CPU per event ÷ encoding/json CPU per event (regression guard)",
			fmt.Sprintf("%s/batches-typed/1ev", t), fmt.Sprintf("%s/json-typed/1ev", t), "<=", 0.6, "batches-typed/json", true)
		rate(fmt.Sprintf("%s iter/batches", t), "BatchSubscription.All events/s ÷ Batches + Batch.Events events/s (1 event per frame)",
			fmt.Sprintf("%s/iter-events/1ev", t), fmt.Sprintf("%s/batches-events/1ev", t))
		rate(fmt.Sprintf("%s iter-typed/batches-typed", t), "All + Event.DataPoint events/s ÷ Batches + Batch.Events + Event.DataPoint events/s",
			fmt.Sprintf("%s/iter-typed/1ev", t), fmt.Sprintf("%s/batches-typed/1ev", t))
		for _, d := range []string{"1ev", "14ev", "100ev-zlib"} {
			ratio(fmt.Sprintf("%s events-typed/json %s", t, d), "Events API + Event.DataPoint CPU per event ÷ encoding/json CPU per event",
				fmt.Sprintf("%s/events-typed/%s", t, d), fmt.Sprintf("%s/json-typed/%s", t, d), "<=", 1.3, "events-typed/json", true)
			ratio(fmt.Sprintf("%s events-route/json %s", t, d), "Events API routing only CPU per event ÷ encoding/json CPU per event",
				fmt.Sprintf("%s/events-route/%s", t, d), fmt.Sprintf("%s/json-typed/%s", t, d), "<", 1.0, "events-route/json", true)
		}
		ratio(fmt.Sprintf("%s stop-and-wait/bound", t), "Events API blocks/s ÷ bare read-then-ack blocks/s, stop-and-wait server",
			fmt.Sprintf("%s/events-route/1ev-stopwait", t), fmt.Sprintf("%s/ceiling/1ev-stopwait", t), ">=", 0.9, "stop-and-wait/bound", false)
	}
	for _, i := range r.Idle {
		if i.Skipped != "" {
			continue
		}
		target, key := 16.0*1024, "idle-tcp"
		if i.Transport == TLS {
			target, key = 50*1024, "idle-tls"
		}
		g = append(g, Goal{Name: i.Name, What: "Go heap + stacks per idle subscription after traffic (bytes)", Value: i.BytesPerSession,
			Op: "<=", Target: target, Floor: floors[key], Pass: i.BytesPerSession <= target, Unit: "B"})
	}
	var lib, std float64
	for _, i := range r.Inflate {
		switch i.Name {
		case "protocol.Inflater":
			lib = i.GBPerSec
			g = append(g, Goal{Name: "inflate", What: "protocol.Inflater GB/s of inflated JSON, 100-event documents", Value: i.GBPerSec,
				Op: ">=", Target: 0.9, Pass: i.GBPerSec >= 0.9, Unit: "GB/s"})
		case "compress/zlib+Reset":
			std = i.GBPerSec
		}
	}
	if lib > 0 && std > 0 {
		g = append(g, Goal{Name: "inflate/zlib", What: "protocol.Inflater GB/s ÷ compress/zlib (one reader, Reset) GB/s of the same run (regression guard)",
			Value: lib / std, Op: ">=", Target: 1.0, Floor: floors["inflate/zlib"], Pass: lib/std >= 1.0})
	}
	return g
}

func cmp(v float64, op string, target float64) bool {
	switch op {
	case ">=":
		return v >= target
	case "<=":
		return v <= target
	case "<":
		return v < target
	}
	return false
}

// AboveFloor reports whether a goal's value is on the right side of its
// regression floor.
func (g Goal) AboveFloor() bool {
	if g.Floor == 0 {
		return true
	}
	if g.Op == ">=" {
		return g.Value >= g.Floor
	}
	return g.Value <= g.Floor
}
