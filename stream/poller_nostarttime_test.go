package stream

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// TestPollerServerIgnoringStartTime: a history that ignores start_time
// lists, on every poll, the whole history from its oldest record, page by
// page with its cursor, before the records stored since. Those old records
// are below the window (skipped, counted in OutsideWindow) and each is
// read for the first time in the poll: the poll must page past them to the
// new events, however many more than MaxSeen there are.
func TestPollerServerIgnoringStartTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 12 {
			f.add(i, pollBase.Add(time.Duration(i)*time.Second))
		}
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			q := r.URL.Query()
			q.Del("start_time")
			r.URL.RawQuery = q.Encode()
			return false
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 2,
			Interval: time.Minute, MaxSeen: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 12)
		f.add(12, pollBase.Add(12*time.Second))
		expectIDs(t, p.Events(), 12, 13)
		expectQuiet(t, p.Events(), 10*time.Minute)
		if st := p.Stats(); st.Events != 13 {
			t.Errorf("stats %+v", st)
		}
	})
}
