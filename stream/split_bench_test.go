package stream

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/internal/envelope"
)

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

// BenchmarkSplitJSON is the envelope splitter alone, per document; the
// events reuse one slice, as in modeEvents.
func BenchmarkSplitJSON(b *testing.B) {
	for _, n := range []int{1, 14, 100} {
		doc := benchDoc(n)
		b.Run(fmt.Sprintf("%dev", n), func(b *testing.B) {
			var evs []Event
			var sp envelope.Splitter
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var res splitResult
				evs, res = splitEvents(context.Background(), &sp, evs[:0], doc, FormatJSON, 1)
				if res.err != nil || len(evs) != n {
					b.Fatal(res, len(evs))
				}
			}
		})
	}
}

// BenchmarkSplitDedup is the per-document cost of what modeEvents does to
// a block before the consumer: split it, then hand its events over
// through the dedup window (to a consumer that takes them at once), in
// steady state (a full window, every event new, none checked).
func BenchmarkSplitDedup(b *testing.B) {
	for _, n := range []int{1, 100} {
		doc := benchDoc(n)
		b.Run(fmt.Sprintf("%dev", n), func(b *testing.B) {
			d := newDedup(DefaultDedupWindow)
			for i := range DefaultDedupWindow {
				d.add(uint64(i)*0x9E3779B97F4A7C15 | 1)
			}
			var evs []Event
			var sp envelope.Splitter
			send := func(Event) error { return nil }
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				var res splitResult
				evs, res = splitEvents(context.Background(), &sp, evs[:0], doc, FormatJSON, 1)
				if _, _, err := d.handOver(evs, nil, send); err != nil || res.err != nil {
					b.Fatal(err, res.err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
