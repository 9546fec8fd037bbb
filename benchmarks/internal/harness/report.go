package harness

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// WriteJSON writes the whole report, every round included.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteCSV writes one line per scenario (medians), then the idle and
// inflate results and the goals, each as its own block with a header.
func (r *Report) WriteCSV(w io.Writer) error {
	c := csv.NewWriter(w)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	c.Write([]string{"name", "transport", "kind", "dataset", "events_per_frame", "zlib", "stop_and_wait", "seconds",
		"frames", "events", "frames_per_sec", "events_per_sec", "cpu_ns_per_event", "cpu_ns_per_frame", "cpu_cores",
		"allocs_per_frame", "alloc_bytes_per_frame", "reads_per_frame", "writes_per_frame", "server_frames", "acks"})
	for _, x := range r.Results {
		c.Write([]string{x.Name, string(x.Transport), string(x.Kind), x.Dataset, strconv.Itoa(x.EventsPerFrame),
			strconv.FormatBool(x.Zlib), strconv.FormatBool(x.StopAndWait), f(x.Seconds),
			strconv.FormatUint(x.Frames, 10), strconv.FormatUint(x.Events, 10), f(x.FramesPerSec), f(x.EventsPerSec),
			f(x.CPUPerEvent), f(x.CPUPerFrame), f(x.CPUCores), f(x.AllocsPerFrame), f(x.AllocBytesPerFrame),
			f(x.ReadsPerFrame), f(x.WritesPerFrame), strconv.FormatUint(x.ServerFrames, 10), strconv.FormatUint(x.Acks, 10)})
	}
	c.Write(nil)
	c.Write([]string{"idle", "transport", "sessions", "events_per_session", "bytes_per_session", "heap_per_session",
		"stack_per_session", "consumer_bytes", "goroutines_per_session", "connect_seconds", "skipped"})
	for _, x := range r.Idle {
		c.Write([]string{x.Name, string(x.Transport), strconv.Itoa(x.Sessions), strconv.Itoa(x.EventsPerSession),
			f(x.BytesPerSession), f(x.HeapPerSession), f(x.StackPerSession), f(x.ConsumerBytes),
			f(x.GoroutinesPerSession), f(x.ConnectSeconds), x.Skipped})
	}
	c.Write(nil)
	c.Write([]string{"inflate", "events", "in_bytes", "out_bytes", "ns_per_op", "gb_per_sec", "allocs_per_op"})
	for _, x := range r.Inflate {
		c.Write([]string{x.Name, strconv.Itoa(x.Events), strconv.Itoa(x.InBytes), strconv.Itoa(x.OutBytes),
			f(x.NsPerOp), f(x.GBPerSec), f(x.AllocsPerOp)})
	}
	c.Write(nil)
	c.Write([]string{"goal", "value", "op", "target", "pass", "floor", "what"})
	for _, g := range r.Goals {
		c.Write([]string{g.Name, f(g.Value), g.Op, f(g.Target), strconv.FormatBool(g.Pass), f(g.Floor), g.What})
	}
	c.Flush()
	return c.Error()
}

// si formats v with a k/M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// WriteMarkdown writes the goals, the results, the idle sessions and the
// inflate comparison as Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s, Linux %s; load average %.1f before, %.1f after; %d rounds of %s after %s warm-up, medians; %.0f s in all.\n\n",
		m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.OS, m.Kernel, m.LoadBefore, m.LoadAfter, r.Rounds, r.Dur, r.Warm, r.Seconds)
	if len(m.Settings) > 0 {
		fmt.Fprintf(w, "**Runtime settings: %s.** The goals are defined at the runtime's defaults; this run's figures do not judge them.\n\n", strings.Join(m.Settings, " "))
	}

	fmt.Fprintln(w, "| goal | measured | target | met | regression floor |")
	fmt.Fprintln(w, "|---|---:|---:|:---:|---:|")
	for _, g := range r.Goals {
		val, tgt, fl := fmt.Sprintf("%.3f", g.Value), fmt.Sprintf("%s %.3g", g.Op, g.Target), fmt.Sprintf("%.3g", g.Floor)
		switch g.Unit {
		case "B":
			val, tgt, fl = fmt.Sprintf("%.1f KiB", g.Value/1024), fmt.Sprintf("%s %.0f KiB", g.Op, g.Target/1024), fmt.Sprintf("%.0f KiB", g.Floor/1024)
		case "GB/s":
			val, tgt = fmt.Sprintf("%.2f GB/s", g.Value), fmt.Sprintf("%s %.1f GB/s", g.Op, g.Target)
		case "ns":
			val, tgt, fl = fmt.Sprintf("%.0f ns", g.Value), fmt.Sprintf("%s %.0f ns", g.Op, g.Target), fmt.Sprintf("%.0f ns", g.Floor)
		}
		met := "yes"
		if !g.Pass {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", g.Name, val, tgt, met, fl)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "| scenario | frames/s | events/s | CPU ns/event | client cores | allocs/frame | B alloc/frame | reads/frame | ack writes/frame |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, x := range r.Results {
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.2f | %.2f | %.0f | %.4f | %.4f |\n", x.Name, si(x.FramesPerSec), si(x.EventsPerSec),
			x.CPUPerEvent, x.CPUCores, x.AllocsPerFrame, x.AllocBytesPerFrame, x.ReadsPerFrame, x.WritesPerFrame)
	}
	fmt.Fprintln(w)

	if len(r.Idle) > 0 {
		fmt.Fprintln(w, "| idle sessions | bytes/session (library) | heap/session | stacks/session | consumer goroutine | goroutines/session | connect time |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
		for _, x := range r.Idle {
			if x.Skipped != "" {
				fmt.Fprintf(w, "| %s | skipped: %s | | | | | |\n", x.Name, x.Skipped)
				continue
			}
			fmt.Fprintf(w, "| %s | %.1f KiB | %.1f KiB | %.1f KiB | %.1f KiB | %.2f | %.1f s |\n", x.Name, x.BytesPerSession/1024,
				x.HeapPerSession/1024, x.StackPerSession/1024, x.ConsumerBytes/1024, x.GoroutinesPerSession, x.ConnectSeconds)
		}
		fmt.Fprintln(w)
	}
	if len(r.Inflate) > 0 {
		fmt.Fprintln(w, "| inflate (100 events) | compressed | inflated | ns/document | GB/s inflated | allocs/document |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
		for _, x := range r.Inflate {
			fmt.Fprintf(w, "| %s | %d B | %d B | %.0f | %.2f | %.2f |\n", x.Name, x.InBytes, x.OutBytes, x.NsPerOp, x.GBPerSec, x.AllocsPerOp)
		}
		fmt.Fprintln(w)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "Problems:")
		for _, p := range r.Problems {
			fmt.Fprintln(w, "- "+p)
		}
	}
}

// WriteChart draws events/s against events per frame (log scale) for the
// Events API (routing only, and with Event.DataPoint) and for the
// encoding/json baseline, TCP and TLS, as a small SVG.
func (r *Report) WriteChart(w io.Writer) error {
	type series struct {
		label string
		color string
		dash  bool
		thin  bool
		pts   [][2]float64
	}
	var ss []series
	for _, t := range []Transport{TCP, TLS} {
		for _, k := range []Kind{EventsRoute, EventsTyped, JSONTyped} {
			s := series{label: string(t) + " " + map[Kind]string{EventsRoute: "Events API, routing only",
				EventsTyped: "Events API + DataPoint()", JSONTyped: "encoding/json"}[k],
				color: map[Transport]string{TCP: "#1f77b4", TLS: "#d62728"}[t], dash: k == JSONTyped, thin: k == EventsRoute}
			for _, x := range r.Results {
				if x.Transport == t && x.Kind == k && !x.Zlib && !x.StopAndWait && !strings.HasSuffix(x.Name, "-nodedup") {
					s.pts = append(s.pts, [2]float64{float64(x.EventsPerFrame), x.EventsPerSec})
				}
			}
			slices.SortFunc(s.pts, func(a, b [2]float64) int { return int(a[0] - b[0]) })
			if len(s.pts) > 0 {
				ss = append(ss, s)
			}
		}
	}
	const W, H, left, right, top, bottom = 820, 360, 70, 230, 30, 50
	xmin, xmax, ymax := 1.0, 1.0, 1.0
	for _, s := range ss {
		for _, p := range s.pts {
			xmax = max(xmax, p[0])
			ymax = max(ymax, p[1])
		}
	}
	step := math.Pow(10, math.Floor(math.Log10(ymax)))
	for ymax/step < 4 {
		step /= 2
	}
	ymax = math.Ceil(ymax/step) * step
	if xmax == xmin {
		xmax = 10
	}
	px := func(x float64) float64 {
		return left + (math.Log(x)-math.Log(xmin))/(math.Log(xmax)-math.Log(xmin))*(W-left-right)
	}
	py := func(y float64) float64 { return H - bottom - y/ymax*(H-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Events/s against events per frame (loopback, %s)</text>`+"\n", left, r.Machine.Go)
	for y := 0.0; y <= ymax+step/2; y += step {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, py(y), W-right, py(y), left-6, py(y)+4, si(y))
	}
	for _, x := range []float64{1, 2, 5, 10, 14, 20, 50, 100, 200, 500, 1000} {
		if x < xmin || x > xmax {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n",
			px(x), top, px(x), H-bottom, px(x), H-bottom+16, x)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">events per frame (uncompressed JSON, %d B per event)</text>`+"\n", (W-right+left)/2, H-12, pushserver.EventSize())
	fmt.Fprintf(&b, `<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">events/s</text>`+"\n", (H-bottom+top)/2, (H-bottom+top)/2)
	for i, s := range ss {
		var pts []string
		for _, p := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p[0]), py(p[1])))
		}
		dash, width := "", 2
		if s.dash {
			dash = ` stroke-dasharray="6 4"`
		}
		if s.thin {
			width = 1
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%d"%s points="%s"/>`+"\n", s.color, width, dash, strings.Join(pts, " "))
		for _, p := range pts {
			x, y, _ := strings.Cut(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, s.color)
		}
		lx, ly := W-right+14, top+8+i*18
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%d"%s/><text x="%d" y="%d">%s</text>`+"\n",
			lx, ly, lx+26, ly, s.color, width, dash, lx+32, ly+4, s.label)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
