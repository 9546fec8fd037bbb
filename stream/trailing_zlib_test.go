package stream

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// paddedBlock is a PublishMessage, DataBlockId id, whose payload is the
// zlib stream of the events ids followed by a second zlib stream (of one
// more event, which is never delivered); trailing is that second stream's
// size, the bytes ignored.
func paddedBlock(t testing.TB, id uint16, ids ...string) (frame []byte, trailing int) {
	doc, n := dpDoc(ids...)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write([]byte(doc))
	w.Close()
	first := z.Len()
	lost, _ := dpDoc("lost")
	w = zlib.NewWriter(&z) // a second stream after the first
	w.Write([]byte(lost))
	w.Close()
	frame, err := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: id, Count: uint16(n + 1),
		Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: z.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return frame, z.Len() - first
}

// reports returns the errors reported on the States of sub, which has
// ended, besides its state changes.
func reports(sub testSub) []error {
	var errs []error
	for sc := range sub.States() {
		if sc.State == StateConnected && sc.Err != nil {
			errs = append(errs, sc.Err)
		}
	}
	return errs
}

// TestTrailingZlibBytesReported: a block whose zlib stream is followed by
// more bytes (a second stream, garbage) delivers the events of its stream
// — as it did — but no longer drops the rest without a trace: the
// subscription reports it on States (an error matching
// protocol.ErrCorruptPayload, naming the block, whose text says what
// happened once) and logs it, as the HTTP receiver refuses such a body.
// The block is acked, the session goes on, and the next block is
// delivered. In every mode.
func TestTrailingZlibBytesReported(t *testing.T) {
	padded, trailing := paddedBlock(t, 7, "a", "b")
	after, _ := dpDoc("after")
	script := append(padded, frameOf(protocol.PublishMessage{DataBlockID: 8, Count: 1, Format: protocol.FormatJSON, Payload: []byte(after)})...)
	forModes(t, "", 1, func(t *testing.T, m mode) {
		d := newScriptDialer(t, script, true)
		d.readAcks = true
		sub := mustSubscribe(t, testConfig(d), m)
		got := dpIDs(t, takeMode(t, sub, m, 3))
		synctest.Wait() // the acks are written
		sub.Close()
		d.finish()
		if strings.Join(got, ",") != "a,b,after" {
			t.Errorf("events %v, want a,b,after", got)
		}
		errs := reports(sub)
		want := fmt.Sprintf("stream: block 7: %d byte(s) ignored: protocol: corrupt compressed payload: data after the end of the zlib stream", trailing)
		if len(errs) != 1 || !errors.Is(errs[0], protocol.ErrCorruptPayload) || errs[0].Error() != want {
			t.Errorf("state change errors %q, want one matching protocol.ErrCorruptPayload: %q", errs, want)
		}
		if st := sub.Stats(); st.Trailing != 1 {
			t.Errorf("Stats.Trailing %d, want 1", st.Trailing)
		}
		if !slices.Equal(d.acked, []uint16{7, 8}) {
			t.Errorf("acks %v, want [7 8]", d.acked)
		}
	})
}

// TestTrailingZlibBytesRateLimited: a server that pads every block does
// not flood the log and States: within trailingWindow the first such block
// is logged at ERROR and reported at once, the others only counted
// (Stats.Trailing, exact) and then summarised in one line and one
// report — once their window has passed, as soon as the reader is idle,
// or when the subscription ends. Every event of every stream is delivered
// and every block acked. On the bubble's clock, in every mode.
func TestTrailingZlibBytesRateLimited(t *testing.T) {
	const first, second = 50, 30 // padded blocks before and after a window passes
	var all []string
	var burst1, burst2 []byte
	var trailing int
	for i := range first + 1 + second {
		id := fmt.Sprintf("e%d", i)
		all = append(all, id)
		switch {
		case i < first:
			fr, n := paddedBlock(t, uint16(i+1), id)
			burst1, trailing = append(burst1, fr...), n
		case i == first:
			// a clean block, after the window: burst1's summary follows it
		default:
			fr, _ := paddedBlock(t, uint16(i+1), id)
			burst2 = append(burst2, fr...)
		}
	}
	clean, _ := dpDoc(all[first])
	const tail = ": protocol: corrupt compressed payload: data after the end of the zlib stream"
	want := []string{
		fmt.Sprintf("stream: block 1: %d byte(s) ignored", trailing),
		fmt.Sprintf("stream: %d more block(s), the last block %d, with bytes ignored", first-1, first),
		fmt.Sprintf("stream: block %d: %d byte(s) ignored", first+2, trailing),
		fmt.Sprintf("stream: %d more block(s), the last block %d, with bytes ignored", second-1, first+1+second),
	}
	forModes(t, "", 1, func(t *testing.T, m mode) {
		var acked []uint16
		next := make(chan struct{})
		d := &pipeDialer{serve: func(_ int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			c.Write(burst1)
			time.Sleep(trailingWindow + time.Second)
			c.Write(frameOf(protocol.PublishMessage{DataBlockID: first + 1, Count: 1, Format: protocol.FormatJSON, Payload: []byte(clean)}))
			<-next
			c.Write(burst2)
			for id := range fc.acks {
				acked = append(acked, id)
			}
		}}
		logs := newTee(t)
		cfg := testConfig(d)
		cfg.Logger = slog.New(logs)
		sub := mustSubscribe(t, cfg, m)
		got := dpIDs(t, takeMode(t, sub, m, first+1))
		synctest.Wait() // the reader is idle after the clean block
		var errs []error
		for len(sub.States()) > 0 {
			if sc := <-sub.States(); sc.State == StateConnected && sc.Err != nil {
				errs = append(errs, sc.Err)
			}
		}
		if len(errs) != 2 {
			t.Errorf("%d reports on States once the window has passed and the reader is idle, want 2 (the first block, the summary): %v", len(errs), errs)
		}
		close(next)
		got = append(got, dpIDs(t, takeMode(t, sub, m, second))...)
		synctest.Wait() // the acks are written
		sub.Close()
		d.wg.Wait()
		if !slices.Equal(got, all) {
			t.Errorf("events %v, want %v", got, all)
		}
		if st := sub.Stats(); st.Trailing != first+second || st.Events != uint64(len(all)) {
			t.Errorf("Stats.Trailing %d, Events %d; want %d, %d", st.Trailing, st.Events, first+second, len(all))
		}
		if want := len(all); len(acked) != want || acked[0] != 1 || acked[want-1] != uint16(want) {
			t.Errorf("%d acks (%v), want %d, 1 to %d", len(acked), acked, want, want)
		}
		var texts []string
		for _, err := range append(errs, reports(sub)...) {
			texts = append(texts, strings.TrimSuffix(err.Error(), tail))
			if !errors.Is(err, protocol.ErrCorruptPayload) || !strings.HasSuffix(err.Error(), tail) {
				t.Errorf("reported %v, want an error matching protocol.ErrCorruptPayload ending %q", err, tail)
			}
		}
		if !slices.Equal(texts, want) {
			t.Errorf("reported on States:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
		}
		if n, s := logs.count("ERROR bytes after a block's zlib stream"), logs.count("ERROR more blocks with bytes after"); n != 2 || s != 2 {
			t.Errorf("%d ERROR lines for a block and %d summaries, want 2 and 2: %q", n, s, logs.records())
		}
	})
}
