// Command pushbench runs the pushmon benchmark suite: a push server in a
// child process streams pre-built frames on loopback (plain TCP and TLS)
// while this process consumes them with a bare reader (the ceiling), the
// Batches API, the Events API and a plain encoding/json baseline; then
// idle sessions against the simulator, and inflate speed. It prints
// Markdown tables (goals first) and writes results.json, results.csv and
// chart.svg.
//
//	go run ./benchmarks/... [-rounds 3] [-dur 1s] [-run regexp] [-out benchmarks/results]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/harness"
	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

func main() {
	pushserver.MaybeRunChild()
	var (
		rounds     = flag.Int("rounds", 3, "runs of each scenario (interleaved); the median counts")
		dur        = flag.Duration("dur", time.Second, "measured time per run")
		warm       = flag.Duration("warm", 300*time.Millisecond, "warm-up per run")
		run        = flag.String("run", "", "only scenarios, idle runs (tcp/idle/1000) and inflate whose name matches this regexp")
		idle       = flag.String("idle", "1000,10000", "idle session counts, comma-separated (\"\" for none)")
		transports = flag.String("transports", "tcp,tls", "transports")
		out        = flag.String("out", defaultOut(), "directory for results.json, results.csv and chart.svg (\"\" for none)")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of this process")
		heapprof   = flag.String("heapprofile", "", "write heap profiles of the idle sessions to FILE.TRANSPORT-N")
	)
	flag.Parse()
	opts := harness.Options{Rounds: *rounds, Dur: *dur, Warm: *warm, Log: os.Stderr}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fail(err)
		}
		opts.Run = re
	}
	for _, f := range strings.Split(*idle, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			opts.IdleN = append(opts.IdleN, n)
		}
	}
	if len(opts.IdleN) == 0 {
		opts.IdleN = []int{-1} // none: an empty list means the defaults
	}
	for _, t := range strings.Split(*transports, ",") {
		opts.Transports = append(opts.Transports, harness.Transport(strings.TrimSpace(t)))
	}
	harness.IdleHeapProfile = *heapprof
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := harness.Run(ctx, opts)
	if err != nil {
		fail(err)
	}
	rep.WriteMarkdown(os.Stdout)
	if *out == "" {
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for name, write := range map[string]func(*os.File) error{
		"results.json": func(f *os.File) error { return rep.WriteJSON(f) },
		"results.csv":  func(f *os.File) error { return rep.WriteCSV(f) },
		"chart.svg":    func(f *os.File) error { return rep.WriteChart(f) },
	} {
		f, err := os.Create(filepath.Join(*out, name))
		if err == nil {
			err = write(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fail(err)
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %s/{results.json,results.csv,chart.svg}\n", *out)
}

// defaultOut is benchmarks/results when run from the repository root.
func defaultOut() string {
	if fi, err := os.Stat("benchmarks"); err == nil && fi.IsDir() {
		return filepath.Join("benchmarks", "results")
	}
	return "results"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pushbench:", err)
	os.Exit(1)
}
