package bridge

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test stops its NATS servers, connections, simulators and bridges
// in its cleanup, so nothing may outlive the tests — except one goroutine
// of nats.go (v1.55.0) itself: a publisher's CleanupPublisher that runs
// before the reconnect watcher started by its first PublishAsync has read
// its status channel leaves that watcher receiving from a nil channel for
// good. A session that ends within moments of its first publish (a kill,
// a fence, a NATS drop in the tests) can meet it; each costs a few KB.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"))
}
