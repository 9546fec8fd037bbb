package stream

import (
	"bytes"
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

// TestCancelBeforeSkippingCountsUndelivered: a block that cannot be
// inflated arrives behind a good one in the same read, in a batch mode;
// skipping it hands the good block over first, and the consumer never
// takes it before the cancel. Neither block is acked: both blocks' events
// count in Stats.Undelivered (and the Observer), the bad one's too, and
// neither counts as a bad block acked and skipped.
func TestCancelBeforeSkippingCountsUndelivered(t *testing.T) {
	for _, m := range []mode{modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc, ok := loggedIn(t, c)
					if !ok {
						return
					}
					doc, n := dpDoc("a", "b")
					all := fc.appendBlock(nil, doc, n, protocol.FormatJSON, false)
					bad := protocol.PublishMessage{DataBlockID: fc.next, Count: 3, Format: protocol.FormatJSON,
						Compression: protocol.CompressionZlib, Payload: bytes.Repeat([]byte("not zlib"), 8)}
					all, err := protocol.AppendPublishMessage(all, bad)
					if err != nil {
						t.Error(err)
						return
					}
					c.Write(all)
					<-fc.done
				}}
				ctx, cancel := context.WithCancel(t.Context())
				obs := &tally{}
				cfg := testConfig(d)
				cfg.Observer = obs
				sub, err := subscribeMode(ctx, cfg, m)
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait() // the reader waits to hand the good block over
				cancel()
				waitDone(t, sub)
				d.wg.Wait()
				st := sub.Stats()
				if st.Blocks != 2 || st.Undelivered != 5 || st.BadBlocks != 0 || st.Acks != 0 {
					t.Errorf("stats %+v, want 2 blocks whose 5 events are undelivered, none acked or skipped", st)
				}
				if got := obs.get(cfg.MonitorID, "tcp").undelivered; got != int(st.Undelivered) {
					t.Errorf("the Observer saw %d undelivered, Stats %d", got, st.Undelivered)
				}
			})
		})
	}
}
