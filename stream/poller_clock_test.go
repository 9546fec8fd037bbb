package stream

import (
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestPollerFutureRecordOutlivesMaxSeen: a record stamped far after the
// server's clock stays among the events the position remembers, however
// many events follow it; when MaxSeen of them have, forgetting the oldest
// must not carry the window's floor past the clock to the future record's
// time, which would leave every event stored after it outside the window
// (lost), on this poller and after a restart from its position. Nor is
// the future record delivered twice.
func TestPollerFutureRecordOutlivesMaxSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		clock := pollBase.Add(5 * time.Second) // the server's now
		api := historyClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", clock.Format(http.TimeFormat))
			srv.Handler().ServeHTTP(w, r)
		}))
		future := dpEvent(1, 0)
		future.Timestamp = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
		srv.Publish(dpEvent(0, 0), future)
		cfg := PollerConfig{Client: api, MonitorID: id, Interval: time.Minute, PageSize: 4, MaxSeen: 4}
		p, err := NewPoller(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if ids := dpIDs(t, take(t, p.Events(), 2)); !slices.Equal(ids, wantIDs(0, 2)) {
			t.Fatalf("first poll: %v", ids)
		}
		synctest.Wait()
		for i := 2; i < 12; i++ { // more than MaxSeen, each in a poll of its own
			srv.Publish(dpEvent(i, i))
			select {
			case ev := <-p.Events():
				if got := dpIDs(t, []Event{ev}); !slices.Equal(got, wantIDs(i, i+1)) {
					t.Fatalf("event %d: got %v", i, got)
				}
			case <-time.After(time.Hour):
				t.Fatalf("event %d was not delivered (stats %+v)", i, p.Stats())
			}
			synctest.Wait()
		}
		srv.Publish(dpEvent(12, 12), dpEvent(13, 13), dpEvent(14, 14))
		if got := dpIDs(t, takeWithin(t, p.Events(), 3, time.Hour)); !slices.Equal(got, wantIDs(12, 15)) {
			t.Errorf("a poll of several: %v", got)
		}
		expectQuiet(t, p.Events(), 5*time.Minute)
		pos := p.Position()
		p.Close()
		if st := p.Stats(); st.OutsideWindow != 0 || st.Events != 15 {
			t.Errorf("stats %+v, want 15 events and none outside the window", st)
		}
		srv.Publish(dpEvent(15, 15))
		text, err := pos.MarshalText() // the future record's entry survives saving
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Start.UnmarshalText(text); err != nil {
			t.Fatal(err)
		}
		q, err := NewPoller(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if got := dpIDs(t, takeWithin(t, q.Events(), 1, time.Hour)); !slices.Equal(got, wantIDs(15, 16)) {
			t.Errorf("after a restart: %v", got)
		}
		expectQuiet(t, q.Events(), 5*time.Minute)
	})
}

// TestPollerFutureRecordMovesTheWindowToTheClock: a record stamped after
// the server's clock moves the window only up to that clock — the answer's
// Date, not the minute of skew allowed beyond it — so that without an
// overlap, the events the server stores after it, stamped by its clock a
// few seconds later, are still read, and are not counted as late.
func TestPollerFutureRecordMovesTheWindowToTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		clock := pollBase.Add(5 * time.Second) // the server's now
		var now atomic.Int64
		now.Store(clock.Unix())
		api := historyClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", time.Unix(now.Load(), 0).UTC().Format(http.TimeFormat))
			srv.Handler().ServeHTTP(w, r)
		}))
		future := dpEvent(1, 0)
		future.Timestamp = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
		srv.Publish(dpEvent(0, 0), future)
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Minute, Overlap: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if ids := dpIDs(t, take(t, p.Events(), 2)); !slices.Equal(ids, wantIDs(0, 2)) {
			t.Fatalf("first poll: %v", ids)
		}
		synctest.Wait()
		if since := p.Position().Since; since.After(clock) {
			t.Errorf("the window moved to %v, past the server's clock %v", since, clock)
		}
		now.Add(60) // the server's clock, a poll later
		srv.Publish(dpEvent(2, 10), dpEvent(3, 20))
		select {
		case ev := <-p.Events():
			if got := dpIDs(t, []Event{ev}); !slices.Equal(got, wantIDs(2, 3)) {
				t.Errorf("after the future record: %v", got)
			}
		case <-time.After(time.Hour):
			t.Fatalf("the events stored after the future record were not delivered (stats %+v)", p.Stats())
		}
		take(t, p.Events(), 1)
		synctest.Wait()
		if st := p.Stats(); st.Late != 0 || st.Events != 4 {
			t.Errorf("stats %+v, want 4 events, none late", st)
		}
	})
}

// TestSeenSetKeepsEntriesAheadOfTheClock: the memory of delivered events
// forgets the oldest of them beyond its bound, but not one stamped after
// the window's newest millisecond while others can go; and when only such
// entries are left, forgetting one raises the floor no further than just
// past that millisecond.
func TestSeenSetKeepsEntriesAheadOfTheClock(t *testing.T) {
	s := newSeenSet(PollPosition{}, 3)
	s.raise(1000, 900)
	s.add(seenEntry{ms: 5000, h: 1}) // ahead of the window
	for i := range 5 {
		s.add(seenEntry{ms: 950 + int64(i), h: uint64(10 + i)})
		s.raise(1000, 900+int64(i))
	}
	if !s.has(1) || len(s.ents) != 3 || s.floor != 953 {
		t.Errorf("entries %v, floor %d: want the one at 5000 kept, the two newest others, floor 953", s.ents, s.floor)
	}
	for i := range 4 {
		s.add(seenEntry{ms: 6000 + int64(i), h: uint64(20 + i)})
	}
	if s.has(1) || !s.has(23) || s.floor != 1001 {
		t.Errorf("entries %v, floor %d: want the oldest ahead forgotten and the floor at 1001", s.ents, s.floor)
	}
}
