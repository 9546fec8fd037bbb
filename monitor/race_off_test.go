//go:build !race

package monitor

// readAllFactor is how many times its size reading a body allocates:
// io.ReadAll's chunks, then one slice of the exact size.
const readAllFactor = 3
