package stream

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// badTSMsg is an invalid event (its timestamp does not parse) with a
// topic, so it has an identity; replay flags it as a persistent monitor
// sends it again.
func badTSMsg(replay bool) string {
	return jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "not a time", "DataPoint", dpBody("bad", 1), replay)
}

// TestInvalidEventIdentitySurvivesReplay: Identity promises "the same
// for the event and every replay of it". An invalid event sent second in
// one document and replayed first in another (flagged replay) is the same
// event, so its Identity must not change with its position.
func TestInvalidEventIdentitySurvivesReplay(t *testing.T) {
	first, err := ParseDocument([]byte(jsonDoc(jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody("ok", 1), false), badTSMsg(false))), FormatJSON)
	if err != nil || len(first) != 2 || first[1].Err == nil {
		t.Fatalf("first document: %v, %v", first, err)
	}
	again, err := ParseDocument([]byte(jsonDoc(badTSMsg(true))), FormatJSON)
	if err != nil || len(again) != 1 || again[0].Err == nil || !again[0].Replay {
		t.Fatalf("replay document: %v, %v", again, err)
	}
	if a, b := first[1].Identity(), again[0].Identity(); a == "" || a != b {
		t.Errorf("the invalid event's Identity is %q, its replay's %q (errors %q and %q): a replay has another identity",
			a, b, first[1].Err, again[0].Err)
	}
}

// TestInvalidEventReplayIsADuplicate: over TCP, the invalid event
// is delivered on the first connection; the second connection replays it
// (flagged replay, in a block of its own). The dedup window holds it, yet
// the consumer gets it a second time.
func TestInvalidEventReplayIsADuplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc, ok := loggedIn(t, c)
			if !ok {
				return
			}
			doc := jsonDoc(jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody("ok", 1), false), badTSMsg(false))
			if i > 1 {
				doc = jsonDoc(badTSMsg(true)) // the replay of what the client may not have acked
			}
			if _, err := fc.block(doc, 2, protocol.FormatJSON, false); err != nil {
				return
			}
			if i == 1 {
				<-fc.acks
				c.Close() // the connection drops; the next one replays
				return
			}
			<-fc.done
		}}
		cfg := testConfig(d)
		cfg.NewBackOff = func() backoffBackOff { return constantBackOff(0) }
		sub, err := Subscribe(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Two events on the first connection; the replay, unless dropped,
		// on the second. Then the bubble's clock runs a minute on.
		var invalid int
	recv:
		for {
			select {
			case ev := <-sub.Events():
				if ev.Err != nil {
					invalid++
				}
			case <-time.After(time.Minute):
				break recv
			}
		}
		if st := sub.Stats(); st.Connects < 2 {
			t.Fatalf("stats %+v: the replay's connection was not made", st)
		}
		sub.Close()
		d.wg.Wait()
		if invalid != 1 {
			t.Errorf("the invalid event was delivered %d times (stats %+v): its replay was not recognised", invalid, sub.Stats())
		}
	})
}
