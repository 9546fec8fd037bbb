package stream

import (
	"bytes"
	"compress/zlib"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// TestTrailingZlibBytesReported: a block whose zlib stream is followed by
// more bytes (a second stream, garbage) delivers the events of its stream
// — as it did — but no longer drops the rest without a trace: the
// subscription reports it on States (an error matching
// protocol.ErrCorruptPayload, naming the block) and logs it, as the HTTP
// receiver refuses such a body. The block is acked, the session goes on,
// and the next block is delivered. In every mode.
func TestTrailingZlibBytesReported(t *testing.T) {
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var acks []uint16
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc, ok := loggedIn(t, c)
					if !ok {
						return
					}
					doc, n := dpDoc("a", "b")
					var z bytes.Buffer
					w := zlib.NewWriter(&z)
					w.Write([]byte(doc))
					w.Close()
					second, _ := dpDoc("lost")
					w = zlib.NewWriter(&z) // a second stream after the first
					w.Write([]byte(second))
					w.Close()
					fc.next = 7
					fr, err := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 7, Count: uint16(n + 1),
						Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: z.Bytes()})
					if err != nil {
						t.Error(err)
						return
					}
					fc.next++
					c.Write(fr)
					after, an := dpDoc("after")
					fc.block(after, an, protocol.FormatJSON, true)
					for id := range fc.acks {
						acks = append(acks, id)
					}
				}}
				sub, err := subscribeMode(t.Context(), testConfig(d), m)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for len(got) < 3 {
					var evs []Event
					if m == modeEvents {
						evs = []Event{<-sub.Events()}
					} else {
						b := <-sub.Batches()
						evs = b.Events()
						b.Ack()
					}
					for _, ev := range evs {
						dp, err := ev.DataPoint()
						if err != nil {
							t.Fatalf("event %v: %v", ev, err)
						}
						got = append(got, dp.ID)
					}
				}
				synctest.Wait()
				var report error
				for report == nil {
					select {
					case sc := <-sub.States():
						report = sc.Err
					default:
						report = errors.New("none")
					}
				}
				sub.Close()
				d.wg.Wait()
				if strings.Join(got, ",") != "a,b,after" {
					t.Errorf("events %v, want a,b,after", got)
				}
				if !errors.Is(report, protocol.ErrCorruptPayload) || !strings.Contains(report.Error(), "block 7") {
					t.Errorf("state change error %v, want one matching protocol.ErrCorruptPayload about block 7", report)
				}
				if len(acks) != 2 || acks[0] != 7 || acks[1] != 8 {
					t.Errorf("acks %v, want [7 8]", acks)
				}
			})
		})
	}
}
