package stream

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDedupLazyIndex: the window is the identities of the last n added,
// repeats included, whether the index was built all along or only when a
// check needs it; a whole window added without a check drops the index.
func TestDedupLazyIndex(t *testing.T) {
	const n = 64
	rng := rand.New(rand.NewPCG(5, 6))
	lazy, eager := newDedup(n), newDedup(n)
	eager.index()
	var last []uint64 // the model: the last n identities added
	for round := range 300 {
		for range rng.IntN(3 * n) {
			id := 1 + rng.Uint64N(2*n) // repeats are frequent
			lazy.add(id)
			eager.add(id)
			eager.quiet = 0 // eager stays indexed
			if last = append(last, id); len(last) > n {
				last = last[1:]
			}
		}
		for range 1 + rng.IntN(8) {
			id := 1 + rng.Uint64N(2*n)
			want := slices.Contains(last, id)
			if l, e := lazy.seen(id), eager.seen(id); l != want || e != want {
				t.Fatalf("round %d: seen(%d) = %v (lazy), %v (indexed all along), want %v", round, id, l, e, want)
			}
		}
	}
	for i := range n + 1 {
		lazy.add(uint64(1000 + i))
	}
	if lazy.indexed || lazy.set.len() != 0 || lazy.extra != nil {
		t.Errorf("a window without a check kept the index (%d identities)", lazy.set.len())
	}
	if !lazy.seen(uint64(1000+n)) || lazy.seen(uint64(1000)) || lazy.set.len() != n {
		t.Error("the window after re-indexing is not the last n identities")
	}
}
