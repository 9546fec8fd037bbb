package streamtest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A monitor's template comes from whoever creates the monitor: a client of
// the simulator, possibly hostile. Rendering it must stay within bounded
// memory and work, whatever it says: loops nested over the block's events
// multiply, and the simulator renders on its senders' goroutines (which
// Close waits for) and on REST handlers (history).

// nestedEach returns a template of depth loops, each over the root array
// of Msg objects (every level reaches it with as many "../"), around
// body.
func nestedEach(depth int, body string) string {
	var b strings.Builder
	for k := range depth {
		b.WriteString("{{#each " + strings.Repeat("../", k) + "this}}")
	}
	b.WriteString(body)
	for range depth {
		b.WriteString("{{/each}}")
	}
	return b.String()
}

func TestTemplateRenderIsBounded(t *testing.T) {
	root := make([]any, 8)
	for i := range root {
		root[i] = map[string]any{"topic": "1/DataPoint/a", "operation": "INSERTION"}
	}
	for _, c := range []struct {
		name, tmpl string
	}{
		// 8×8 copies of 300 KB of text: 19 MB of output.
		{"output", nestedEach(2, strings.Repeat("x", 300<<10))},
		// 8^7 = 2.1 M iterations that write nothing.
		{"work", nestedEach(7, "")},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp, err := parseTemplate(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tp.render(nil, root)
			if !errors.Is(err, errTemplateBudget) {
				t.Errorf("rendered %d bytes, err %v; want errTemplateBudget", len(out), err)
			}
			if len(out) > maxTemplateOutput+len(c.tmpl) {
				t.Errorf("rendered %d bytes, more than the budget allows", len(out))
			}
		})
	}
}

// TestTemplateBombSendsTheStandardDocument: a block whose template
// exceeds the budget is sent as the standard document, as one that fails
// to render is, and the push connection goes on.
func TestTemplateBombSendsTheStandardDocument(t *testing.T) {
	s := NewServer(offline())
	defer s.Close()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 8, BatchDuration: time.Hour,
		SchemaType: "handlebars", SchemaData: nestedEach(7, "")})
	rc := pipeClient(t, s)
	defer rc.Close()
	rc.mustConnect(id)
	evs := make([]Event, 8)
	for i := range evs {
		evs[i] = dp("d1", "t", float64(i))
	}
	s.Publish(evs...)
	b, err := rc.readBlock()
	if err != nil || b.Count != 8 || !strings.HasPrefix(string(b.Doc), `{"Document":`) {
		t.Errorf("block %q (count %d): %v", b.Doc, b.Count, err)
	}
}
