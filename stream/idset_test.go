package stream

import (
	"math/rand/v2"
	"testing"
)

// TestIDSetAgainstMap drives idSet and a map with the same random inserts
// and removals and compares them: with uniform keys, with keys crowded
// into a few home slots at the start of the table (long probe runs), and
// crowded at its end (runs that wrap around), and with the key 0.
func TestIDSetAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	families := map[string]func() uint64{
		"uniform": rng.Uint64,
		"start":   func() uint64 { return rng.Uint64N(8)<<20 | rng.Uint64N(64) },
		"end":     func() uint64 { return rng.Uint64N(8)<<20 | (1<<20 - 1 - rng.Uint64N(64)) },
	}
	for name, family := range families {
		var s idSet
		m := map[uint64]bool{}
		key := func() uint64 {
			if rng.IntN(50) == 0 {
				return 0
			}
			return family()
		}
		for step := range 20_000 {
			k := key()
			switch {
			case rng.IntN(3) == 0:
				s.remove(k)
				delete(m, k)
			case !m[k]:
				if s.has(k) {
					t.Fatalf("%s, step %d: has(%#x) before insert", name, step, k)
				}
				s.insert(k)
				m[k] = true
			}
			if probe := key(); s.has(probe) != m[probe] {
				t.Fatalf("%s, step %d: has(%#x) = %v, want %v", name, step, probe, s.has(probe), m[probe])
			}
			if s.len() != len(m) {
				t.Fatalf("%s, step %d: len %d, want %d", name, step, s.len(), len(m))
			}
		}
		for k := range m {
			if !s.has(k) {
				t.Fatalf("%s: lost %#x", name, k)
			}
		}
	}
}

// TestDedupWindowSteadyState: a long run of distinct identities through a
// full window keeps exactly the last n and a bounded table.
func TestDedupWindowSteadyState(t *testing.T) {
	const n = 1000
	d := newDedup(n)
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]uint64, 0, 50*n)
	for range 50 * n {
		id := rng.Uint64()
		ids = append(ids, id)
		d.add(id)
	}
	for i, id := range ids {
		if want := i >= len(ids)-n; d.seen(id) != want {
			t.Fatalf("id %d of %d: seen %v, want %v", i, len(ids), !want, want)
		}
	}
	if d.set.len() != n || len(d.set.slots) > 4*n {
		t.Errorf("set holds %d in %d slots, want %d in at most %d", d.set.len(), len(d.set.slots), n, 4*n)
	}
}
