package stream

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"unsafe"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

// zlibOf compresses doc, at the fastest level (documents of megabytes are
// compressed under the race detector).
func zlibOf(doc []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
	w.Write(doc)
	w.Close()
	return b.Bytes()
}

// hostileXML are the documents that made the XML split allocate hundreds
// of times their size before the budgets: n bytes of nested elements, of
// attributes on one element, of namespace declarations on one element.
func hostileXML(n int) map[string][]byte {
	attrs := func(format string) []byte {
		var b bytes.Buffer
		b.WriteString(`<Document><Msg topic="1/X/1"><X><a`)
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		b.WriteString(`/></X></Msg></Document>`)
		return b.Bytes()
	}
	return map[string][]byte{
		"nested elements": []byte(`<Document><Msg topic="1/X/1"><X>` + strings.Repeat("<a>", n/3) + strings.Repeat("</a>", n/3) + `</X></Msg></Document>`),
		"attributes":      attrs(` a%d="v"`),
		"xmlns":           attrs(` xmlns:n%d="urn:x"`),
	}
}

// xmlSession runs a session that receives doc (XML or JSON, by its first
// byte; zlib) as block 7 and a
// DataPoint as block 8, and returns what it allocated until the second
// block's event was received, the first state change with an error, that
// event, the stats and the acks.
func xmlSession(t *testing.T, doc []byte) (allocs uint64, state StateChange, ev Event, st Stats, acks []uint16) {
	format := protocol.FormatJSON
	if doc[0] == '<' {
		format = protocol.FormatXML
	}
	script, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 7, Count: 1,
		Compression: protocol.CompressionZlib, Format: format, Payload: zlibOf(doc)})
	after, n := dpDoc("after")
	script, _ = protocol.AppendPublishMessage(script, protocol.PublishMessage{DataBlockID: 8, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(after)})
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			c.Write(script)
			for id := range fc.acks {
				acks = append(acks, id)
			}
		}}
		cfg := leanConfig(d)
		cfg.MaxDecompressed = 32 << 20 // the session's own Inflater: no pooled buffer to reuse or not
		var sub *Subscription
		allocs = allocated(func() {
			sub, _ = Subscribe(t.Context(), cfg)
			for ev = range sub.Events() {
				if dp, _ := ev.DataPoint(); dp.ID == "after" {
					break
				}
			}
			synctest.Wait()
		})
	states:
		for {
			select {
			case sc := <-sub.States():
				if sc.Err != nil {
					state = sc
					break states
				}
			default:
				break states
			}
		}
		st = sub.Stats()
		sub.Close()
		d.wg.Wait()
	})
	return allocs, state, ev, st, acks
}

// TestHostileXMLBlockSkippedWithBoundedMemory: a zlib block (19 KiB for
// the nested one) inflating to megabytes of nested elements, or of
// attributes or namespace declarations on one element, is refused at its
// first token beyond a budget: the block is acked and skipped, counted in
// BadBlocks and reported on States with a *LimitError, and the next block
// is delivered. The split adds at most 1 MiB to what a raw document of the
// same size costs (the inflate buffer and the one copy of the document,
// which every block pays). Before the budgets, 16 KiB of zlib holding
// nested elements raised the heap by about 550 MiB. The documents are of
// 1 MiB (8 MiB with PUSHMON_LONG=1): the budgets stop each within its
// first kilobyte.
func TestHostileXMLBlockSkippedWithBoundedMemory(t *testing.T) {
	size := 1 << 20
	if longTests() {
		size = 8 << 20
	}
	for name, doc := range hostileXML(size) {
		t.Run(name, func(t *testing.T) {
			control := []byte("<raw>" + strings.Repeat("x", len(doc)-len("<raw></raw>")) + "</raw>")
			base, _, _, _, _ := xmlSession(t, control)
			allocs, state, ev, st, acks := xmlSession(t, doc)
			var le *LimitError
			if state.State != StateConnected || !errors.As(state.Err, &le) || !errors.Is(state.Err, ErrDocumentLimit) || !strings.Contains(state.Err.Error(), "block 7") {
				t.Errorf("state change %+v, want connected with a *LimitError", state)
			}
			if dp, _ := ev.DataPoint(); dp.ID != "after" {
				t.Errorf("event after the hostile block: %v", ev)
			}
			if st.BadBlocks != 1 || st.Events != 1 || fmt.Sprint(acks) != "[7 8]" {
				t.Errorf("stats %+v, acks %v", st, acks)
			}
			t.Logf("%d-byte document (%v): %d bytes allocated (%.2f × the document); a raw one of that size: %d",
				len(doc), le, allocs, float64(allocs)/float64(len(doc)), base)
			if allocs > base+1<<20 {
				t.Errorf("allocated %d bytes, a raw document of the same size %d", allocs, base)
			}
		})
	}
}

// TestManyEventsBlockSkippedWithBoundedMemory: a zlib block inflating
// to a Msg array of two-byte elements, the cheapest events there are, is
// refused at its 65 536th event: the block is acked and skipped, counted
// in BadBlocks and reported on States with a *LimitError naming the events
// budget, and the next block is delivered. What it costs beyond a raw
// document of its size is bounded by the budget (the events of the
// block, each with its EventError), not by the document: before the
// budget, each of its 2 bytes cost the session about 400 bytes of
// allocations (an Event allocated five times over as the slice grew, an
// EventError, a grammar error), and the 64 MiB a block may inflate to,
// gigabytes. The document is of 1 MiB (8 MiB with
// PUSHMON_LONG=1).
func TestManyEventsBlockSkippedWithBoundedMemory(t *testing.T) {
	size := 1 << 20
	if longTests() {
		size = 8 << 20
	}
	doc := []byte(`{"Document":{"Msg":[` + strings.Repeat("1,", size/2) + `1]}}`)
	control := []byte(`{"raw":"` + strings.Repeat("x", len(doc)-len(`{"raw":""}`)) + `"}`)
	base, _, _, _, _ := xmlSession(t, control)
	allocs, state, ev, st, acks := xmlSession(t, doc)
	var le *LimitError
	if state.State != StateConnected || !errors.As(state.Err, &le) || le.Limit != envelope.LimitEvents || !strings.Contains(state.Err.Error(), "block 7") {
		t.Errorf("state change %+v, want connected with the events *LimitError", state)
	}
	if dp, _ := ev.DataPoint(); dp.ID != "after" {
		t.Errorf("event after the hostile block: %v", ev)
	}
	if st.BadBlocks != 1 || st.Events != 1 || st.Invalid != 0 || fmt.Sprint(acks) != "[7 8]" {
		t.Errorf("stats %+v, acks %v", st, acks)
	}
	// The block's events slice grows by a quarter at a time at this size,
	// so its Events are allocated about five times over (seven allowed),
	// and each invalid event has an EventError besides.
	bound := uint64(envelope.DefaultMaxEvents) * (7*uint64(unsafe.Sizeof(Event{})) + 64)
	t.Logf("%d-byte document: %d bytes allocated (%.2f × the document), a raw one %d, the budget's bound %d",
		len(doc), allocs, float64(allocs)/float64(len(doc)), base, bound)
	if allocs > base+bound+1<<20 {
		t.Errorf("allocated %d bytes, a raw document of the same size %d", allocs, base)
	}
}

// TestBudgetInBatchModes: in modeBatches a document over a budget is found
// when Batch.Events splits the Batch: its block gives no events, is counted
// in BadBlocks and reported on States; the other blocks of the Batch are
// delivered, and every block is acked.
func TestBudgetInBatchModes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		deep := `{"Document":{"Msg":{"topic":"1/X/1","X":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}`
		a, _ := dpDoc("a")
		b, _ := dpDoc("b")
		var fc *fakeConn
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			fc.burst([]string{a, deep, b}, make([]bool, 3))
			<-fc.done
		}}
		cfg := testConfig(d)
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		batch := <-sub.Batches()
		var ids []string
		for _, ev := range batch.Events() {
			dp, _ := ev.DataPoint()
			ids = append(ids, dp.ID)
		}
		synctest.Wait()
		var state StateChange
		for sc := range sub.States() {
			if sc.Err != nil {
				state = sc
				break
			}
		}
		if len(batch.Blocks) != 3 || fmt.Sprint(ids) != "[a b]" {
			t.Errorf("%d blocks, events %v", len(batch.Blocks), ids)
		}
		if st := sub.Stats(); st.BadBlocks != 1 || st.Events != 2 || st.Acks != 3 {
			t.Errorf("stats %+v", st)
		}
		if !errors.Is(state.Err, ErrDocumentLimit) || state.State != StateConnected {
			t.Errorf("state change %+v", state)
		}
		sub.Close()
		d.wg.Wait()
	})
}

// xmlBlock is a block of n XML DataPoint events.
func xmlBlock(n int) (string, int) {
	var b strings.Builder
	b.WriteString("<Document>")
	for i := range n {
		fmt.Fprintf(&b, `<Msg topic="1/DataPoint/s" operation="INSERTION" timestamp="2024-01-02T03:04:05Z"><DataPoint><id>e%d</id><data>%d</data></DataPoint></Msg>`, i, i)
	}
	b.WriteString("</Document>")
	return b.String(), n
}

// TestSplitStopsAtCancel: cancelled while a large block is being split, a
// modeEvents subscription stops the split at its next check (the next
// Msg): counted by the events split after the cancel, not by a clock. The
// block's events count as undelivered by its Count (bounded by its size),
// and nothing is acked. The same holds when Shutdown begins mid-split.
func TestSplitStopsAtCancel(t *testing.T) {
	for _, how := range []string{"cancel", "Shutdown"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				doc, n := xmlBlock(2000)
				var fc *fakeConn
				ready := make(chan struct{}) // the hook has its subscription
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					var ok bool
					if fc, ok = loggedIn(t, c); !ok {
						return
					}
					<-ready
					fc.block(doc, n, protocol.FormatXML, true)
					<-fc.done
				}}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				var subp atomic.Pointer[Subscription]
				split, after := 0, 0
				stopped := false
				onSplitEvent = func() {
					split++
					if stopped {
						after++
						return
					}
					stopped = true
					if how == "cancel" {
						cancel()
						return
					}
					go subp.Load().Shutdown(context.Background())
					synctest.Wait() // Shutdown has begun and waits for the session
				}
				defer func() { onSplitEvent = nil }()
				sub, _ := Subscribe(ctx, testConfig(d))
				subp.Store(sub)
				close(ready)
				<-sub.Done()
				d.wg.Wait()
				if !stopped || after > 1 {
					t.Errorf("%d events split after the %s (%d in all), want at most 1", after, how, split)
				}
				if st := sub.Stats(); st.Undelivered != uint64(n) || st.Events != 0 || st.Acks != 0 || len(fc.acks) != 0 {
					t.Errorf("stats %+v, %d acks; want %d undelivered, none acked", st, len(fc.acks), n)
				}
			})
		})
	}
}

// TestUnreadBatchNotSplitAtClose: Close with a Batch the consumer never
// took counts its events by the blocks' Count (bounded by their size)
// without splitting anything on the library's goroutine.
func TestUnreadBatchNotSplitAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		doc, n := xmlBlock(100)
		const lying = 60_000 // a Count its document cannot hold: bounded by its size
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			both := fc.appendBlock(nil, doc, n, protocol.FormatXML, false)
			fc.c.Write(fc.appendBlock(both, doc, lying, protocol.FormatXML, false))
			<-fc.done
		}}
		splits := 0
		onSplitEvent = func() { splits++ }
		defer func() { onSplitEvent = nil }()
		cfg := testConfig(d)
		cfg.ReadBufferSize = 1 << 20 // both blocks arrive together: one Batch
		sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
		synctest.Wait() // the Batch waits for the consumer, who never comes
		sub.Close()
		d.wg.Wait()
		want := uint64(n + len(doc)/minEventBytes + 1)
		if st := sub.Stats(); splits != 0 || st.Undelivered != want || st.Blocks != 2 {
			t.Errorf("%d events split, %d undelivered of %d blocks; want none split, %d undelivered", splits, st.Undelivered, st.Blocks, want)
		}
	})
}
