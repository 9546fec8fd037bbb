package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestDataBlockIDWrap: 3 000 one-event blocks on one connection, the
// first with DataBlockId 0xFFFF-999, so the id wraps from 0xFFFF to 0 after
// 1 000 blocks. Every event arrives (half the events are DeviceCore
// changes with identical bodies, told apart only by their timestamps),
// and every ack names the block just delivered, in order. With
// PUSHMON_LONG=1 it sends 70 000 blocks from id 0, so that ids are given
// again after the wrap: the dedup must not mistake the second block 0 for
// the first.
func TestDataBlockIDWrap(t *testing.T) {
	n, first := 3_000, 0x10000-1000
	if longTests() {
		n, first = 70_000, 0
	}
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{FirstBlockID: uint16(first)})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint", "DeviceCore"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true})
		var mu sync.Mutex
		acks, badAcks := 0, 0
		srv.SetHooks(id, streamtest.Hooks{OnAck: func(ai streamtest.AckInfo) streamtest.AckAction {
			mu.Lock()
			defer mu.Unlock()
			want := uint16(first + acks) // blocks are acked in order: block k has id first+k mod 65536
			if ai.DataBlockID != want || !ai.Outstanding || len(ai.Events) != 1 || !ai.Events[0].Timestamp.Equal(evTime(acks)) {
				if badAcks++; badAcks <= 5 {
					t.Errorf("ack %d names block %d (outstanding %t, %d events), want block %d", acks, ai.DataBlockID, ai.Outstanding, len(ai.Events), want)
				}
			}
			acks++
			return streamtest.AckAction{}
		}})
		sub, err := Subscribe(t.Context(), simConfig(t, simDialer(srv, nil), id))
		if err != nil {
			t.Fatal(err)
		}
		srv.WaitConnected(t.Context(), id)
		evs := make([]streamtest.Event, n)
		for i := range evs {
			if i%2 == 0 {
				evs[i] = streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION", Timestamp: evTime(i),
					Body: map[string]any{"id": fmt.Sprintf("wrap-%06d", i), "data": i}}
			} else {
				evs[i] = streamtest.Event{Topic: "DeviceCore/882/7", Operation: "UPDATE", Timestamp: evTime(i),
					Body: map[string]any{"devConnectwareId": "00000000-00000000-00409DFF-FF000001", "dpConnectionStatus": 1}}
			}
		}
		srv.Publish(evs...)
		for i := range n {
			ev := <-sub.Events()
			if !ev.Timestamp.Equal(evTime(i)) {
				t.Fatalf("event %d has time %v, want %v (a block was dropped or reordered)", i, ev.Timestamp, evTime(i))
			}
		}
		if err := srv.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		st := sub.Stats()
		sub.Close()
		mu.Lock()
		defer mu.Unlock()
		if acks != n || st.Duplicates != 0 || st.Events != uint64(n) || st.Blocks != uint64(n) || st.Connects != 1 {
			t.Errorf("%d acks; stats %+v", acks, st)
		}
		if sst := srv.Stats(id); sst.BlocksAcked != n || sst.BadAcks != 0 {
			t.Errorf("server stats %+v", sst)
		}
	})
}

func evTime(i int) time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
}

// TestOrderOnOneConnection: 10 000 events of several resources, published
// in chunks of 1–100 (so in blocks of every size, zlib-compressed), arrive
// in exactly the order they were sent.
func TestOrderOnOneConnection(t *testing.T) {
	const n = 10_000
	synctest.Test(t, func(t *testing.T) {
		srv := newSim(t, streamtest.Options{})
		defer srv.Close()
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint", "DeviceCore", "FileData"}, BatchSize: 100,
			BatchDuration: -1, AckExplicit: true, Compression: "zlib"})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		sub, _ := Subscribe(ctx, simConfig(t, simDialer(srv, nil), id))
		srv.WaitConnected(ctx, id)
		type sent struct{ topic, op string }
		var order []sent
		rng := rand.New(rand.NewPCG(7, 7))
		got := make(chan []sent)
		go func() {
			var recv []sent
			for ev := range sub.Events() {
				recv = append(recv, sent{ev.Topic, ev.Operation})
				if len(recv) == n {
					break
				}
			}
			got <- recv
		}()
		for len(order) < n {
			k := min(1+rng.IntN(100), n-len(order))
			var evs []streamtest.Event
			for range k {
				i := len(order)
				var ev streamtest.Event
				switch i % 3 {
				case 0:
					ev = streamtest.Event{Topic: fmt.Sprintf("DataPoint/dev%d/s%d", i%7, i), Operation: "INSERTION", Body: map[string]any{"id": fmt.Sprint(i), "data": i}}
				case 1:
					ev = streamtest.Event{Topic: fmt.Sprintf("DeviceCore/%d/7", i), Operation: "UPDATE", Body: map[string]any{"dpConnectionStatus": i % 2}}
				case 2:
					ev = streamtest.Event{Topic: fmt.Sprintf("FileData/db/f%d.txt", i), Operation: "CREATE", Body: map[string]any{"fdSize": i}}
				}
				evs = append(evs, ev)
				order = append(order, sent{fmt.Sprintf("%d/%s", srv.CustomerID(), ev.Topic), ev.Operation})
			}
			srv.Publish(evs...)
			synctest.Wait()
		}
		recv := <-got
		for i := range order {
			if i >= len(recv) || recv[i] != order[i] {
				t.Fatalf("event %d: got %v, want %v", i, recv[min(i, len(recv)-1)], order[i])
			}
		}
		st := sub.Stats()
		if st.Connects != 1 || st.Events != n || st.Blocks < n/100 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("%d events in %d blocks", st.Events, st.Blocks)
		cancel()
		<-sub.Done()
	})
}

var _ = protocol.HeaderSize
