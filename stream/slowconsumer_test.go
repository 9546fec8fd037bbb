package stream

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSlowConsumer: the server has 100 blocks of 100 events ready; the
// consumer takes 250 events and then pauses for 60 s of fake time (12
// frame timeouts). Meanwhile the client stops reading the socket, holds at
// most one block's events and one frame (the heap grows by no more than
// one batch + one frame + 1 MiB), has acked exactly the blocks handed over
// in full, and does not time out. After the pause every event arrives, in
// order, over the same connection.
func TestSlowConsumer(t *testing.T) {
	const blocks, per = 100, 100
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: per, BatchDuration: -1,
			AckExplicit: true, Persistent: true})
		var mu sync.Mutex
		frameLen, docLen := 0, 0
		srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			mu.Lock()
			frameLen = max(frameLen, len(bi.Frame))
			docLen = max(docLen, len(bi.Frame)-16)
			mu.Unlock()
			return streamtest.BlockAction{}
		}})
		var evs []streamtest.Event
		for i := range blocks * per {
			evs = append(evs, streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION",
				Body: map[string]any{"id": fmt.Sprintf("slow-%05d", i), "data": i, "description": "a reading of the slow consumer test"}})
		}
		srv.Publish(evs...) // recorded by the persistent monitor
		evs = nil
		base := liveHeap()

		cfg := simConfig(t, simDialer(srv, nil), id)
		cfg.FrameTimeout = 5 * time.Second
		sub, _ := Subscribe(t.Context(), cfg)
		next := 0
		take := func(n int) {
			for range n {
				ev := <-sub.Events()
				if got := dpIndex2(ev); got != next {
					t.Fatalf("event %d is %d", next, got)
				}
				next++
			}
		}
		take(250)
		time.Sleep(time.Second)
		synctest.Wait()
		before := sub.Stats()
		time.Sleep(59 * time.Second)
		synctest.Wait()
		during := sub.Stats()
		grown := int64(liveHeap()) - int64(base)
		mu.Lock()
		batch := docLen + per*int(eventSize)
		bound := int64(batch + frameLen + 1<<20)
		mu.Unlock()
		t.Logf("paused 60 s after 250 events: heap +%d bytes (bound %d = batch %d + frame %d + 1 MiB); %d bytes read, %d blocks, %d acks",
			grown, bound, batch, frameLen, during.BytesRead, during.Blocks, during.Acks)
		if during.BytesRead != before.BytesRead || during.Blocks != before.Blocks {
			t.Errorf("the client kept reading while the consumer paused: %+v then %+v", before, during)
		}
		if grown > bound {
			t.Errorf("heap grew by %d bytes during the pause, bound %d", grown, bound)
		}
		if during.Acks != 250/per || srv.Stats(id).BlocksAcked != 250/per {
			t.Errorf("%d acks (server: %d) with %d blocks handed over in full", during.Acks, srv.Stats(id).BlocksAcked, 250/per)
		}
		take(blocks*per - 250)
		if err := srv.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the client counts an ack once its write has returned
		st := sub.Stats()
		if st.Dials != 1 || st.Resets != 0 || st.Acks != blocks || st.Events != blocks*per {
			t.Errorf("after the pause: %+v", st)
		}
		sub.Close()
	})
}

// eventSize is the size of an Event value.
const eventSize = unsafe.Sizeof(Event{})

func dpIndex2(ev Event) int {
	var n int
	fmt.Sscanf(string(dataPointID(ev.Body)), `"slow-%d"`, &n)
	return n
}
