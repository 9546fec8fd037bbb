package stream

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines and, through the log sink of
// harness_test.go, for log lines that show the sentinel password.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.Cleanup(checkSecretsAtExit)) }

// longTests reports whether the long scenario tests run at full size:
// with PUSHMON_LONG=1 (go test -timeout 0 is advisable then). By default
// they run a smaller case that still covers their logic: fewer seeds and
// events in the chaos tests, a DataBlockId wrap started near 0xFFFF,
// smaller hostile documents. Besides it, PUSHMON_SOAK=1 runs the chaos
// soak, PUSHMON_FULL_WRAP=1 the full-wrap manual-ack test and
// PUSHMON_CHAOS_SEED one chaos seed.
func longTests() bool { return os.Getenv("PUSHMON_LONG") == "1" }
