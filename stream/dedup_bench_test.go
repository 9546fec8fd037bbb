package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/pushmon/pushmon/protocol"
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

// BenchmarkIdentity hashes the identity of a DataPoint event (its id).
func BenchmarkIdentity(b *testing.B) {
	doc := benchDoc(1)
	evs, err := splitDocument(nil, doc, protocol.FormatJSON, 1)
	if err != nil {
		b.Fatal(err)
	}
	d := newDedup(DefaultDedupWindow)
	b.ReportAllocs()
	for b.Loop() {
		if d.identity(&evs[0]) == 0 {
			b.Fatal("zero identity")
		}
	}
}
