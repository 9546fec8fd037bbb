package stream

import (
	"errors"
	"testing"
	"time"
)

// TestAckFaultReasonTie: a server that sends a block and the start of
// the next frame, then neither reads nor sends: the flusher's ack write
// begins as the reader's read of the rest does, so with WriteTimeout equal
// to FrameTimeout both expire at the same time. The reason must not
// depend on which goroutine notices first (see ackFault): the frame's
// deadline, the reader's own finding, wins, in every run and in both APIs.
func TestAckFaultReasonTie(t *testing.T) {
	sc := newAckScript()
	forModes(t, "", 20, func(t *testing.T, m mode) { // the goroutines' order varies from run to run
		d := newScriptDialer(t, sc.partial, true)
		cfg := leanConfig(d)
		cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, 5*time.Second
		sub := mustSubscribe(t, cfg, m)
		consume(sub, m)
		d.finish()
		if err := sub.Err(); !errors.Is(err, ErrFrameTimeout) {
			t.Fatalf("ended with %v, want ErrFrameTimeout", err)
		}
	})
}
