package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/pushmon/pushmon/protocol"
)

// TestBatchBlocks: a Batch's blocks keep what each block declared, and its
// documents are owned copies (inflated for zlib blocks).
func TestBatchBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		docA, _ := dpDoc("a", "b", "c")
		docB, _ := dpDoc("d")
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			fc.burst([]string{docA, docB}, []bool{true, false})
			<-fc.done
		}}
		cfg := testConfig(d)
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		b := <-sub.Batches()
		want := []Block{
			{DataBlockID: 0, Format: FormatJSON, Compression: protocol.CompressionZlib, Document: []byte(docA)},
			{DataBlockID: 1, Format: FormatJSON, Compression: protocol.CompressionNone, Document: []byte(docB)},
		}
		if diff := cmp.Diff(want, b.Blocks); diff != "" {
			t.Errorf("blocks (-want +got):\n%s", diff)
		}
		if evs := b.Events(); len(evs) != 4 || &evs[0] != &b.Events()[0] || b.Duplicates() != 0 {
			t.Errorf("Events = %d events (the same slice on every call), %d duplicates; want 4, 0", len(evs), b.Duplicates())
		}
		sub.Close()
		d.wg.Wait()
	})
}

// TestBatchRawAndBadBlocks: in a burst, the blocks before an undecodable
// one are handed over first, so that the acks keep the blocks' order; a
// document that is not an envelope is one Raw event of its Batch.
func TestBatchRawAndBadBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var acks []uint16
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			docA, _ := dpDoc("a")
			all := fc.appendBlock(nil, docA, 1, protocol.FormatJSON, false)
			all = fc.appendBlock(all, `{"temp":21.5}`, 1, protocol.FormatJSON, false)
			all, _ = protocol.AppendPublishMessage(all, protocol.PublishMessage{DataBlockID: fc.next, Count: 1,
				Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: []byte("not zlib at all")})
			fc.next++
			docZ, _ := dpDoc("z")
			all = fc.appendBlock(all, docZ, 1, protocol.FormatJSON, true)
			c.Write(all)
			for id := range fc.acks {
				acks = append(acks, id)
			}
		}}
		cfg := testConfig(d)
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		first, second := <-sub.Batches(), <-sub.Batches()
		evs := first.Events()
		if len(first.Blocks) != 2 || len(evs) != 2 || evs[0].Raw || !evs[1].Raw || string(evs[1].Body) != `{"temp":21.5}` {
			t.Errorf("first Batch: %d blocks, events %v", len(first.Blocks), evs)
		}
		if len(second.Blocks) != 1 || second.Blocks[0].DataBlockID != 3 || len(second.Events()) != 1 {
			t.Errorf("second Batch: %+v", second.Blocks)
		}
		synctest.Wait()
		st := sub.Stats()
		sub.Close()
		d.wg.Wait()
		if fmt.Sprint(acks) != "[0 1 2 3]" || st.BadBlocks != 1 || st.Raw != 1 || st.Events != 3 || st.Blocks != 4 {
			t.Errorf("acks %v, stats %+v", acks, st)
		}
	})
}

// TestBatchBeforeBadFrame: the blocks that arrived before a frame that
// breaks the protocol are still handed over, then the session fails.
func TestBatchBeforeBadFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			docA, _ := dpDoc("a")
			docB, _ := dpDoc("b")
			all := fc.appendBlock(nil, docA, 1, protocol.FormatJSON, false)
			all = fc.appendBlock(all, docB, 1, protocol.FormatJSON, false)
			all = protocol.AppendConnectResponse(all, protocol.StatusOK) // wrong direction after the handshake
			c.Write(all)
			<-fc.done
		}}
		cfg := testConfig(d)
		cfg.NewBackOff = func() backoffBackOff { return stopBackOff{} }
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		var ids []string
		for b := range sub.Batches() {
			for _, ev := range b.Events() {
				dp, _ := ev.DataPoint()
				ids = append(ids, dp.ID)
			}
		}
		if strings.Join(ids, "") != "ab" || !errors.Is(sub.Err(), protocol.ErrWrongDirection) {
			t.Errorf("events %q, Err %v; want a and b, then ErrWrongDirection", ids, sub.Err())
		}
		d.wg.Wait()
	})
}

// TestBatchUndelivered: a Batch that cannot be handed over because the
// subscription ends counts its events in Stats.Undelivered, and nothing
// of it is acked.
func TestBatchUndelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			doc, n := dpDoc("a", "b", "c")
			fc.block(doc, n, protocol.FormatJSON, false)
			<-fc.done
		}}
		cfg := testConfig(d)
		ctx, cancel := context.WithCancel(t.Context())
		sub, _ := SubscribeBatches(ctx, cfg, AckOnReceive)
		synctest.Wait() // the block waits for the consumer
		cancel()
		<-sub.Done()
		d.wg.Wait()
		if st := sub.Stats(); st.Undelivered != 3 || st.Events != 0 || st.Acks != 0 || len(fc.acks) != 0 {
			t.Errorf("stats %+v, %d acks; want 3 undelivered, no ack", st, len(fc.acks))
		}
	})
}

// TestBatchDedup: Events drops replays (events flagged replay) of events
// delivered before and of events of the same Batch, and nothing else; the
// window learns at the first call to Events (modeBatches) or at Ack
// (modeManualAck).
func TestBatchDedup(t *testing.T) {
	for _, mode := range []mode{modeBatches, modeManualAck} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				next := make(chan []string)
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc, ok := loggedIn(t, c)
					if !ok {
						return
					}
					for docs := range next {
						fc.burst(docs, make([]bool, len(docs)))
					}
					<-fc.done
				}}
				cfg := testConfig(d)
				sub, _ := subscribeMode(t.Context(), cfg, mode)
				take := func(want string, dups int, docs ...string) *Batch {
					t.Helper()
					next <- docs
					b := <-sub.Batches()
					var ids []string
					for _, ev := range b.Events() {
						dp, _ := ev.DataPoint()
						ids = append(ids, dp.ID)
					}
					if got := strings.Join(ids, ""); got != want || b.Duplicates() != dups {
						t.Errorf("events %q, %d duplicates; want %q, %d", got, b.Duplicates(), want, dups)
					}
					return b
				}
				ab, _ := dpDoc("a", "b")
				bc, _ := dpReplayDoc("b", "c")
				first := take("abc", 1, ab, bc) // b replayed in the same Batch
				if mode == modeManualAck {
					take("abc", 1, ab, bc) // not acked yet: handed over again
					first.Ack()
				}
				abR, _ := dpReplayDoc("a", "b")
				take("", 4, abR, bc)
				cd, _ := dpReplayDoc("c", "d")
				take("d", 1, cd)
				// The same events not flagged replay, on the subscription's
				// first connection, are new events: none is dropped.
				take("ab", 0, ab)
				close(next)
				sub.Close()
				d.wg.Wait()
			})
		})
	}
}

// TestBatchLimits: a Batch takes no more than MaxBatchBlocks blocks, and
// no further block once its documents hold 1 MiB.
func TestBatchLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pad := `"` + strings.Repeat("x", 400<<10) + `"`
		big := jsonDoc(jsonMsg("7603/DataPoint/d/s", "INSERTION", "2015-06-14T18:37:27Z", "DataPoint", `{"id":"big","pad":`+pad+`}`, false))
		small, _ := dpDoc("s")
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			fc.burst([]string{big, big, big, small, small}, make([]bool, 5))
			fc.burst([]string{small, small, small, small, small}, make([]bool, 5))
			<-fc.done
		}}
		cfg := testConfig(d)
		cfg.MaxBatchBlocks = 4
		cfg.ReadBufferSize = 2 << 20 // a burst is read at once
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		var sizes []int
		for b := range sub.Batches() {
			docs := 0
			for _, blk := range b.Blocks {
				docs += len(blk.Document)
			}
			if docs > maxBatchBytes+len(big) {
				t.Errorf("a Batch of %d document bytes", docs)
			}
			if sizes = append(sizes, len(b.Blocks)); len(sizes) == 4 {
				break
			}
		}
		if fmt.Sprint(sizes) != "[3 2 4 1]" {
			t.Errorf("Batches of %v blocks, want [3 2 4 1]", sizes)
		}
		sub.Close()
		d.wg.Wait()
	})
}

// TestBatchByHand: a Batch built by the caller, as a test of a consumer
// would, splits its documents and acks nothing; a Block without a Format
// is told by its document; the zero Batch has no events.
func TestBatchByHand(t *testing.T) {
	doc, _ := dpDoc("a", "b", "a")
	b := &Batch{MonitorID: 7, Blocks: []Block{
		{Format: FormatJSON, Document: []byte(doc)},
		{Format: FormatJSON, Document: []byte("not an envelope")},
		{Document: []byte(doc)},
	}}
	evs := b.Events()
	if len(evs) != 7 || evs[0].MonitorID != 7 || !evs[3].Raw || b.Duplicates() != 0 || b.Ack() != nil {
		t.Fatalf("events %v, %d duplicates, Ack %v", evs, b.Duplicates(), b.Ack())
	}
	if dp, err := evs[6].DataPoint(); err != nil || dp.ID != "a" || evs[6].Format != FormatJSON {
		t.Errorf("event of a Block without a Format: %v, %v (%v)", dp, err, evs[6].Format)
	}
	var zero Batch
	if len(zero.Events()) != 0 || zero.Duplicates() != 0 || zero.Ack() != nil {
		t.Error("the zero Batch is not empty")
	}
}

// TestBatchEventsAllocation: Batch.Events allocates its events once, sized
// by the blocks' counts (bounded by what their documents can hold): one
// allocation per split, counted by testing.AllocsPerRun (an average over
// many splits, so an allocation of another goroutine now and then does
// not count), and a slice whose capacity is the n events rounded up to the
// allocator's size class, not grown by appends.
func TestBatchEventsAllocation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 50
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			docs := make([]string, n)
			for i := range docs {
				docs[i], _ = dpDoc(fmt.Sprint(i))
			}
			fc.burst(docs, make([]bool, n))
			<-fc.done
		}}
		cfg := testConfig(d)
		cfg.DedupWindow = -1
		cfg.ReadBufferSize = 64 << 10 // the burst is read at once
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		b := <-sub.Batches()
		synctest.Wait() // the reader is idle
		const runs = 100
		batches := make([]*Batch, runs+1) // AllocsPerRun runs once more to warm up
		for i := range batches {
			batches[i] = &Batch{MonitorID: b.MonitorID, Blocks: b.Blocks, sub: b.sub, resend: b.resend, eventCap: b.eventCap}
		}
		var evs []Event
		next := 0
		allocs := testing.AllocsPerRun(runs, func() {
			evs = batches[next].Events()
			next++
		})
		if len(b.Blocks) != n || len(evs) != n {
			t.Fatalf("%d blocks, %d events; want %d of each", len(b.Blocks), len(evs), n)
		}
		if allocs != 1 {
			t.Errorf("Events made %v allocations per split, want 1", allocs)
		}
		// One slice of n events, rounded up to the allocator's size class.
		size := uint64(unsafe.Sizeof(Event{}))
		if want, got := uint64(n)*size, uint64(cap(evs))*size; got > want+want/4 {
			t.Errorf("Events allocated %d events (%d bytes) for %d events of %d bytes", cap(evs), got, n, size)
		}
		sub.Close()
		d.wg.Wait()
	})
}
