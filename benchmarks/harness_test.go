package benchmarks

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/harness"
	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

// TestHarnessSmoke runs each kind of scenario over TCP and TLS, against
// the push server child, until it has consumed 100 frames' worth of units,
// and checks what it did rather than how fast: the run ends gracefully, and the server's report (checked by
// Measure) shows every ack naming the next block with status 200, no more
// acks than frames written in full, and an ack for every frame the
// consumer counted (AckManual's last Batch aside). A stop-and-wait server
// sends a frame only after the previous one's ack.
func TestHarnessSmoke(t *testing.T) {
	e, err := harness.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tr := range []harness.Transport{harness.TCP, harness.TLS} {
		for _, s := range []harness.Scenario{
			{Kind: harness.Ceiling, Transport: tr, Dataset: pushserver.Dataset{Events: 1}},
			{Kind: harness.Batches, Transport: tr, Dataset: pushserver.Dataset{Events: 1}},
			{Kind: harness.BatchesEvents, Transport: tr, Dataset: pushserver.Dataset{Events: 14}},
			{Kind: harness.EventsTyped, Transport: tr, Dataset: pushserver.Dataset{Events: 14}},
			{Kind: harness.JSONTyped, Transport: tr, Dataset: pushserver.Dataset{Events: 100, Zlib: true}},
			{Kind: harness.EventsRoute, Transport: tr, Dataset: pushserver.Dataset{Events: 1, StopAndWait: true}},
			{Kind: harness.BatchesTyped, Transport: tr, Dataset: pushserver.Dataset{Events: 1}},
			{Kind: harness.IterTyped, Transport: tr, Dataset: pushserver.Dataset{Events: 14}},
			{Kind: harness.IterEvents, Transport: tr, Dataset: pushserver.Dataset{Events: 1, StopAndWait: true}},
		} {
			// Counted in work, not in time: a window of wall time can see
			// no frame counted on a busy machine (the iterator kinds count
			// every 64 frames).
			n := uint64(100 * s.Dataset.Events)
			r, err := harness.RunN(context.Background(), e, s, 0, n, func() {}, func() {})
			if err != nil {
				t.Fatalf("%s: %v", s.Name(), err)
			}
			if r.Frames == 0 || r.Events/uint64(s.Dataset.Events) != r.Frames { // the Events API counts events, and frames from them
				t.Errorf("%s: %d frames, %d events", s.Name(), r.Frames, r.Events)
			}
			if r.ServerFrames == 0 || r.CPUPerEvent <= 0 {
				t.Errorf("%s: %d frames sent, %.0f ns CPU per event", s.Name(), r.ServerFrames, r.CPUPerEvent)
			}
			if s.Dataset.StopAndWait && r.Acks+1 < r.ServerFrames {
				t.Errorf("%s: stop-and-wait server sent %d frames for %d acks", s.Name(), r.ServerFrames, r.Acks)
			}
		}
	}
}

// TestIdleSmoke measures a handful of idle sessions.
func TestIdleSmoke(t *testing.T) {
	r, err := harness.Idle(context.Background(), harness.TCP, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.BytesPerSession <= 0 || r.GoroutinesPerSession < 0.5 {
		t.Errorf("%+v", r)
	}
}

// TestCommandCancel cancels a sim child command while the child is still
// working on it: Command returns the context's error, not the answer the
// child gives 10 s later (nobody connects).
func TestCommandCancel(t *testing.T) {
	child, err := pushserver.Start(pushserver.ChildSpec{Role: pushserver.RoleSim, Sessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	var ans pushserver.SimAnswer
	err = child.Command(ctx, "connected 10", &ans)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Command = %v (answer %+v), want context.Canceled", err, ans)
	}
}

// TestReportOutputs writes every output of a small report and parses it
// back: the JSON, the CSV blocks, the SVG chart; and the goals derived
// from it.
func TestReportOutputs(t *testing.T) {
	res := func(name string, tr harness.Transport, k harness.Kind, n int, fps, cpu float64) harness.Result {
		return harness.Result{Name: name, Transport: tr, Kind: k, EventsPerFrame: n, FramesPerSec: fps,
			EventsPerSec: fps * float64(n), CPUPerEvent: cpu}
	}
	rep := &harness.Report{Results: []harness.Result{
		res("tcp/ceiling/1ev", harness.TCP, harness.Ceiling, 1, 6e6, 100),
		res("tcp/batches/1ev", harness.TCP, harness.Batches, 1, 1e6, 900),
		res("tcp/events-typed/1ev", harness.TCP, harness.EventsTyped, 1, 2e5, 4000),
		res("tcp/batches-typed/1ev", harness.TCP, harness.BatchesTyped, 1, 3e5, 3500),
		res("tcp/json-typed/1ev", harness.TCP, harness.JSONTyped, 1, 1.5e5, 5000),
		res("tcp/events-typed/14ev", harness.TCP, harness.EventsTyped, 14, 2e4, 3500),
		res("tcp/json-typed/14ev", harness.TCP, harness.JSONTyped, 14, 1.4e4, 5000),
	}, Idle: []harness.IdleResult{{Name: "tcp/idle/1000", Transport: harness.TCP, Sessions: 1000, BytesPerSession: 13000}},
		Inflate: []harness.InflateResult{{Name: "protocol.Inflater", GBPerSec: 1.2}, {Name: "compress/zlib+Reset", GBPerSec: 1.5}}}
	rep.Goals = harness.Goals(rep)
	want := map[string]bool{"tcp batches/ceiling": false, "tcp events-typed/json 1ev": true,
		"tcp events-typed/json 14ev": true, "tcp/idle/1000": true, "inflate": true,
		"tcp batches-typed ns/event": false, "tcp batches-typed/json 1ev": false, "inflate/zlib": false}
	// The guard's floors: ratios to a baseline of the same run, none on an
	// absolute speed, which a slower machine would fail.
	aboveFloor := map[string]bool{"tcp batches-typed ns/event": true, "inflate": true,
		"tcp batches-typed/json 1ev": false, "inflate/zlib": false}
	for _, g := range rep.Goals {
		if pass, ok := want[g.Name]; ok && g.Pass != pass {
			t.Errorf("goal %s = %.3f: pass %v, want %v", g.Name, g.Value, g.Pass, pass)
		}
		if above, ok := aboveFloor[g.Name]; ok && g.AboveFloor() != above {
			t.Errorf("goal %s = %.3f (floor %.3g): above its floor %v, want %v", g.Name, g.Value, g.Floor, g.AboveFloor(), above)
		}
		delete(want, g.Name)
	}
	for name := range want {
		if !strings.Contains(name, "route") {
			t.Errorf("goal %s missing", name)
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back harness.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Fatalf("JSON: %v, %d results", err, len(back.Results))
	}
	var cs bytes.Buffer
	if err := rep.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(&cs)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil || len(rows) < len(rep.Results)+1 || rows[1][0] != "tcp/ceiling/1ev" {
		t.Fatalf("CSV: %v, %d rows", err, len(rows))
	}
	var svg bytes.Buffer
	if err := rep.WriteChart(&svg); err != nil {
		t.Fatal(err)
	}
	polylines := 0
	for d := xml.NewDecoder(&svg); ; {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 2 { // tcp typed and tcp json: no routing-only or tls results
		t.Errorf("%d series in the chart, want 2", polylines)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| tcp batches/ceiling | 0.167 |") {
		t.Errorf("Markdown:\n%s", md.String())
	}
	if strings.Contains(md.String(), "Runtime settings") {
		t.Errorf("a run at the runtime's defaults is labelled tuned:\n%s", md.String())
	}
	// A run with the collector tuned says so, in both outputs.
	rep.Machine.Settings = []string{"GOGC=400"}
	md.Reset()
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "**Runtime settings: GOGC=400.**") {
		t.Errorf("a tuned run is not labelled:\n%s", md.String())
	}
	js.Reset()
	back = harness.Report{}
	if err := rep.WriteJSON(&js); err != nil || json.Unmarshal(js.Bytes(), &back) != nil || !slices.Equal(back.Machine.Settings, []string{"GOGC=400"}) {
		t.Errorf("JSON (%v):\n%s", err, js.String())
	}
}
