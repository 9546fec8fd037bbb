package stream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// handlerTransport serves requests with an http.Handler on the calling
// goroutine: REST without sockets, so pollers run in synctest bubbles.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// offlineSim is a simulator without listeners and a REST client that
// reaches it in-process.
func offlineSim(t *testing.T) (*streamtest.Server, *monitor.Client) {
	t.Helper()
	srv := streamtest.NewServer(streamtest.Options{HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-",
		Users: map[string]string{"user": SentinelPassword}})
	t.Cleanup(srv.Close)
	api := monitor.NewClient("http://rm.test", monitor.WithBasicAuth("user", SentinelPassword),
		monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{srv.Handler()}}), monitor.WithRetry(0, 0))
	return srv, api
}

var pollBase = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// pollEvents are n DataPoint events; every third shares its timestamp
// with the next, so pages and restarts meet equal timestamps.
func pollEvents(from, n int) []streamtest.Event {
	var out []streamtest.Event
	for i := from; i < from+n; i++ {
		out = append(out, streamtest.Event{
			Topic: fmt.Sprintf("DataPoint/dev%d/temp", i%4), Operation: "INSERTION",
			Timestamp: pollBase.Add(time.Duration(i-i%3/2) * time.Second),
			Body:      map[string]any{"id": fmt.Sprintf("dp-%05d", i), "data": i},
		})
	}
	return out
}

func dpIDs(t *testing.T, evs []Event) []string {
	t.Helper()
	var ids []string
	for _, ev := range evs {
		dp, err := ev.DataPoint()
		if err != nil {
			t.Fatalf("event %v: %v", ev, err)
		}
		ids = append(ids, dp.ID)
	}
	return ids
}

func wantIDs(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("dp-%05d", i))
	}
	return out
}

func TestPollerPagesAndPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 23)...)
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, PageSize: 5, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		got := take(t, p.Events(), 23)
		if ids := dpIDs(t, got); !slices.Equal(ids, wantIDs(0, 23)) {
			t.Fatalf("ids %v", ids)
		}
		for _, ev := range got {
			if ev.MonitorID != id || ev.Replay || ev.Raw || ev.Topic == "" {
				t.Fatalf("event %+v", ev)
			}
		}
		synctest.Wait()
		expectNoEvent(t, p.Events())
		st := p.Stats()
		if st.Pages != 5 || st.Events != 23 || st.Failures != 0 {
			t.Errorf("stats %+v", st)
		}
		// Nothing is asked before the interval has passed.
		srv.Publish(pollEvents(23, 4)...)
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if n := p.Stats().Requests; n != st.Requests {
			t.Errorf("%d requests before the interval passed", n-st.Requests)
		}
		expectNoEvent(t, p.Events())
		more := take(t, p.Events(), 4)
		if ids := dpIDs(t, more); !slices.Equal(ids, wantIDs(23, 27)) {
			t.Errorf("second poll: %v", ids)
		}
		synctest.Wait()
		expectNoEvent(t, p.Events())
		if d := p.Stats().Duplicates; d == 0 {
			t.Error("the second poll should have met the records at Since again")
		}
	})
}

// TestPollerRestartsLoseNothing stops a poller after every possible
// number of events, reading its Position right after the last receive,
// and resumes from it: the concatenation is every event once.
func TestPollerRestartsLoseNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		const total = 14
		srv.Publish(pollEvents(0, total)...)
		for k := 0; k <= total; k++ {
			cfg := PollerConfig{Client: api, MonitorID: id, PageSize: 4, Interval: time.Hour}
			a, err := NewPoller(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			first := take(t, a.Events(), k)
			pos := a.Position() // at once, as the documented loop does
			a.Close()
			text, err := pos.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			var back PollPosition
			if err := back.UnmarshalText(text); err != nil {
				t.Fatal(err)
			}
			cfg.Start = back
			b, err := NewPoller(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			rest := take(t, b.Events(), total-k)
			synctest.Wait()
			expectNoEvent(t, b.Events())
			b.Close()
			if ids := dpIDs(t, append(first, rest...)); !slices.Equal(ids, wantIDs(0, total)) {
				t.Fatalf("restart after %d (position %s): %v", k, text, ids)
			}
		}
	})
}

func TestPollerBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 3)...)
		srv.Throttle(3)
		start := time.Now()
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Hour,
			NewBackOff: func() backoffBackOff { return constantBackOff(10 * time.Second) }})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		synctest.Wait()
		if p.State() != StateBackoff {
			t.Errorf("state %v while throttled", p.State())
		}
		takeWithin(t, p.Events(), 3, time.Hour)
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("delivered after %v, want 30s (three throttled requests)", d)
		}
		if st := p.Stats(); st.Failures != 3 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestPollerPermanentErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		tcp := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
		cases := []struct {
			id   uint32
			api  *monitor.Client
			want error
		}{
			{999999, api, monitor.ErrNotFound},
			{tcp, api, monitor.ErrBadRequest}, // neither polling nor persistent
			{tcp, monitor.NewClient("http://rm.test", monitor.WithBasicAuth("user", "wrong"),
				monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{srv.Handler()}})), monitor.ErrUnauthorized},
			// A redirect to another origin, which the client refuses to
			// follow with the account's credentials: only a new base URL
			// helps.
			{tcp, monitor.NewClient("http://rm.test", monitor.WithBasicAuth("user", SentinelPassword),
				monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "https://rm.elsewhere.test"+r.URL.RequestURI(), http.StatusTemporaryRedirect)
				})}})), monitor.ErrRedirectRefused},
		}
		for _, c := range cases {
			// A policy that gives up, so that an error taken for a
			// transient one ends the poller too, after more requests.
			p, err := NewPoller(t.Context(), PollerConfig{Client: c.api, MonitorID: c.id,
				NewBackOff: func() backoffBackOff { return backoff.WithMaxRetries(constantBackOff(time.Second), 2) }})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := <-p.Events(); ok {
				t.Fatal("event from a failing poller")
			}
			if err := p.Err(); !errors.Is(err, c.want) || p.State() != StateStopped {
				t.Errorf("monitor %d: %v, want %v", c.id, err, c.want)
			}
			if st := p.Stats(); st.Requests != 1 || st.Failures != 1 {
				t.Errorf("monitor %d (%v): %+v, want one failed request", c.id, c.want, st)
			}
			if containsSecret(fmt.Sprint(p.Err())) {
				t.Error("error shows the password")
			}
		}
		for _, cfg := range []PollerConfig{{MonitorID: 1}, {Client: api}, {Client: api, MonitorID: 1, Interval: -1}} {
			if _, err := NewPoller(t.Context(), cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%+v: %v", cfg, err)
			}
		}
	})
}

func TestPollerStaleCursorFallsBackToSince(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, api := offlineSim(t)
		id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
		srv.Publish(pollEvents(0, 6)...)
		evs := pollEvents(0, 6)
		p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: id, Interval: time.Hour,
			Start: PollPosition{Cursor: "not-a-cursor", Since: evs[2].Timestamp}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		// From Since on, inclusive: event 1 shares event 2's timestamp.
		got := dpIDs(t, take(t, p.Events(), 5))
		if !slices.Equal(got, wantIDs(1, 6)) {
			t.Errorf("ids %v", got)
		}
		if p.Err() != nil || p.Stats().Failures != 1 {
			t.Errorf("err %v, stats %+v", p.Err(), p.Stats())
		}
	})
}

func TestPollerRawRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"list":["{\"values\":[1,2]}","<Document><Msg topic=\"1/DataPoint/x\" operation=\"INSERTION\" timestamp=\"2025-01-01T00:00:00Z\"><DataPoint><id>x</id></DataPoint></Msg></Document>"]}`)
		})
		api := monitor.NewClient("http://rm.test", monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p, err := NewPoller(ctx, PollerConfig{Client: api, MonitorID: 5, Interval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		evs := take(t, p.Events(), 2)
		var mine struct{ Values []int }
		if !evs[0].Raw || evs[0].Decode(&mine) != nil || len(mine.Values) != 2 {
			t.Errorf("raw event %+v (%+v)", evs[0], mine)
		}
		if evs[1].Raw || evs[1].Resource != "DataPoint" || evs[1].Format.String() != "xml" {
			t.Errorf("xml event %+v", evs[1])
		}
		p.Close()
	})
}
