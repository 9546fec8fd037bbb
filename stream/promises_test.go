package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestDedupWindowBoundsReplays: with DedupWindow 50, a replay of events
// delivered within the last 50 is dropped, and a replay of older ones is
// delivered again — the documented limit of the window, counted in
// Stats.Duplicates only for what was dropped.
func TestDedupWindowBoundsReplays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ids := func(from, to int) []string {
			var s []string
			for i := from; i < to; i++ {
				s = append(s, fmt.Sprintf("w%03d", i))
			}
			return s
		}
		d := &pipeDialer{serve: func(_ int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			for i := 0; i < 100; i += 10 {
				doc, n := dpDoc(ids(i, i+10)...)
				fc.block(doc, n, protocol.FormatJSON, false)
			}
			doc, n := dpReplayDoc(ids(0, 10)...) // 90 events ago: outside the window
			fc.block(doc, n, protocol.FormatJSON, false)
			doc, n = dpReplayDoc(ids(80, 90)...) // within the window
			fc.block(doc, n, protocol.FormatJSON, false)
			<-fc.done
		}}
		cfg := testConfig(d)
		cfg.DedupWindow = 50
		sub, _ := Subscribe(t.Context(), cfg)
		for range 110 {
			<-sub.Events()
		}
		synctest.Wait()
		st := sub.Stats()
		if st.Events != 110 || st.Duplicates != 10 || st.Acks != 12 {
			t.Errorf("stats %+v, want 110 events, 10 duplicates, 12 acks", st)
		}
		select {
		case ev := <-sub.Events():
			t.Errorf("a replay within the window was delivered: %v", ev)
		default:
		}
		sub.Close()
		d.wg.Wait()
	})
}

// TestAckOffLossAccounting: with a monitor whose acks are off, a block the
// client has received is handed over even if its connection closes while
// the consumer is slow (the server counts it delivered, so dropping it
// would lose it); what can be lost is what never fully arrived, and events
// received but never handed over because the subscription ended are
// counted in Stats.Undelivered.
func TestAckOffLossAccounting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 10, BatchDuration: -1})
		srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			if bi.Conn.Seq() == 0 && bi.Seq == 1 {
				return streamtest.BlockAction{Verb: streamtest.BlockCut} // close before block 1
			}
			return streamtest.BlockAction{}
		}})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		sub, _ := Subscribe(ctx, simConfig(t, simDialer(srv, nil), id))
		srv.WaitConnected(ctx, id)
		var evs []streamtest.Event
		for i := range 30 {
			evs = append(evs, streamtest.Event{Topic: "DataPoint/d/s", Body: map[string]any{"id": fmt.Sprint(i)}})
		}
		srv.Publish(evs...)
		// The consumer is slow: the server closes the connection instead of
		// sending block 1 while block 0 is being handed over.
		time.Sleep(time.Second)
		synctest.Wait()
		if srv.Connected(id) || sub.Stats().Blocks != 1 {
			t.Fatalf("connected %t, stats %+v; want the connection closed after block 0", srv.Connected(id), sub.Stats())
		}
		for i := range 10 {
			ev := <-sub.Events()
			if dp, _ := ev.DataPoint(); dp.ID != fmt.Sprint(i) {
				t.Fatalf("event %d after the connection closed: %v", i, dp.ID)
			}
		}
		// Blocks 1 and 2 are gone: the server dropped them with the
		// connection (at-most-once).
		synctest.Wait()
		if sst, st := srv.Stats(id), sub.Stats(); sst.Dropped != 20 || st.Resets != 1 {
			t.Errorf("server stats %+v; client %+v", sst, st)
		}
		// A new block, of which the consumer takes 3 events before the
		// subscription ends: 7 are counted undelivered.
		srv.WaitConnected(ctx, id)
		for i := range 10 {
			evs[i].Body = map[string]any{"id": fmt.Sprint("new", i)}
		}
		srv.Publish(evs[:10]...)
		for range 3 {
			<-sub.Events()
		}
		synctest.Wait()
		cancel()
		<-sub.Done()
		if st := sub.Stats(); st.Undelivered != 7 || st.Events != 13 {
			t.Errorf("stats %+v, want 13 events handed over and 7 undelivered", st)
		}
	})
}

// TestManualAckReplayBeforeAck: in modeManualAck an event counts as
// delivered for dedup once its batch is acked. A replay that arrives
// before the consumer acked the original batch is handed over again (the
// consumer may not have stored it: at-least-once); one that arrives after
// the Ack — even an Ack that returned ErrSessionClosed — is dropped.
func TestManualAckReplayBeforeAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			doc, n := dpDoc("a", "b")
			replay, _ := dpReplayDoc("a", "b")
			switch i {
			case 1:
				fc.block(doc, n, protocol.FormatJSON, false) // then close, un-acked
			case 2:
				fc.next = 50
				fc.block(replay, n, protocol.FormatJSON, false) // replay before the Ack
				<-release
				fc.block(replay, n, protocol.FormatJSON, false) // replay after the Ack
				<-fc.done
			}
		}}
		cfg := testConfig(d)
		cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
		sub, _ := SubscribeBatches(t.Context(), cfg, AckManual)
		first := <-sub.Batches()
		second := <-sub.Batches() // the replay, on the second connection
		if len(first.Events()) != 2 || len(second.Events()) != 2 || second.Duplicates() != 0 {
			t.Fatalf("batches %+v and %+v", first, second)
		}
		if err := first.Ack(); !errors.Is(err, ErrSessionClosed) {
			t.Errorf("Ack of the first connection's batch = %v", err)
		}
		if err := second.Ack(); err != nil {
			t.Errorf("Ack = %v", err)
		}
		close(release)
		// The replay after the Ack is handed over as a Batch whose events
		// are all dropped; it must be acked all the same.
		third := <-sub.Batches()
		if len(third.Events()) != 0 || third.Duplicates() != 2 {
			t.Errorf("a replay after the Ack kept %d events, dropped %d; want 0, 2", len(third.Events()), third.Duplicates())
		}
		if err := third.Ack(); err != nil {
			t.Errorf("Ack = %v", err)
		}
		synctest.Wait()
		if st := sub.Stats(); st.Duplicates != 2 || st.Acks != 2 {
			t.Errorf("stats %+v, want 2 duplicates dropped and 2 acks", st)
		}
		sub.Close()
		d.wg.Wait()
	})
}
