package stream

import (
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
