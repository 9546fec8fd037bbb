package stream

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// BenchmarkDedup is the per-event cost of the dedup window in steady state
// (full default window, every event new): one lookup, one eviction, one
// insertion.
func BenchmarkDedup(b *testing.B) {
	d := newDedup(DefaultDedupWindow)
	rng := rand.New(rand.NewPCG(5, 6))
	for range DefaultDedupWindow {
		d.add(rng.Uint64())
	}
	b.ReportAllocs()
	for b.Loop() {
		id := rng.Uint64()
		if !d.seen(id) {
			d.add(id)
		}
	}
}

// BenchmarkIdentity hashes the window identity of a DataPoint event (all
// its fields, its body included).
func BenchmarkIdentity(b *testing.B) {
	doc := benchDoc(1)
	evs, res := splitEvents(context.Background(), nil, nil, doc, FormatJSON, 1)
	if res.err != nil {
		b.Fatal(res.err)
	}
	d := newDedup(DefaultDedupWindow)
	b.ReportAllocs()
	for b.Loop() {
		if d.key(&evs[0]) == 0 {
			b.Fatal("zero identity")
		}
	}
}

// dataPointID returns the "id" member of a JSON DataPoint body as it is
// written (a string keeps its quotes), nil when there is none.
func dataPointID(body []byte) []byte {
	var dp struct{ ID json.RawMessage }
	if json.Unmarshal(body, &dp) != nil {
		return nil
	}
	return dp.ID
}
