package stream

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

// TestPollerTimePagingPastABurst: a history that refuses every cursor
// (400; README: "a server that refuses them all") pages by time, and more
// events share one millisecond than a page holds (a bulk upload stamped to
// the second). Before, the page by time from that millisecond came back
// the same, the poll ended as stalled, and every poll did so again: the
// rest of the burst and every event after it were never delivered.
func TestPollerTimePagingPastABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeHistory{}
		for i := range 5 {
			f.add(i, pollBase)
		}
		for i := 5; i < 8; i++ {
			f.add(i, pollBase.Add(time.Duration(i)*time.Second))
		}
		f.hook = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Query().Get("cursor") == "" {
				return false
			}
			http.Error(w, `{"error_message":"bad cursor"}`, http.StatusBadRequest)
			return true
		}
		p, err := NewPoller(t.Context(), PollerConfig{Client: historyClient(f), MonitorID: 7, PageSize: 3, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		expectIDs(t, p.Events(), 0, 8)
		expectQuiet(t, p.Events(), 10*time.Minute)
	})
}
