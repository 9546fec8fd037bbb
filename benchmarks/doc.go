// Package benchmarks holds pushmon's load benchmarks and the regression
// guard; see README.md in this directory for the figures and how to
// reproduce them.
//
// The Go benchmarks (go test -run '^$' -bench . ./benchmarks) and the
// pushbench command (go run ./benchmarks/...) share one harness
// (internal/harness): a push server in a child process on loopback
// (internal/pushserver) and clients in this process, measured against a
// ceiling taken in the same run. Without -bench, go test runs only quick
// checks of the harness itself.
package benchmarks
