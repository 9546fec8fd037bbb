package stream

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/monitor"
)

// Edge cases of the history against fakeHistory, a server of its own.

// TestPollerBurstBeyondMaxSeen: more events share one millisecond than
// MaxSeen remembers (a bulk upload stamped to the second, say). Forgetting
// the oldest of them raises the window's floor past that millisecond, so
// that later polls skip it rather than deliver the forgotten ones again;
// but the rest of the burst, which the poll is reading for the first time
// and in order, must still be delivered, once. Before, every event of the
// burst after the MaxSeen+1st was skipped as "outside the window", for
// good.
func TestPollerBurstBeyondMaxSeen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 10 {
			f.add(i, pollBase)
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3,
			Interval: time.Minute, MaxSeen: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 10)
		f.add(10, pollBase.Add(time.Millisecond))
		expectIDs(t, p.Events(), 10, 11)
		expectQuiet(t, p.Events(), 10*time.Minute) // ten more polls deliver nothing again
		if st := p.Stats(); st.Events != 11 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestPollerGivesUpAFailingCursor: a cursor saved in a position that the
// server no longer knows — answered 500 on every request (a token it
// cannot decode), 404 or 410 — makes the poll page by time instead, as a
// 400 does. Before, a 500 was retried with the same cursor forever (no
// event ever again, and the position kept the cursor for the next
// restart), and a 404 ended the poller as if the monitor were gone.
func TestPollerGivesUpAFailingCursor(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound, http.StatusGone} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeHistory{}
				for i := range 6 {
					f.add(i, pollBase.Add(time.Duration(i)*time.Second))
				}
				stale := 0
				f.hook = func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Query().Get("cursor") != "stale" {
						return false
					}
					stale++
					w.WriteHeader(status)
					return true
				}
				p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3,
					Interval: time.Minute, NewBackOff: func() backoffBackOff { return constantBackOff(time.Second) },
					Start: PollPosition{Cursor: "stale", Since: pollBase.Add(2 * time.Second)}, Overlap: -1})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				select {
				case ev, ok := <-p.Events():
					if !ok {
						t.Fatalf("the poller ended: %v", p.Err())
					}
					if got := dpIDs(t, []Event{ev}); !slices.Equal(got, wantIDs(2, 3)) {
						t.Fatalf("first event %v", got)
					}
				case <-time.After(time.Hour):
					t.Fatalf("nothing delivered in an hour; stats %+v, err %v", p.Stats(), p.Err())
				}
				expectIDs(t, p.Events(), 3, 6)
				if stale > maxCursorFailures {
					t.Errorf("the stale cursor was asked for %d times", stale)
				}
				if p.Position().Cursor == "stale" {
					t.Error("the position still holds the stale cursor")
				}
			})
		})
	}
}

// TestPollerMemoryOfALongPoll: one poll that reads page after page, each
// bringing a new event (a long backlog, a server's small pages), holds
// what it remembers of pages and cursors within a bound. Before, it kept
// a fingerprint of every page and a hash of every cursor for as long as
// the poll went on: about 80 bytes a page, without end.
func TestPollerMemoryOfALongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var n int
			fmt.Sscanf(r.URL.Query().Get("cursor"), "c%d", &n)
			fmt.Fprintf(w, `{"list":[%s],"cursor":"c%d"}`, historyRecordJSON(n), n+1)
		})
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(h), MonitorID: 9, Interval: time.Hour, MaxSeen: 100})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		heap := func() uint64 {
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.HeapAlloc
		}
		var before uint64
		const pages = 24000
		for i := range pages {
			<-p.Events()
			if i == 2*maxPollPages {
				before = heap()
			}
		}
		if grew := int64(heap()) - int64(before); grew > 1<<18 {
			t.Errorf("the heap grew by %d bytes over %d pages of one poll", grew, pages-2*maxPollPages)
		}
		if st := p.Stats(); st.Stalls != 0 || st.Pages < pages {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestPollerOffsetCursorShifts: a cursor that is an offset into the
// listing, and records deleted or stored late between two pages of a
// poll. A deletion shifts a record the poll had not read before the
// offset: the next poll's overlap delivers it. A late record shifts one
// the poll read onto the next page: it is not delivered twice.
func TestPollerOffsetCursorShifts(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(f *fakeHistory)
		want   int
	}{
		{"deleted", func(f *fakeHistory) { f.remove(1) }, 9},
		{"stored late", func(f *fakeHistory) { f.add(9, pollBase.Add(500*time.Millisecond)) }, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &fakeHistory{offsets: true}
				for i := range 9 {
					f.add(i, pollBase.Add(time.Duration(i)*time.Second))
				}
				n := 0
				f.hook = func(http.ResponseWriter, *http.Request) bool {
					if n++; n == 2 {
						c.change(f)
					}
					return false
				}
				p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3, Interval: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				got := dpIDs(t, takeWithin(t, p.Events(), c.want, time.Hour))
				slices.Sort(got)
				if !slices.Equal(got, wantIDs(0, c.want)) {
					t.Fatalf("got %v", got)
				}
				expectQuiet(t, p.Events(), 10*time.Minute)
			})
		})
	}
}

// TestPollerSecondPrecision: timestamps without milliseconds, equal ones
// split across pages and polls: each event once.
func TestPollerSecondPrecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		stamp := func(i, sec int) {
			ts := pollBase.Add(time.Duration(sec) * time.Second)
			f.addStamp(i, ts, ts.Format("2006-01-02T15:04:05Z"))
		}
		for i := range 7 {
			stamp(i, i/3)
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 2, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 7)
		synctest.Wait()
		for i := 7; i < 10; i++ {
			stamp(i, 2)
		}
		expectIDs(t, p.Events(), 7, 10) // the next poll
		expectQuiet(t, p.Events(), 10*time.Minute)
	})
}

// TestPollerRetryAfterMidPoll: a 429 with Retry-After on a page after the
// first: the poller waits that long and goes on with the same cursor.
func TestPollerRetryAfterMidPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 6 {
			f.add(i, pollBase.Add(time.Duration(i)*time.Second))
		}
		var at []time.Time
		var cursors []string
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			at = append(at, time.Now())
			cursors = append(cursors, r.URL.Query().Get("cursor"))
			if len(at) == 2 {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 6)
		synctest.Wait()
		if len(at) != 3 || at[2].Sub(at[1]) < 120*time.Second || cursors[1] == "" || cursors[2] != cursors[1] {
			t.Errorf("requests at %v with cursors %q", at, cursors)
		}
	})
}

// TestPollerHalvesPagesTooLarge: a page of the size asked for is larger
// than the client reads (32 MiB: a few hundred FileData records of 120 KB
// files), every time it is asked for: the poll asks for smaller pages
// instead. Before, the poller asked for the same page again after each
// backoff, for good: nothing after it was ever delivered.
func TestPollerHalvesPagesTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 10 {
			f.add(i, pollBase.Add(time.Duration(i)*time.Second))
		}
		huge := `{"padding":"` + strings.Repeat("x", 33<<20) + `","list":[]}`
		var sizes []string
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			size := r.URL.Query().Get("size")
			sizes = append(sizes, size)
			if n, _ := strconv.Atoi(size); n > 2 {
				fmt.Fprint(w, huge) // the page of n records would be this large
				return true
			}
			return false
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 10, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 10)
		synctest.Wait()
		if len(sizes) > 10 {
			t.Errorf("requests with sizes %v", sizes)
		}
	})
}

// TestPollerServerPageSizeOfItsOwn: a server that answers pages of its
// own size, longer than the PageSize asked for, which the client refuses
// (monitor.LimitItems): the poll asks for DefaultPollPageSize instead.
// Before, it asked for the same page after each backoff, for good.
func TestPollerServerPageSizeOfItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 10 {
			f.add(i, pollBase.Add(time.Duration(i)*time.Second))
		}
		requests := 0
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			requests++
			q := r.URL.Query()
			q.Set("size", "5") // whatever was asked
			r.URL.RawQuery = q.Encode()
			return false
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 10)
		synctest.Wait()
		if requests > 3 {
			t.Errorf("%d requests for 10 records in pages of 5", requests)
		}
	})
}

// TestPollerFakeHistoryOverLoopback: the same fake history over a real
// socket (the tests above run it in-process, on synctest's clock): a
// burst beyond MaxSeen split across pages of an offset cursor, then
// events after it, each delivered once.
func TestPollerFakeHistoryOverLoopback(t *testing.T) {
	f := &fakeHistory{offsets: true}
	for i := range 10 {
		f.add(i, pollBase)
	}
	for i := 10; i < 14; i++ {
		f.add(i, pollBase.Add(time.Duration(i)*time.Millisecond))
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	api := monitor.NewClient(srv.URL, monitor.WithBasicAuth("user", SentinelPassword), monitor.WithRetry(0, 0))
	defer api.CloseIdleConnections()
	p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: 7, PageSize: 3, MaxSeen: 4, Interval: time.Hour,
		NewBackOff: func() backoffBackOff { return constantBackOff(time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := dpIDs(t, takeReal(t, p.Events(), 14)); !slices.Equal(got, wantIDs(0, 14)) {
		t.Fatalf("got %v", got)
	}
}
