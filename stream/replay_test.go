package stream

import (
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
)

// TestReconnectCheckEndsAtFirstNewEvent: after a reconnect the server may
// send again, unflagged, what the consumer already has; those events are
// checked against the window until the first one not found in it, and
// dropped. From that new event on nothing unflagged is checked (an old
// event repeated after it is delivered again: duplicates, never loss),
// while events flagged replay always are. On the first connection nothing
// unflagged is checked at all. In modeEvents and in modeBatches.
func TestReconnectCheckEndsAtFirstNewEvent(t *testing.T) {
	for _, mode := range []mode{modeEvents, modeBatches} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc := newFakeConn(t, c)
					if _, ok := fc.login(protocol.StatusOK); !ok {
						return
					}
					go fc.readAcks()
					block := func(doc string, n int) {
						fc.block(doc, n, protocol.FormatJSON, false)
						time.Sleep(time.Second) // one block per Batch
					}
					switch i {
					case 1:
						block(dpDoc("a", "b"))
						block(dpDoc("a")) // unflagged on the first connection: not checked
						fc.c.Close()      // before the acks are read
					case 2:
						block(dpDoc("a", "b")) // sent again, unflagged: checked, dropped
						block(dpDoc("c", "a")) // c is new: the check ends, a is delivered again
						block(dpDoc("b"))      // unflagged: not checked
						block(dpReplayDoc("c", "d"))
						<-fc.done
					}
				}}
				cfg := testConfig(d)
				cfg.MaxBatchBlocks = 1
				cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(time.Second) }
				sub, _ := subscribeMode(t.Context(), cfg, mode)
				var ids []string
				for len(ids) < 7 {
					var evs []Event
					if mode == modeEvents {
						evs = []Event{<-sub.Events()}
					} else {
						evs = (<-sub.Batches()).Events()
					}
					for _, ev := range evs {
						dp, _ := ev.DataPoint()
						ids = append(ids, dp.ID)
					}
				}
				synctest.Wait()
				if want := "[a b a c a b d]"; fmt.Sprint(ids) != want {
					t.Errorf("delivered %v, want %s", ids, want)
				}
				if mode == modeEvents {
					select {
					case ev := <-sub.Events():
						t.Errorf("more: %v", ev)
					default:
					}
				} else {
					select {
					case b := <-sub.Batches():
						t.Errorf("more: %v", b.Events())
					default:
					}
				}
				if st := sub.Stats(); st.Duplicates != 3 || st.Connects != 2 {
					t.Errorf("stats %+v, want 3 duplicates over 2 connections", st)
				}
				sub.Close()
				d.wg.Wait()
			})
		})
	}
}

// TestHTTPChecksRetriedDocumentsOnly: a push whose document equals one
// received before (the server's retry) has its events checked against the
// window; another document is not checked, even if it repeats an event
// (unflagged), and its events flagged replay are.
func TestHTTPChecksRetriedDocumentsOnly(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	a, _ := dpDoc("a")
	ab, _ := dpDoc("a", "b")
	replayB, _ := dpReplayDoc("b")
	for _, c := range []struct {
		doc  string
		want string
	}{
		{a, "[a]"},
		{a, "[]"},     // a retry: checked, dropped
		{ab, "[a b]"}, // another document: a is not checked
		{replayB, "[]"},
	} {
		done := pushAsync(r, "PUT", c.doc)
		var ids []string
		for {
			select {
			case ev := <-r.Events():
				dp, _ := ev.DataPoint()
				ids = append(ids, dp.ID)
				continue
			case w := <-done:
				if w.Code != 200 {
					t.Fatalf("%d", w.Code)
				}
			}
			break
		}
		if fmt.Sprint(ids) != c.want && !(c.want == "[]" && ids == nil) {
			t.Errorf("push of %s: delivered %v, want %s", c.doc, ids, c.want)
		}
	}
	if st := r.Stats(); st.Duplicates != 2 || st.Events != 3 {
		t.Errorf("stats %+v", st)
	}
}
