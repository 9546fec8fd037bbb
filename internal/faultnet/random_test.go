package faultnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"

	"github.com/pushmon/pushmon/internal/faultnet"
)

func TestRandomDeterministic(t *testing.T) {
	opts := faultnet.RandomOptions{Min: 100, Max: 5000, MaxSlice: 64}
	distinct := map[string]bool{}
	for seed := int64(-50); seed < 150; seed++ {
		a, b := faultnet.Random(seed, opts), faultnet.Random(seed, opts)
		if !reflect.DeepEqual(a, b) || a.String() != b.String() {
			t.Fatalf("seed %d: two draws differ: %v / %v", seed, a, b)
		}
		distinct[a.String()] = true
	}
	if len(distinct) < 190 {
		t.Fatalf("200 seeds gave only %d distinct scripts", len(distinct))
	}
}

// randomCut returns the single cut of a Random script and its direction.
func randomCut(t *testing.T, s faultnet.Script) (faultnet.Fault, faultnet.Direction) {
	t.Helper()
	var cuts []faultnet.Fault
	var dir faultnet.Direction
	for _, f := range s.Read {
		if f.Kind == faultnet.KindCut {
			cuts, dir = append(cuts, f), faultnet.Read
		}
	}
	for _, f := range s.Write {
		if f.Kind == faultnet.KindCut {
			cuts, dir = append(cuts, f), faultnet.Write
		}
	}
	if len(cuts) != 1 {
		t.Fatalf("script %v has %d cuts, want 1", s, len(cuts))
	}
	return cuts[0], dir
}

func TestRandomDistribution(t *testing.T) {
	opts := faultnet.RandomOptions{Min: 10, Max: 14, MaxSlice: 3}
	offsets := map[int64]int{}
	combos := map[[2]string]int{}
	slices := map[int]int{}
	for seed := range int64(400) {
		s := faultnet.Random(seed, opts)
		if err := s.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		cut, dir := randomCut(t, s)
		offsets[cut.Offset]++
		combos[[2]string{dir.String(), cut.Mode.String()}]++
		if len(s.Read) < 1 || len(s.Write) < 1 || s.Read[0].Kind != faultnet.KindSlice || s.Write[0].Kind != faultnet.KindSlice {
			t.Fatalf("seed %d: %v lacks the slicing MaxSlice asks for", seed, s)
		}
		slices[s.Read[0].Size]++
		slices[s.Write[0].Size]++
	}
	for o := range offsets {
		if o < opts.Min || o >= opts.Max {
			t.Fatalf("offset %d outside [%d, %d)", o, opts.Min, opts.Max)
		}
	}
	if len(offsets) != 4 {
		t.Fatalf("offsets drawn: %v, want all of 10..13", offsets)
	}
	if len(combos) != 4 {
		t.Fatalf("direction/mode combinations drawn: %v, want all four", combos)
	}
	if len(slices) != 3 || slices[0] != 0 || slices[4] != 0 {
		t.Fatalf("slice sizes drawn: %v, want exactly 1..3", slices)
	}
}

func TestRandomConstraints(t *testing.T) {
	for seed := range int64(50) {
		s := faultnet.Random(seed, faultnet.RandomOptions{Min: 0, Max: 1, Dirs: faultnet.Read, Mode: faultnet.RST})
		cut, dir := randomCut(t, s)
		if dir != faultnet.Read || cut.Mode != faultnet.RST || cut.Offset != 0 || len(s.Write) != 0 {
			t.Fatalf("seed %d: %v, want only read[cut@0/rst]", seed, s)
		}
		s = faultnet.Random(seed, faultnet.RandomOptions{Min: 7, Max: 9, Dirs: faultnet.Write, Mode: faultnet.FIN})
		if cut, dir = randomCut(t, s); dir != faultnet.Write || cut.Mode != faultnet.FIN || len(s.Read) != 0 {
			t.Fatalf("seed %d: %v, want only a write FIN cut", seed, s)
		}
	}
	for _, o := range []faultnet.RandomOptions{
		{Min: -1, Max: 5}, {Min: 5, Max: 5}, {Min: 6, Max: 5},
		{Max: 5, Dirs: 4}, {Max: 5, Mode: 3}, {Max: 5, MaxSlice: -1},
	} {
		err := faultnet.Random(1, o).Validate()
		var se *faultnet.ScriptError
		if !errors.Is(err, faultnet.ErrInvalidScript) || !errors.As(err, &se) {
			t.Errorf("Random(%+v).Validate() = %v, want a *ScriptError", o, err)
		}
	}
}

// TestRandomChaos runs many seeded scripts over net.Pipe with traffic in
// both directions and checks that the cut direction delivered exactly the
// drawn offset and the other direction a prefix of its stream. A failure
// names the seed, which reproduces it.
func TestRandomChaos(t *testing.T) {
	up, down := pattern(400, 50), pattern(400, 51)
	for seed := range int64(200) {
		s := faultnet.Random(seed, faultnet.RandomOptions{Min: 0, Max: 300, MaxSlice: 16})
		cut, dir := randomCut(t, s)
		a, b := net.Pipe()
		c := faultnet.Wrap(a, s)
		var wg sync.WaitGroup
		var peerGot []byte
		wg.Go(func() { peerGot, _ = io.ReadAll(b) })
		wg.Go(func() { writeChunks(b, down, sizer(uint64(seed), 40)) })
		wg.Go(func() { writeChunks(c, up, sizer(uint64(seed)+1, 40)) })
		got, _ := readChunks(c, sizer(uint64(seed)+2, 40))
		wg.Wait()
		c.Close()
		b.Close()
		sent, recv := peerGot, got
		if !bytes.HasPrefix(up, sent) || !bytes.HasPrefix(down, recv) {
			t.Fatalf("seed %d (%v): a stream was altered", seed, s)
		}
		n := int64(len(sent))
		if dir == faultnet.Read {
			n = int64(len(recv))
		}
		if n != cut.Offset {
			t.Fatalf("seed %d (%v): %v side delivered %d bytes, want %d", seed, s, dir, n, cut.Offset)
		}
	}
}
