package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
)

func dpDoc(ids ...string) (string, int) {
	var msgs []string
	for _, id := range ids {
		// The same id is the same event, whichever document holds it.
		msgs = append(msgs, jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody(id, len(id)), false))
	}
	return jsonDoc(msgs...), len(ids)
}

// dpReplayDoc is dpDoc with every event flagged replay, as a persistent
// monitor sends them again.
func dpReplayDoc(ids ...string) (string, int) {
	var msgs []string
	for _, id := range ids {
		msgs = append(msgs, jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody(id, len(id)), true))
	}
	return jsonDoc(msgs...), len(ids)
}

// TestBatchesModeAcksOnHandOff: blocks that arrive together are handed
// over as one Batch, in order, and acked (in order) only once the consumer
// has received it; MaxBatchBlocks bounds a Batch.
func TestBatchesModeAcksOnHandOff(t *testing.T) {
	for _, tc := range []struct {
		maxBlocks int
		want      []int // blocks per Batch
	}{{0, []int{3}}, {2, []int{2, 1}}, {1, []int{1, 1, 1}}} {
		t.Run(fmt.Sprintf("maxBlocks=%d", tc.maxBlocks), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fc *fakeConn
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					var ok bool
					if fc, ok = loggedIn(t, c); !ok {
						return
					}
					docA, _ := dpDoc("a", "b", "c")
					docB, _ := dpDoc("d")
					docC, _ := dpDoc("e", "f")
					fc.burst([]string{docA, docB, docC}, []bool{true, false, false})
					<-fc.done
				}}
				cfg := testConfig(d)
				cfg.MaxBatchBlocks = tc.maxBlocks
				sub, _ := SubscribeBatches(t.Context(), cfg, AckOnReceive)
				synctest.Wait()
				if len(fc.acks) != 0 {
					t.Fatal("acked before hand-off")
				}
				var ids []string
				var blocks, acks []uint16
				takeAcks := func() {
					synctest.Wait()
					for len(fc.acks) > 0 {
						acks = append(acks, <-fc.acks)
					}
				}
				for n, want := range tc.want {
					b := <-sub.Batches()
					if len(b.Blocks) != want || b.MonitorID != 42 {
						t.Fatalf("Batch %d has %d blocks of monitor %d, want %d of 42", n, len(b.Blocks), b.MonitorID, want)
					}
					for _, blk := range b.Blocks {
						blocks = append(blocks, blk.DataBlockID)
					}
					// Acks may wait while more frames are buffered, but
					// never name a block not handed over.
					takeAcks()
					if !slices.Equal(acks, blocks[:len(acks)]) {
						t.Errorf("acks %v after hand-off of blocks %v", acks, blocks)
					}
					for _, ev := range b.Events() {
						dp, _ := ev.DataPoint()
						ids = append(ids, dp.ID)
					}
					if err := b.Ack(); err != nil {
						t.Errorf("Ack in auto mode = %v", err)
					}
				}
				takeAcks()
				if got := strings.Join(ids, ""); got != "abcdef" || !slices.Equal(blocks, []uint16{0, 1, 2}) || !slices.Equal(acks, blocks) {
					t.Errorf("events %q in blocks %v acked %v, want abcdef in 0 1 2, all acked", got, blocks, acks)
				}
				sub.Close()
				d.wg.Wait()
			})
		})
	}
}

func TestManualAckWaitsForAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fc *fakeConn
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			var ok bool
			if fc, ok = loggedIn(t, c); !ok {
				return
			}
			for _, id := range []string{"a", "b"} {
				doc, n := dpDoc(id)
				fc.block(doc, n, protocol.FormatJSON, false)
			}
			docC, _ := dpDoc("c")
			docD, _ := dpDoc("d")
			fc.burst([]string{docC, docD}, []bool{false, true})
			<-fc.done
		}}
		cfg := testConfig(d)
		sub, _ := SubscribeBatches(t.Context(), cfg, AckManual)
		b0 := <-sub.Batches()
		b1 := <-sub.Batches()
		b2 := <-sub.Batches()
		synctest.Wait()
		if len(fc.acks) != 0 {
			t.Fatal("manual mode acked without Ack")
		}
		if len(b0.Blocks) != 1 || len(b1.Blocks) != 1 || len(b2.Blocks) != 2 {
			t.Fatalf("batches of %d, %d and %d blocks, want 1, 1, 2", len(b0.Blocks), len(b1.Blocks), len(b2.Blocks))
		}
		if err := b1.Ack(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if id := <-fc.acks; id != 1 {
			t.Errorf("ack names %d, want 1", id)
		}
		b1.Ack() // second call does nothing
		synctest.Wait()
		if len(fc.acks) != 0 {
			t.Error("second Ack sent another ack")
		}
		if err := b2.Ack(); err != nil { // without a call to Events
			t.Fatal(err)
		}
		synctest.Wait()
		if got := []uint16{<-fc.acks, <-fc.acks}; !slices.Equal(got, []uint16{2, 3}) {
			t.Errorf("acks of a two-block Batch name %v, want [2 3]", got)
		}
		sub.Close()
		d.wg.Wait()
		if err := b0.Ack(); !errors.Is(err, ErrSessionClosed) {
			t.Errorf("Ack after close = %v, want ErrSessionClosed", err)
		}
	})
}

// TestReplayAfterReconnectIsDeduplicated: the server drops the connection
// with a block delivered but (from its view) un-acked, and replays it on
// the next connection with a new DataBlockId: the consumer sees each
// event once, and the replayed block is acked.
func TestReplayAfterReconnectIsDeduplicated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		replayAcks := make(chan uint16, 10)
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			switch i {
			case 1:
				doc, n := dpDoc("a", "b")
				fc.block(doc, n, protocol.FormatJSON, false)
				// Close before reading any ack.
				time.Sleep(time.Second)
			case 2:
				go fc.readAcks()
				fc.next = 100
				doc, n := dpDoc("a", "b") // replay
				fc.block(doc, n, protocol.FormatJSON, true)
				doc, n = dpDoc("b", "c") // overlap
				fc.block(doc, n, protocol.FormatJSON, false)
				for id := range fc.acks {
					replayAcks <- id
				}
			}
		}}
		cfg := testConfig(d)
		cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
		sub, _ := Subscribe(t.Context(), cfg)
		var got []string
		for len(got) < 3 {
			ev := <-sub.Events()
			dp, _ := ev.DataPoint()
			got = append(got, dp.ID)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if fmt.Sprint(got) != "[a b c]" {
			t.Errorf("delivered %v, want [a b c]", got)
		}
		if st := sub.Stats(); st.Duplicates != 3 || st.Dials != 2 {
			t.Errorf("stats = %+v", st)
		}
		sub.Close()
		d.wg.Wait()
		close(replayAcks)
		var ids []uint16
		for id := range replayAcks {
			ids = append(ids, id)
		}
		if fmt.Sprint(ids) != "[100 101]" {
			t.Errorf("acks on the second connection %v, want [100 101]", ids)
		}
	})
}

func TestRawAndBadBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var acks []uint16
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			fc.block(`{"temp":21.5}`, 1, protocol.FormatJSON, false)
			// Corrupt zlib: the block is skipped and acked, the session goes on.
			frame, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 1, Count: 1, Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: []byte("not zlib at all")})
			c.Write(frame)
			fc.next = 2
			doc, n := dpDoc("z")
			fc.block(doc, n, protocol.FormatJSON, true)
			for id := range fc.acks {
				acks = append(acks, id)
			}
		}}
		sub, _ := Subscribe(t.Context(), testConfig(d))
		raw := <-sub.Events()
		var v struct{ Temp float64 }
		if !raw.Raw || string(raw.Body) != `{"temp":21.5}` || raw.Decode(&v) != nil || v.Temp != 21.5 {
			t.Errorf("raw event = %+v", raw)
		}
		ev := <-sub.Events()
		if dp, _ := ev.DataPoint(); dp.ID != "z" {
			t.Errorf("after a bad block: %v", ev)
		}
		synctest.Wait()
		st := sub.Stats()
		sub.Close()
		d.wg.Wait()
		if fmt.Sprint(acks) != "[0 1 2]" || st.BadBlocks != 1 || st.Raw != 1 || st.Dials != 1 {
			t.Errorf("acks %v, stats %+v", acks, st)
		}
	})
}

func TestTransientErrorsBackOffWithJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var dialTimes []time.Time
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			dialTimes = append(dialTimes, time.Now())
			newFakeConn(t, c).r.ReadFrame() // read the ConnectRequest, then EOF
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		sub, _ := Subscribe(ctx, testConfig(d))
		<-sub.Done()
		d.wg.Wait()
		if sub.Err() != nil {
			t.Errorf("transient errors ended the subscription: %v", sub.Err())
		}
		n := len(dialTimes)
		if n > 30 || n < 10 {
			t.Errorf("%d dials in 10 minutes of accept-then-close", n)
		}
		// Each delay lies within ±50 % of 500 ms × 1.5^k, capped at 60 s.
		want := 500 * time.Millisecond
		for k := 1; k < n; k++ {
			gap := dialTimes[k].Sub(dialTimes[k-1])
			lo, hi := time.Duration(float64(want)*0.5), time.Duration(float64(want)*1.5)
			if gap < lo || gap > hi+time.Millisecond {
				t.Errorf("delay %d = %v, want within [%v, %v]", k, gap, lo, hi)
			}
			want = min(time.Duration(float64(want)*1.5), 60*time.Second)
		}
	})
}

func TestSecretsNeverPrinted(t *testing.T) {
	const sentinel = SentinelPassword
	var logs strings.Builder
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) { newFakeConn(t, c).login(protocol.StatusUnauthorized) }}
		cfg := testConfig(d)
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.Logger.Info("config", "cfg", cfg)
		sub, _ := Subscribe(t.Context(), cfg)
		<-sub.Done()
		d.wg.Wait()
		var out strings.Builder
		for _, v := range []any{cfg, &cfg, sub, sub.Err()} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				fmt.Fprintf(&out, verb+"\n", v)
			}
		}
		out.WriteString(logs.String())
		if strings.Contains(out.String(), sentinel) || strings.Contains(out.String(), fmt.Sprintf("%x", sentinel)) {
			t.Errorf("password printed:\n%s", out.String())
		}
		if !strings.Contains(logs.String(), "[REDACTED]") {
			t.Errorf("config not logged redacted:\n%s", logs.String())
		}
	})
}
