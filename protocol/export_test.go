package protocol

// InflatePeak returns the most output f held or produced at once during its
// last Inflate, so that tests can check that inflation stops at the limit
// instead of only trusting the returned error.
func InflatePeak(f *Inflater) int { return f.peak }

// AdlerUpdate exposes adlerUpdate to the tests.
var AdlerUpdate = adlerUpdate

// InflateCounted reports whether f has ever measured an output through its
// counting window (the first pass of the two-pass route), which it
// allocates on first use.
func InflateCounted(f *Inflater) bool { return f.window != nil }
