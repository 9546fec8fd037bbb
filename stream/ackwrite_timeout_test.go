package stream

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAckWriteToAServerThatReadsNothing: a server that logs in, sends a
// block and then never reads again blocks the client's ack write (net.Pipe
// has no buffer). The write is given up WriteTimeout after it began, with
// an error matching ErrWriteTimeout that names the limit, in every mode.
func TestAckWriteToAServerThatReadsNothing(t *testing.T) {
	sc := newAckScript()
	forModes(t, "", 1, func(t *testing.T, m mode) {
		d := newScriptDialer(t, sc.block, true) // never reads again
		cfg := testConfig(d)
		cfg.WriteTimeout = 7 * time.Second
		cfg.NewBackOff = func() backoffBackOff { return stopBackOff{} }
		sub := mustSubscribe(t, cfg, m)
		takeMode(t, sub, m, sc.n)
		waitDone(t, sub)
		err := sub.Err()
		if got := time.Since(<-d.sent); got < cfg.WriteTimeout || got > cfg.WriteTimeout+time.Second {
			t.Errorf("ended %v after the block, want about WriteTimeout (%v)", got, cfg.WriteTimeout)
		}
		if !errors.Is(err, ErrWriteTimeout) || !strings.Contains(err.Error(), cfg.WriteTimeout.String()) {
			t.Errorf("err %v: want ErrWriteTimeout naming %v", err, cfg.WriteTimeout)
		}
		sub.Close()
		d.finish()
	})
}
