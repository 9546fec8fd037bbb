package envelope

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// allocated returns the bytes allocated on the heap while f ran.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func xmlMsg(body string) string {
	return `<Msg topic="1/DataPoint/d/s" operation="INSERTION" timestamp="2024-01-02T03:04:05Z">` + body + `</Msg>`
}

// hostileDocs are documents of about size bytes that made the XML split
// allocate many times their size before the budgets.
func hostileDocs(size int) map[string]string {
	var attrs, xmlns strings.Builder
	for i := range 64 {
		fmt.Fprintf(&attrs, ` a%d="v"`, i)
		fmt.Fprintf(&xmlns, ` xmlns:n%d="u"`, i)
	}
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	return map[string]string{
		"nested":                 `<Document>` + xmlMsg(`<DataPoint>`+fill("<a>")) + `</DataPoint></Msg></Document>`,
		"65 attributes":          `<Document>` + xmlMsg(`<DataPoint><a`+attrs.String()+` b="1"/></DataPoint>`) + `</Document>`,
		"64 attributes, many":    `<Document>` + xmlMsg(`<DataPoint>`+fill(`<a`+attrs.String()+`/>`)+`</DataPoint>`) + `</Document>`,
		"64 xmlns, many":         `<Document>` + xmlMsg(`<DataPoint>`+fill(`<a`+xmlns.String()+`/>`)+`</DataPoint>`) + `</Document>`,
		"many Msgs of 64 xmlns":  `<Document>` + fill(xmlMsg(`<DataPoint`+xmlns.String()+`/>`)) + `</Document>`,
		"empty elements":         `<Document>` + xmlMsg(`<DataPoint>`+fill(`<a/>`)+`</DataPoint>`) + `</Document>`,
		"tiny Msgs":              `<Document>` + fill(`<Msg topic="1/X"><X/></Msg>`) + `</Document>`,
		"nested to 64, repeated": `<Document>` + xmlMsg(`<DataPoint>`+fill(strings.Repeat("<a>", 61)+strings.Repeat("</a>", 61))+`</DataPoint>`) + `</Document>`,
	}
}

// liveHeap returns the bytes of live heap objects, after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestXMLSplitMemoryBounded: whatever the document, an XML split
// allocates at most 64 times the document's size in all (encoding/xml's
// short-lived tokens: 48× for a document of empty elements, the worst
// seen) plus 256 KiB, and keeps at most 256 KiB live besides the document
// while it runs (measured after a collection every 16 384 tokens): the
// garbage goes as it comes. A document over a budget stops at its first
// offending token, having allocated almost nothing. Before the budgets,
// 16 KiB of zlib holding nested elements raised the heap by 550 MiB.
func TestXMLSplitMemoryBounded(t *testing.T) {
	const size = 512 << 10
	for name, doc := range hostileDocs(size) {
		t.Run(name, func(t *testing.T) {
			var err error
			b := []byte(doc)
			var peak uint64
			checks := 0
			s := Splitter{onCheck: func(int64) {
				if checks++; checks%64 == 0 {
					peak = max(peak, liveHeap())
				}
			}}
			base := liveHeap()
			peak = base
			n := allocated(func() { _, err = s.Split(context.Background(), b, XML, func(Event) {}) })
			peak = max(peak, liveHeap())
			held := int64(peak) - int64(base)
			t.Logf("%d bytes: %d allocated (%.1f×), at most %d more live, %v", len(doc), n, float64(n)/float64(len(doc)), held, err)
			if n > 64*uint64(len(doc))+256<<10 {
				t.Errorf("allocated %d bytes for a %d-byte document", n, len(doc))
			}
			if held > 256<<10 {
				t.Errorf("%d bytes more live during the split", held)
			}
			if errors.Is(err, xmlguard.ErrLimit) && n > 64<<10 {
				t.Errorf("refused over a budget after allocating %d bytes", n)
			}
		})
	}
	for _, name := range []string{"nested", "65 attributes"} {
		var s Splitter
		_, err := s.Split(context.Background(), []byte(hostileDocs(size)[name]), XML, func(Event) {})
		var le *xmlguard.LimitError
		if !errors.As(err, &le) {
			t.Errorf("%s: err = %v, want a *LimitError", name, err)
		}
	}
}

func TestJSONDepthBudget(t *testing.T) {
	doc := func(depth int) string {
		// root, Document, Msg: three levels; the body's arrays the rest.
		return `{"Document":{"Msg":{"topic":"1/X/1","X":` + strings.Repeat("[", depth-3) + strings.Repeat("]", depth-3) + `}}}`
	}
	if _, err := split(t, doc(64), JSON); err != nil {
		t.Errorf("depth 64: %v", err)
	}
	_, err := split(t, doc(65), JSON)
	var le *xmlguard.LimitError
	if !errors.As(err, &le) || le.Limit != LimitJSONDepth || le.Max != 64 || !errors.Is(err, xmlguard.ErrLimit) {
		t.Errorf("depth 65: %v", err)
	}
	// Also in a value that is skipped after a grammar error, and in an
	// ignored member.
	for _, d := range []string{
		`{"Document":{"Msg":{"topic":"1/X/1","X":[1,,` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `]}}}`,
		`{"Document":{"Msg":{"topic":"1/X/1","X":{},"y":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}}`,
	} {
		if _, err := split(t, d, JSON); !errors.As(err, &le) {
			t.Errorf("deep skipped value: %v", err)
		}
	}
	s := Splitter{Limits: Limits{MaxDepth: 5}}
	if _, err := s.Split(context.Background(), []byte(doc(6)), JSON, func(Event) {}); !errors.As(err, &le) || le.Max != 5 {
		t.Errorf("MaxDepth 5: %v", err)
	}
}

// TestJSONSplitAllocatesNothing: splitting a 100-event document allocates
// nothing.
func TestJSONSplitAllocatesNothing(t *testing.T) {
	doc := benchDoc(100)
	var s Splitter
	n := 0
	if a := testing.AllocsPerRun(50, func() {
		n = 0
		if _, err := s.Split(context.Background(), doc, JSON, func(Event) { n++ }); err != nil {
			t.Fatal(err)
		}
	}); a != 0 || n != 100 {
		t.Errorf("%.0f allocations, %d events", a, n)
	}
}

// TestSplitStopsSoonAfterCancel: cancelled from a hook after the first
// event, a split reads at most a few tokens more (the next Msg looks at
// the context before anything else); cancelled in the middle of a large
// body, it stops within checkEvery tokens of the cancel.
func TestSplitStopsSoonAfterCancel(t *testing.T) {
	n := 2000
	docs := map[string]struct {
		doc []byte
		f   Format
	}{
		"JSON": {benchDoc(n), JSON},
		"XML":  {[]byte(`<Document>` + strings.Repeat(xmlMsg(`<DataPoint><id>x</id><data>1</data></DataPoint>`), n) + `</Document>`), XML},
	}
	for name, d := range docs {
		t.Run(name+"/after the first event", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var s Splitter
			var at int64
			events := 0
			s.OnEvent = func(tokens int64) {
				if events++; events == 1 {
					cancel()
					at = tokens
				}
			}
			_, err := s.Split(ctx, d.doc, d.f, func(Event) {})
			if !errors.Is(err, context.Canceled) || events != 1 {
				t.Fatalf("err %v after %d events", err, events)
			}
			if more := s.Tokens() - at; more > 2 {
				t.Errorf("%d tokens read after the cancel", more)
			}
		})
		t.Run(name+"/inside a body", func(t *testing.T) {
			big := map[Format]string{
				JSON: `{"Document":{"Msg":{"topic":"1/X/1","X":[` + strings.Repeat(`1,`, 100_000) + `1]}}}`,
				XML:  `<Document>` + xmlMsg(`<X>`+strings.Repeat(`<a/>`, 100_000)+`</X>`) + `</Document>`,
			}[d.f]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var at int64
			s := Splitter{onCheck: func(tokens int64) {
				if at == 0 && tokens > 50_000 {
					cancel()
					at = tokens
				}
			}}
			_, err := s.Split(ctx, []byte(big), d.f, func(Event) {})
			if !errors.Is(err, context.Canceled) || at == 0 {
				t.Fatalf("err %v (cancelled at token %d)", err, at)
			}
			if more := s.Tokens() - at; more > checkEvery {
				t.Errorf("%d tokens read after the cancel, want ≤ %d", more, checkEvery)
			}
		})
	}
}

// benchDoc is a JSON document of n DataPoint events like the benchmarks'
// (about 270 bytes each).
func benchDoc(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"Document":{"Msg":`)
	if n != 1 {
		b.WriteByte('[')
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"topic":"1234/DataPoint/dev%02x/temp","operation":"INSERTION","timestamp":"2024-05-01T12:00:00.%03dZ",`+
			`"DataPoint":{"id":"0c9f6a9e-07d4-4f4e-9d2c-%012x","cstId":1234,"streamId":"dev%02x/temp","data":%d.25,`+
			`"timestamp":%d,"quality":0,"description":"a \"quoted\" word"}}`, i%50, i%1000, i, i%50, 20+i%10, 1714564800000+i)
	}
	if n != 1 {
		b.WriteByte(']')
	}
	b.WriteString("}}")
	return []byte(b.String())
}

func BenchmarkSplitJSON(b *testing.B) {
	for _, n := range []int{1, 14, 100} {
		doc := benchDoc(n)
		b.Run(fmt.Sprintf("%dev", n), func(b *testing.B) {
			var s Splitter
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Split(context.Background(), doc, JSON, func(Event) {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
