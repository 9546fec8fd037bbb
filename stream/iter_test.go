package stream

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// drainAcks returns the acks the fake server has read so far.
func drainAcks(fc *fakeConn) []uint16 {
	var got []uint16
	for {
		select {
		case id, ok := <-fc.acks:
			if !ok {
				return got
			}
			got = append(got, id)
		default:
			return got
		}
	}
}

// TestAllAcksAfterTheLoopBody: with AckManual, All yields the events of a
// Batch of three blocks on the caller's goroutine, and no block is acked
// while the loop body runs for any of its events; the blocks are acked,
// in order, once the body has returned for the Batch's last event.
func TestAllAcksAfterTheLoopBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		next := make(chan []string)
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			for docs := range next {
				fc.burst(docs, make([]bool, len(docs)))
			}
			<-fc.done
		}}
		sub, err := SubscribeBatches(t.Context(), testConfig(d), AckManual)
		if err != nil {
			t.Fatal(err)
		}
		ab, _ := dpDoc("a", "b")
		c, _ := dpDoc("c")
		de, _ := dpDoc("d", "e")
		next <- []string{ab, c, de}
		var got []string
		for ev, err := range sub.All() {
			if err != nil {
				t.Fatal(err)
			}
			dp, _ := ev.DataPoint()
			got = append(got, dp.ID)
			synctest.Wait()
			if acks := drainAcks(fc); len(acks) != 0 {
				t.Fatalf("acks %v while the loop body runs for event %s", acks, dp.ID)
			}
			if dp.ID == "e" {
				break
			}
		}
		if strings.Join(got, "") != "abcde" {
			t.Fatalf("events %q, want abcde", got)
		}
		// The body broke on e, the last event of the last block: blocks 0
		// and 1 are acked, block 2 is not.
		synctest.Wait()
		if acks := drainAcks(fc); !slices.Equal(acks, []uint16{0, 1}) {
			t.Fatalf("acks after the break %v, want [0 1]", acks)
		}
		// The next loop yields e again, then finishes the Batch: block 2 is
		// acked once the body has returned for e; then the next block.
		f, _ := dpDoc("f")
		got = got[:0]
		for ev, err := range sub.All() {
			if err != nil {
				t.Fatal(err)
			}
			dp, _ := ev.DataPoint()
			got = append(got, dp.ID)
			synctest.Wait()
			acks := drainAcks(fc)
			switch dp.ID {
			case "e":
				if len(acks) != 0 {
					t.Fatalf("acks %v while the body runs for e again", acks)
				}
				next <- []string{f}
			case "f":
				if !slices.Equal(acks, []uint16{2}) {
					t.Fatalf("acks while the body runs for f: %v, want [2]", acks)
				}
			}
			if dp.ID == "f" {
				break
			}
		}
		if strings.Join(got, "") != "ef" {
			t.Fatalf("events of the second loop %q, want ef", got)
		}
		close(next)
		sub.Close()
		d.wg.Wait()
	})
}

// TestAllBreakMidBlock: a break on the first event of a two-event block
// leaves that block un-acked, and the next loop yields that event again;
// on Shutdown without another loop the block is never acked.
func TestAllBreakMidBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			a, _ := dpDoc("a")
			bc, _ := dpDoc("b", "c")
			fc.burst([]string{a, bc}, []bool{false, true})
			<-fc.done
		}}
		sub, _ := SubscribeBatches(t.Context(), testConfig(d), AckManual)
		var got []string
		loop := func() {
			for ev, err := range sub.All() {
				if err != nil {
					t.Fatal(err)
				}
				dp, _ := ev.DataPoint()
				got = append(got, dp.ID)
				if dp.ID == "b" {
					break
				}
			}
		}
		loop()
		loop()
		if strings.Join(got, "") != "abb" {
			t.Fatalf("events of two loops breaking on b: %q, want abb", got)
		}
		synctest.Wait()
		if acks := drainAcks(fc); !slices.Equal(acks, []uint16{0}) {
			t.Fatalf("acks %v, want [0]: block 1 is unfinished", acks)
		}
		if err := sub.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		<-fc.done
		if acks := drainAcks(fc); len(acks) != 0 {
			t.Fatalf("Shutdown wrote acks %v of an unfinished block", acks)
		}
		if st := sub.Stats(); st.Events != 3 || st.Acks != 1 {
			t.Errorf("stats: %d events, %d acks; want 3, 1", st.Events, st.Acks)
		}
		d.wg.Wait()
	})
}

// TestAllEndsWithErr: the loop ends when the subscription does, yielding
// its permanent error last, or nothing after a cancel; a second loop
// running at the same time yields only an error.
func TestAllEndsWithErr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			fc.login(protocol.StatusUnauthorized)
		}}
		sub, _ := SubscribeBatches(t.Context(), testConfig(d), AckOnReceive)
		var errs []error
		for ev, err := range sub.All() {
			if err == nil || ev.Topic != "" {
				t.Fatalf("yielded %v, %v", ev, err)
			}
			for _, err := range sub.All() { // a loop inside the loop
				errs = append(errs, err)
			}
			errs = append(errs, err)
		}
		if len(errs) != 2 || !errors.Is(errs[0], errAllBusy) || !errors.Is(errs[1], ErrUnauthorized) {
			t.Fatalf("yielded %v, want errAllBusy then ErrUnauthorized", errs)
		}
		d.wg.Wait()

		d = &pipeDialer{serve: func(i int, c net.Conn) {
			if fc, ok := loggedIn(t, c); ok {
				<-fc.done
			}
		}}
		sub, _ = SubscribeBatches(t.Context(), testConfig(d), AckManual)
		synctest.Wait()
		sub.Close()
		for ev, err := range sub.All() {
			t.Fatalf("after Close: yielded %v, %v", ev, err)
		}
		d.wg.Wait()
	})
}

// TestAllDedup: All drops replays as Batch.Events does; with AckManual the
// window learns a block's events when the block is acked: the block the
// first loop broke on is acked when the second loop finishes it, before
// the next Batch is split, so the replays of both blocks are dropped.
func TestAllDedup(t *testing.T) {
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
		sub, _ := SubscribeBatches(t.Context(), testConfig(d), AckManual)
		take := func(until string, docs ...string) string {
			t.Helper()
			next <- docs
			var got []string
			for ev, err := range sub.All() {
				if err != nil {
					t.Fatal(err)
				}
				dp, _ := ev.DataPoint()
				got = append(got, dp.ID)
				if dp.ID == until {
					break
				}
			}
			return strings.Join(got, "")
		}
		a, _ := dpDoc("a")
		b, _ := dpDoc("b")
		if got := take("b", a, b); got != "ab" { // a acked, b not
			t.Fatalf("first loop %q", got)
		}
		// b again (the unfinished event), then replays of a and b,
		// dropped, and c.
		rA, _ := dpReplayDoc("a")
		rB, _ := dpReplayDoc("b")
		c, _ := dpDoc("c")
		if got := take("c", rA, rB, c); got != "bc" {
			t.Fatalf("second loop %q, want bc", got)
		}
		if st := sub.Stats(); st.Duplicates != 2 {
			t.Errorf("%d duplicates, want 2", st.Duplicates)
		}
		close(next)
		sub.Close()
		d.wg.Wait()
	})
}
