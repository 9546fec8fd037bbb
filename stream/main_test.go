package stream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines and, through the log sink of
// harness_test.go, for log lines that show the sentinel password.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.Cleanup(checkSecretsAtExit)) }
