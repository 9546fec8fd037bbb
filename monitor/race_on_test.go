//go:build race

package monitor

// readAllFactor is how many times its size reading a body allocates: under
// the race detector, io.ReadAll's chunks are allocated zeroed and copied.
const readAllFactor = 5
