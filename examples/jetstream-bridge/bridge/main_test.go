package bridge

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops its NATS servers, connections, simulators and bridges
// in its cleanup, so nothing may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
