package stream

import (
	"errors"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestManualAckRefusesAReusedBlockID: a Batch held un-acked while the
// connection delivers a newer block with the same DataBlockId (here the
// server reuses the id at once; a real one after 65 536 blocks) is not
// acked — that ack would name the newer block too — and Ack says so with
// ErrAckExpired; the Batch's other blocks are acked, and the newer block's
// own ack goes out once.
func TestManualAckRefusesAReusedBlockID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReuseRig(t, func(fc *fakeConn) {
			a1, _ := dpDoc("a1")
			a2, _ := dpDoc("a2")
			fc.burst([]string{a1, a2}, []bool{false, false}) // ids 7, 8: one Batch
		}, func(fc *fakeConn) {
			b, n := dpDoc("b")
			fc.block(b, n, protocol.FormatJSON, false) // id 7 again
		})
		first := <-r.sub.Batches()
		if len(first.Blocks) != 2 {
			t.Fatalf("first batch of %d blocks", len(first.Blocks))
		}
		r.next <- struct{}{}
		second := <-r.sub.Batches()
		fc := r.fc
		if second.Blocks[0].DataBlockID != 7 {
			t.Fatalf("second batch is block %d", second.Blocks[0].DataBlockID)
		}
		err := first.Ack()
		if !errors.Is(err, ErrAckExpired) {
			t.Fatalf("Ack of the older block 7: %v", err)
		}
		synctest.Wait()
		if id := <-fc.acks; id != 8 || len(fc.acks) != 0 {
			t.Fatalf("acks %d and %d more; want only 8", id, len(fc.acks))
		}
		if err := second.Ack(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if id := <-fc.acks; id != 7 || len(fc.acks) != 0 {
			t.Errorf("ack %d (and %d more)", id, len(fc.acks))
		}
		if first.Ack() != err {
			t.Error("a second Ack did not return the first result")
		}
	})
}

// TestManualAckReusedIDInOneBatch: when one Batch holds two blocks with
// the same DataBlockId, the id names the newer one: Ack acks it once and
// reports the older one expired.
func TestManualAckReusedIDInOneBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			a, _ := dpDoc("a")
			b, _ := dpDoc("b")
			all := fc.appendBlock(nil, a, 1, protocol.FormatJSON, false)
			fc.next = 0
			all = fc.appendBlock(all, b, 1, protocol.FormatJSON, false) // id 0 again
			fc.c.Write(all)
			<-fc.done
		}}
		sub, _ := SubscribeBatches(t.Context(), testConfig(d), AckManual)
		defer sub.Close()
		batch := <-sub.Batches()
		if len(batch.Blocks) != 2 {
			t.Fatalf("a Batch of %d blocks", len(batch.Blocks))
		}
		if err := batch.Ack(); !errors.Is(err, ErrAckExpired) {
			t.Fatalf("Ack: %v, want ErrAckExpired for the older block 0", err)
		}
		synctest.Wait()
		if acks := drainAcks(fc); !slices.Equal(acks, []uint16{0}) {
			t.Fatalf("acks %v, want one ack of block 0", acks)
		}
	})
}

// TestManualAckAfterFullWrap holds the first Batch while 65 536 more
// blocks flow on the connection, from the simulator (an ack-off monitor,
// which does not wait for acks), so that the id wraps to the held block's
// and is given to a new block; the held Batch's Ack is refused and no ack
// naming that id is written but the new block's. It runs with
// PUSHMON_FULL_WRAP=1 or PUSHMON_LONG=1: the small case above covers the
// logic.
func TestManualAckAfterFullWrap(t *testing.T) {
	if os.Getenv("PUSHMON_FULL_WRAP") == "" && !longTests() {
		t.Skip("set PUSHMON_FULL_WRAP=1 or PUSHMON_LONG=1 to send 65 537 blocks")
	}
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1})
		var mu sync.Mutex
		acks := map[uint16]int{}
		srv.SetHooks(id, streamtest.Hooks{OnAck: func(a streamtest.AckInfo) streamtest.AckAction {
			mu.Lock()
			acks[a.DataBlockID]++
			mu.Unlock()
			return streamtest.AckAction{}
		}})
		cfg := simConfig(t, simDialer(srv, nil), id)
		sub, err := SubscribeBatches(t.Context(), cfg, AckManual)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if err := srv.WaitConnected(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		const n = 1<<16 + 1
		go func() {
			for i := range n {
				srv.Publish(dpEvent(i, i))
			}
		}()
		held := <-sub.Batches()
		if len(held.Blocks) != 1 || held.Blocks[0].DataBlockID != 0 {
			t.Fatalf("first batch %+v", held.Blocks)
		}
		got, tried := 1, false
		for got < n {
			b := <-sub.Batches()
			got += len(b.Blocks)
			if !tried && slices.ContainsFunc(b.Blocks, func(blk Block) bool { return blk.DataBlockID == 0 }) {
				// The id is the held block's again: the held Batch can no
				// longer be acked.
				tried = true
				if err := held.Ack(); !errors.Is(err, ErrAckExpired) {
					t.Errorf("held Ack: %v", err)
				}
			}
			if err := b.Ack(); err != nil {
				t.Fatal(err)
			}
		}
		if !tried {
			t.Fatal("the id never came round")
		}
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if acks[0] != 1 || acks[1] != 1 {
			t.Errorf("acks naming id 0: %d, id 1: %d", acks[0], acks[1])
		}
	})
}

// TestManualAckRefusesABlockIDASkippedBlockReused: a block the library
// skips (undecodable) and acks itself takes its DataBlockId over too: the
// older block with that id, which the consumer still holds, is not acked
// again (that ack would name the skipped one) and its Ack reports it
// expired.
func TestManualAckRefusesABlockIDASkippedBlockReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReuseRig(t, func(fc *fakeConn) {
			a, n := dpDoc("a")
			fc.block(a, n, protocol.FormatJSON, false) // id 7
		}, func(fc *fakeConn) {
			bad, err := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 7, Count: 1,
				Format: protocol.FormatJSON, Compression: protocol.CompressionZlib, Payload: []byte{0x78, 0x9c, 0xff, 0xff, 0xff}})
			if err != nil {
				t.Error(err)
				return
			}
			fc.c.Write(bad) // id 7 again, undecodable
		})
		first := <-r.sub.Batches()
		r.next <- struct{}{}
		synctest.Wait()
		fc := r.fc
		if id := <-fc.acks; id != 7 || len(fc.acks) != 0 {
			t.Fatalf("acks %d and %d more; want the skipped block's 7 only", id, len(fc.acks))
		}
		if err := first.Ack(); !errors.Is(err, ErrAckExpired) {
			t.Fatalf("Ack of the older block 7: %v", err)
		}
		synctest.Wait()
		if n := len(fc.acks); n != 0 {
			t.Errorf("%d more acks after the older block's Ack", n)
		}
	})
}

// reuseRig is an AckManual subscription to a server that logs in, numbers
// its blocks from 7 and writes first's, then, once next is sent to,
// numbers them from 7 again (reusing the ids the consumer may still hold)
// and writes second's. fc is the server's side once the first Batch has
// arrived.
type reuseRig struct {
	fc   *fakeConn
	next chan struct{}
	sub  *BatchSubscription
}

func newReuseRig(t *testing.T, first, second func(fc *fakeConn)) *reuseRig {
	t.Helper()
	r := &reuseRig{next: make(chan struct{})}
	d := &pipeDialer{serve: func(i int, c net.Conn) {
		fc, ok := loggedIn(t, c)
		if !ok {
			return
		}
		r.fc = fc
		fc.next = 7
		first(fc)
		<-r.next
		fc.next = 7
		second(fc)
		<-fc.done
	}}
	sub, err := SubscribeBatches(t.Context(), testConfig(d), AckManual)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	r.sub = sub
	return r
}
