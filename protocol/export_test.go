package protocol

// InflatePeak returns the most output f produced during its last Inflate,
// so that tests can check that inflation stops at the limit instead of
// only trusting the returned error.
func InflatePeak(f *Inflater) int { return f.peak }

// InflateCounted reports whether f's last Inflate measured its output
// before keeping it (the two-pass route of outputs beyond direct growth).
func InflateCounted(f *Inflater) bool { return f.counted }
