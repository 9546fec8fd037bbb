package stream

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// dpEvent is a DataPoint event with id dp-<i> at pollBase plus sec seconds.
func dpEvent(i int, sec int) streamtest.Event {
	return streamtest.Event{Topic: fmt.Sprintf("DataPoint/dev%d/temp", i%3), Operation: "INSERTION",
		Timestamp: pollBase.Add(time.Duration(sec) * time.Second),
		Body:      map[string]any{"id": fmt.Sprintf("dp-%05d", i), "data": i}}
}

// TestPollerDeliversLateEvents: an event stored after a poll with an
// older timestamp (a late upload) is delivered by the next poll when it is
// within Overlap, exactly once, and nothing else is delivered again.
func TestPollerDeliversLateEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		for i := range 10 {
			srv.Publish(dpEvent(i, i*10)) // 0 s … 90 s
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 4,
			Interval: time.Minute, Overlap: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if ids := dpIDs(t, take(t, p.Events(), 10)); !slices.Equal(ids, wantIDs(0, 10)) {
			t.Fatalf("first poll: %v", ids)
		}
		synctest.Wait() // the poller waits for the interval
		// Stored now, older than everything delivered but the first: 75 s
		// behind the newest (within the overlap); and one 5 minutes behind
		// it (outside: not delivered, by design).
		srv.Publish(dpEvent(10, 15), dpEvent(11, 90-300), dpEvent(12, 95))
		got := dpIDs(t, takeWithin(t, p.Events(), 2, time.Hour))
		if !slices.Equal(got, []string{"dp-00010", "dp-00012"}) {
			t.Errorf("second poll: %v", got)
		}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		expectNoEvent(t, p.Events())
		st := p.Stats()
		if st.Late != 1 || st.Events != 12 || st.Duplicates == 0 {
			t.Errorf("stats %+v", st)
		}
		// The position carries the window: a restart delivers nothing again.
		q, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 4,
			Interval: time.Minute, Overlap: 2 * time.Minute, Start: p.Position()})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		synctest.Wait()
		expectNoEvent(t, q.Events())
		if q.Stats().Duplicates == 0 {
			t.Error("the restarted poller did not re-read the overlap")
		}
	})
}

// TestPollerRecordStampedInTheFuture: a record stamped long after the
// server's clock (its Date) is delivered, but moves the window only up to
// that clock: the events stored after it, stamped by the clock, are still
// delivered, and so they are after a restart from the saved position.
func TestPollerRecordStampedInTheFuture(t *testing.T) {
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
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if ids := dpIDs(t, take(t, p.Events(), 2)); !slices.Equal(ids, wantIDs(0, 2)) {
			t.Fatalf("first poll: %v", ids)
		}
		synctest.Wait()
		if since := p.Position().Since; since.After(clock.Add(serverClockSlack)) {
			t.Errorf("the window moved to %v, past the server's clock %v", since, clock)
		}
		srv.Publish(dpEvent(2, 2), dpEvent(3, 3))
		if got := dpIDs(t, takeWithin(t, p.Events(), 2, time.Hour)); !slices.Equal(got, wantIDs(2, 4)) {
			t.Errorf("after the future record: %v", got)
		}
		synctest.Wait() // the poller counts an event after its receipt
		if st := p.Stats(); st.Ahead != 1 || st.Events != 4 {
			t.Errorf("stats %+v, want 4 events, 1 ahead of the clock", st)
		}
		pos := p.Position()
		p.Close()
		srv.Publish(dpEvent(4, 4))
		q, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Minute, Start: pos})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if got := dpIDs(t, takeWithin(t, q.Events(), 1, time.Hour)); !slices.Equal(got, wantIDs(4, 5)) {
			t.Errorf("after a restart: %v", got)
		}
	})
}

// TestPollerPositionAfterEveryEvent follows the documented pattern — take
// an event, save Position at once — and restarts the poller after every
// single event, against the simulator, with pages, equal timestamps and a
// late event stored in the middle: every event arrives exactly once.
// Position is read right after the receive, with no wait in between.
func TestPollerPositionAfterEveryEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		const total = 17
		srv.Publish(pollEvents(0, 12)...)
		cfg := PollerConfig{Client: api, MonitorID: id, PageSize: 3, Interval: time.Minute}
		var got []string
		var saved []byte
		for len(got) < total {
			if len(got) == 6 {
				// Late uploads, older than what was delivered, and new ones.
				srv.Publish(dpEvent(12, -5), dpEvent(13, 2))
				srv.Publish(pollEvents(14, 3)...)
			}
			var start PollPosition
			if saved != nil {
				if err := start.UnmarshalText(saved); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Start = start
			p, err := NewPoller(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ev := takeWithin(t, p.Events(), 1, time.Hour)[0]
			if saved, err = p.Position().MarshalText(); err != nil {
				t.Fatal(err)
			}
			p.Close()
			got = append(got, dpIDs(t, []Event{ev})...)
		}
		var start PollPosition
		if err := start.UnmarshalText(saved); err != nil {
			t.Fatal(err)
		}
		cfg.Start = start
		p, err := NewPoller(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		expectNoEvent(t, p.Events())
		p.Close()
		want := wantIDs(0, total)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("delivered %v", got)
		}
	})
}

// TestPollerPositionFromAnotherGoroutine: a Position read while the poller
// offers an event does not cover it, and one read after the consumer took
// it does.
func TestPollerPositionFromAnotherGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 2)...)
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		synctest.Wait() // offering event 0
		if pos := p.Position(); pos.Seen() != 0 || !pos.Since.IsZero() {
			t.Fatalf("position before any receive: %s", pos)
		}
		<-p.Events()
		if pos := p.Position(); pos.Seen() != 1 {
			t.Fatalf("position after one receive: %s", pos)
		}
		<-p.Events()
		done := make(chan PollPosition)
		go func() { done <- p.Position() }()
		if pos := <-done; pos.Seen() != 2 {
			t.Fatalf("position after two receives: %s", pos)
		}
	})
}

// TestPollerTemplateRecords: a handlebars monitor's records are template
// output with no timestamp of their own. Equal renderings are all
// delivered, the position advances by the stored time, later polls read
// only the overlap, and the remembered identities stay within MaxSeen.
func TestPollerTemplateRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling",
			SchemaType: "handlebars", SchemaData: "{{#each this}}reading {{DataPoint.data}}{{/each}}"})
		publish := func(from, n int) {
			for i := from; i < from+n; i++ {
				ev := dpEvent(i, i*60) // a minute apart
				ev.Body = map[string]any{"id": fmt.Sprintf("dp-%05d", i), "data": i % 2}
				srv.Publish(ev)
			}
		}
		publish(0, 30)
		const maxSeen = 4
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 7,
			Interval: time.Minute, Overlap: 10 * time.Minute, MaxSeen: maxSeen})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		evs := take(t, p.Events(), 30)
		for i, ev := range evs {
			if !ev.Raw || string(ev.Body) != fmt.Sprintf("reading %d", i%2) {
				t.Fatalf("event %d: %+v", i, ev)
			}
		}
		synctest.Wait()
		pos := p.Position()
		if want := pollBase.Add(29 * time.Minute); !pos.Since.Equal(want) || pos.Seen() > maxSeen {
			t.Errorf("position %s: want Since %v, at most %d seen", pos, want, maxSeen)
		}
		before := p.Stats()
		publish(30, 2)
		more := takeWithin(t, p.Events(), 2, time.Hour)
		if string(more[0].Body) != "reading 0" || string(more[1].Body) != "reading 1" {
			t.Errorf("second poll: %q %q", more[0].Body, more[1].Body)
		}
		for range 5 {
			time.Sleep(time.Minute)
			synctest.Wait()
		}
		expectNoEvent(t, p.Events())
		after := p.Stats()
		polls := after.Requests - before.Requests
		// Each poll reads the window (MaxSeen records behind the newest
		// delivered, within the overlap), not the 32 records stored.
		if read := after.Duplicates + after.OutsideWindow - before.Duplicates - before.OutsideWindow; read > polls*maxSeen {
			t.Errorf("%d records re-read in %d polls", read, polls)
		}
		if p.Position().Seen() > maxSeen {
			t.Errorf("%d identities remembered", p.Position().Seen())
		}
	})
}

// TestPollPositionText: the JSON form round-trips, and the form of earlier
// versions (a list of identities at Since) is read.
func TestPollPositionText(t *testing.T) {
	p := PollPosition{Cursor: "c", Since: pollBase, floor: pollBase.Add(-time.Minute).UnixMilli(), floorOK: true,
		seen: []seenEntry{{ms: pollBase.Add(-time.Second).UnixMilli(), h: 1}, {ms: pollBase.UnixMilli(), h: 1 << 63}, {ms: noTime, h: 7}}}
	text, err := p.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var q PollPosition
	if err := q.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if q.Cursor != p.Cursor || !q.Since.Equal(p.Since) || q.floorMs() != p.floorMs() || !slices.Equal(q.seen, p.seen) {
		t.Errorf("round trip %s: %+v", text, q)
	}
	old := `{"cursor":"x","since":"2025-06-01T00:00:00Z","seen":["dp-1","dp-2"]}`
	if err := q.UnmarshalText([]byte(old)); err != nil {
		t.Fatal(err)
	}
	if q.Seen() != 2 || q.floorMs() != pollBase.UnixMilli() || q.seen[0].h != seenHash("dp-1") {
		t.Errorf("old form: %+v", q)
	}
	byHand := PollPosition{Since: pollBase}
	if byHand.floorMs() != pollBase.UnixMilli() {
		t.Error("a position built by hand does not start at Since")
	}
	for _, bad := range []string{`[]`, `{"seen":"!!"}`, `{"seen":"AQ=="}`, `{"seen":[1]}`} {
		if err := q.UnmarshalText([]byte(bad)); err == nil || !strings.Contains(err.Error(), "poll position") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
