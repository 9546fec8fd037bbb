package stream

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// requestLog records when a history handler was called.
type requestLog struct {
	mu sync.Mutex
	at []time.Time
}

func (l *requestLog) add() {
	l.mu.Lock()
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
}

// perInterval returns the requests made in each interval from start.
func (l *requestLog) perInterval(start time.Time, interval time.Duration, n int) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int, n)
	for _, at := range l.at {
		if i := int(at.Sub(start) / interval); i >= 0 && i < n {
			out[i]++
		}
	}
	return out
}

// storming answers 404 once log holds 1000 requests, ending a poller
// that storms (so that the test fails rather than spins on the fake clock).
func storming(log *requestLog, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.mu.Lock()
		n := len(log.at)
		log.mu.Unlock()
		if n >= 1000 {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// historyRecordJSON is one record as the simulator serves it.
func historyRecordJSON(i int) string {
	return fmt.Sprintf(`{"id":"%d","timestamp":"%s","topic":"1/DataPoint/dev/t","operation":"INSERTION","DataPoint":{"id":"dp-%05d","data":%d}}`,
		i, pollBase.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05.000Z"), i, i)
}

func historyClient(h http.Handler) *monitor.Client {
	return monitor.NewClient("http://rm.test", monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}),
		monitor.WithBasicAuth("user", SentinelPassword), monitor.WithRetry(0, 0))
}

// TestPollerProgressGuarantee: whatever a history answers — a cursor it
// repeats, the same page for every fresh cursor, 400 for every cursor,
// failures with Retry-After — the poller makes a bounded number of
// requests per interval (on the fake clock, over ten intervals of one
// hour), delivers each distinct event once and keeps running.
func TestPollerProgressGuarantee(t *testing.T) {
	const interval = time.Hour
	page := `{"list":[` + historyRecordJSON(0) + `,` + historyRecordJSON(1) + `],"cursor":"%s"}`
	cases := []struct {
		name    string
		handler func(log *requestLog, sim http.Handler) http.Handler
		events  int // distinct events the history holds
		max     int // requests allowed per interval
	}{
		{"repeated cursor", func(log *requestLog, _ http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.add()
				fmt.Fprintf(w, page, "same")
			})
		}, 2, 2},
		{"same page for every fresh cursor", func(log *requestLog, _ http.Handler) http.Handler {
			n := 0
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.add()
				n++
				fmt.Fprintf(w, page, fmt.Sprintf("c%d", n))
			})
		}, 2, 2},
		{"the same events re-ordered under fresh cursors", func(log *requestLog, _ http.Handler) http.Handler {
			n := 0
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.add()
				n++
				recs := make([]string, 3) // PageSize
				for b := range recs {
					recs[b] = historyRecordJSON((n >> b) & 1)
				}
				fmt.Fprintf(w, `{"list":[%s],"cursor":"c%d"}`, strings.Join(recs, ","), n)
			})
		}, 2, 4}, // a page an event the poll had not read, then two that bring nothing new
		{"every cursor refused", func(log *requestLog, sim http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.add()
				if r.URL.Query().Get("cursor") != "" {
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"error_status":400,"error_message":"Invalid cursor"}`)
					return
				}
				sim.ServeHTTP(w, r)
			})
		}, 10, 6}, // a page with a cursor, the refusal, then pages of 3 by time: 0-2, 2-4, 4-6, 6-8, 8-9 … within 6
		{"failures with Retry-After", func(log *requestLog, _ http.Handler) http.Handler {
			n := 0
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				log.add()
				if n++; n%3 != 0 {
					w.Header().Set("Retry-After", "1800")
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				fmt.Fprint(w, `{"list":[`+historyRecordJSON(0)+`]}`)
			})
		}, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, _ := offlineSim(t)
				id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
				for i := range 10 {
					srv.Publish(dpEvent(i, i))
				}
				log := &requestLog{}
				api := historyClient(storming(log, c.handler(log, srv.Handler())))
				start := time.Now()
				p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 3, Interval: interval,
					NewBackOff: func() backoffBackOff { return constantBackOff(time.Second) }})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				var got []string
				done := make(chan struct{})
				go func() {
					defer close(done)
					for ev := range p.Events() {
						got = append(got, dpIDs(t, []Event{ev})...)
					}
				}()
				time.Sleep(10 * interval)
				synctest.Wait()
				counts := log.perInterval(start, interval, 10)
				for i, n := range counts {
					if n == 0 || n > c.max {
						t.Errorf("interval %d: %d requests, want 1…%d (all: %v)", i, n, c.max, counts)
						break
					}
				}
				if p.Err() != nil || p.State() == StateStopped {
					t.Errorf("poller ended: %v", p.Err())
				}
				p.Close()
				<-done
				slices.Sort(got)
				if want := wantIDs(0, c.events); !slices.Equal(got, want) {
					t.Errorf("delivered %v, want %v", got, want)
				}
			})
		})
	}
}

// TestPollerStallsAreCounted: the no-progress cases are visible in Stats
// and in the log.
func TestPollerStallsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log requestLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.add()
			fmt.Fprint(w, `{"list":[`+historyRecordJSON(0)+`],"cursor":"same"}`)
		})
		logs := &strings.Builder{}
		var mu sync.Mutex
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(storming(&log, h)), MonitorID: 9, Interval: time.Minute,
			Logger: newTextLogger(logs, &mu)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		<-p.Events()
		time.Sleep(150 * time.Second)
		synctest.Wait()
		if st := p.Stats(); st.Stalls != 3 || st.Requests != 6 || st.Events != 1 || st.Duplicates != 5 {
			t.Errorf("stats %+v", st)
		}
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(logs.String(), "repeated a cursor or a page") {
			t.Errorf("log %s", logs)
		}
	})
}

// lockedWriter serialises writes to a strings.Builder.
type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newTextLogger(b *strings.Builder, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, b}, nil))
}

// TestPollerRereadsALongOverlap: a poll that re-reads many pages of events
// delivered already (the overlap, all within a second here) is progress,
// not a stall: each page holds events the poll had not read, and the new
// event after them is delivered.
func TestPollerRereadsALongOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		for i := range 30 {
			srv.Publish(dpEvent(i, 0))
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 3, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var got []string
		for range 30 {
			got = append(got, dpIDs(t, []Event{<-p.Events()})...)
		}
		srv.Publish(dpEvent(30, 1))
		select {
		case ev := <-p.Events():
			got = append(got, dpIDs(t, []Event{ev})...)
		case <-time.After(10 * time.Minute): // ten polls (a fake clock)
		}
		if want := wantIDs(0, 31); !slices.Equal(got, want) {
			t.Errorf("delivered %v, want %v", got, want)
		}
		if st := p.Stats(); st.Stalls != 0 || st.Duplicates < 30 {
			t.Errorf("stats %+v, want no stall and the 30 events re-read as duplicates", st)
		}
	})
}

// TestPollerPassesPagesOfKeepAlives: history pages whose elements hold no
// event (keep-alive documents) but that name a next page do not stop the
// poller: it goes on, a page or more a poll, to the events after them.
// Before, such a page ended every poll where it began, and nothing after
// it was ever delivered.
func TestPollerPassesPagesOfKeepAlives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log requestLog
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log.add()
			switch c := r.URL.Query().Get("cursor"); c {
			case "", "k1", "k2":
				next := map[string]string{"": "k1", "k1": "k2", "k2": "e"}[c]
				fmt.Fprintf(w, `{"list":[{"Document":null},{"Document":{"Msg":[]}}],"cursor":%q}`, next)
			default:
				fmt.Fprint(w, `{"list":[`+historyRecordJSON(0)+`]}`)
			}
		})
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(storming(&log, h)), MonitorID: 9, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		select {
		case ev := <-p.Events():
			if dp, err := ev.DataPoint(); err != nil || dp.ID != "dp-00000" {
				t.Errorf("delivered %v", ev)
			}
		case <-time.After(time.Hour):
			t.Fatalf("no event after an hour of polls; stats %+v", p.Stats())
		}
	})
}

// TestPollerBoundsPagesOfKeepAlives: a history that answers pages of
// keep-alive documents under fresh cursors without end makes a poll
// follow maxEmptyPages of them, then count a stall and wait for the
// interval.
func TestPollerBoundsPagesOfKeepAlives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			fmt.Fprintf(w, `{"list":[{"Document":null}],"cursor":"c%d"}`, n)
		})
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(h), MonitorID: 9, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		synctest.Wait()
		if st := p.Stats(); st.Stalls != 1 || st.Requests != maxEmptyPages+1 || st.Events != 0 {
			t.Errorf("stats after the first poll %+v; want 1 stall after %d requests", st, maxEmptyPages+1)
		}
	})
}
