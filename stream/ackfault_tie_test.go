package stream

import (
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestAckFaultReasonTie: a server that sends a block and the start of
// the next frame, then neither reads nor sends: the flusher's ack write
// begins as the reader's read of the rest does, so with WriteTimeout equal
// to FrameTimeout both expire at the same time. The reason must not
// depend on which goroutine notices first (see ackFault): the frame's
// deadline, the reader's own finding, wins, in every run and in both APIs.
func TestAckFaultReasonTie(t *testing.T) {
	doc, n := dpDoc("a", "b")
	block := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	next := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	partial := append(append([]byte(nil), block...), next[:3]...)
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			for range 20 { // the goroutines' order varies from run to run
				synctest.Test(t, func(t *testing.T) {
					release := make(chan struct{})
					d := &pipeDialer{serve: func(_ int, c net.Conn) {
						leanServer(partial, false)(0, c)
						<-release
					}}
					cfg := leanConfig(d)
					cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, 5*time.Second
					sub, err := subscribeMode(t.Context(), cfg, m)
					if err != nil {
						t.Fatal(err)
					}
					if m == modeEvents {
						for range sub.Events() {
						}
					} else {
						for b := range sub.Batches() {
							b.Ack()
						}
					}
					close(release)
					d.wg.Wait()
					if err := sub.Err(); !errors.Is(err, ErrFrameTimeout) {
						t.Fatalf("ended with %v, want ErrFrameTimeout", err)
					}
				})
			}
		})
	}
}
