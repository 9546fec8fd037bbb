package stream

import (
	"context"
	"net"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// cancelOnBlock is an Observer that cancels the subscription's context as
// soon as a block is read: before its payload is inflated.
type cancelOnBlock struct {
	tally
	cancel context.CancelFunc
}

func (o *cancelOnBlock) BlockReceived(i BlockInfo) {
	o.tally.BlockReceived(i)
	o.cancel()
}

// TestCancelWhileInflatingCountsUndelivered: a compressed block read just
// before the subscription is cancelled, so that its inflation is cut
// short, was received and never handed over: Stats.Undelivered (and the
// Observer) count its events, as they count a block whose split the
// cancellation cut, in every mode.
func TestCancelWhileInflatingCountsUndelivered(t *testing.T) {
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc, ok := loggedIn(t, c)
					if !ok {
						return
					}
					doc, n := dpDoc("a", "b", "c")
					fc.block(doc, n, protocol.FormatJSON, true)
					<-fc.done
				}}
				ctx, cancel := context.WithCancel(t.Context())
				obs := &cancelOnBlock{cancel: cancel}
				cfg := testConfig(d)
				cfg.Observer = obs
				sub, err := subscribeMode(ctx, cfg, m)
				if err != nil {
					t.Fatal(err)
				}
				waitDone(t, sub)
				d.wg.Wait()
				st := sub.Stats()
				if st.Blocks != 1 || st.Events != 0 || st.Undelivered != 3 {
					t.Errorf("stats %+v, want 1 block whose 3 events are undelivered", st)
				}
				if got := obs.get(cfg.MonitorID, "tcp").undelivered; got != int(st.Undelivered) {
					t.Errorf("the Observer saw %d undelivered, Stats %d", got, st.Undelivered)
				}
			})
		})
	}
}
