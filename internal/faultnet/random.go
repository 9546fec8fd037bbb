package faultnet

import "math/rand/v2"

// RandomOptions shapes the Script that [Random] draws.
type RandomOptions struct {
	// Min and Max bound the cut: its offset is uniform in [Min, Max).
	// Required: 0 ≤ Min < Max.
	Min, Max int64
	// Dirs are the directions the cut may be placed in, chosen uniformly
	// when both are allowed. Zero means Read|Write.
	Dirs Direction
	// Mode forces the cut mode. Zero means FIN or RST by coin flip.
	Mode CutMode
	// MaxSlice, if positive, also slices each direction into pieces of k
	// bytes, k uniform in [1, MaxSlice] and drawn separately per direction,
	// so the cut lands at varied positions within reads and writes.
	MaxSlice int
}

// pcgStream is the second PCG seed word. It is fixed so that a seed alone
// determines the Script.
const pcgStream = 0x9e3779b97f4a7c15

// Random returns the Script drawn from seed: one cut at a uniform offset in
// [opts.Min, opts.Max), in a direction chosen among opts.Dirs, FIN or RST
// by coin flip unless opts.Mode forces one, plus the optional slicing. The
// same seed and options always give the same Script (math/rand/v2 PCG
// seeded with seed), within one version of this package. Print the seed
// when a test fails; Script.String shows what was drawn.
//
// Invalid options (Max ≤ Min, Min < 0, Dirs or Mode out of range, negative
// MaxSlice) do not panic: the returned Script carries a [*ScriptError], so
// Validate, Wrap, Listener.Accept and Dialer.DialContext report it.
func Random(seed int64, opts RandomOptions) Script {
	if reason := opts.check(); reason != "" {
		return Script{err: &ScriptError{Index: -1, Reason: "random options: " + reason}}
	}
	r := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	off := opts.Min + r.Int64N(opts.Max-opts.Min)
	dir := opts.Dirs
	if dir == 0 {
		dir = Read | Write
	}
	if dir == Read|Write {
		dir = Read
		if r.IntN(2) == 1 {
			dir = Write
		}
	}
	mode := opts.Mode
	if mode == 0 {
		mode = FIN
		if r.IntN(2) == 1 {
			mode = RST
		}
	}
	var s Script
	if opts.MaxSlice > 0 {
		s.Read = append(s.Read, Slice(1+r.IntN(opts.MaxSlice)))
		s.Write = append(s.Write, Slice(1+r.IntN(opts.MaxSlice)))
	}
	if dir == Read {
		s.Read = append(s.Read, Cut(off, mode))
	} else {
		s.Write = append(s.Write, Cut(off, mode))
	}
	return s
}

func (o RandomOptions) check() string {
	switch {
	case o.Min < 0:
		return "Min is negative"
	case o.Max <= o.Min:
		return "Max must be greater than Min"
	case o.Dirs&^(Read|Write) != 0:
		return "Dirs has bits other than Read and Write"
	case o.Mode != 0 && o.Mode != FIN && o.Mode != RST:
		return "Mode must be 0, FIN or RST"
	case o.MaxSlice < 0:
		return "MaxSlice is negative"
	}
	return ""
}
