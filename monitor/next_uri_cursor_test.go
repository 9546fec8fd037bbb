package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// A page that announces the next one only through a next_uri the client
// cannot follow (no cursor parameter: offset paging, or a URI that does
// not parse) is not the last page: ending the listing there silently
// dropped every item after it.
func TestNextURIWithoutCursorIsAnError(t *testing.T) {
	for _, next := range []string{"/ws/v1/monitors/inventory?size=1&start=1", "/ws/v1/monitors/history/9?start=1", "%zz?cursor=2"} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("start") != "" {
				t.Errorf("a page asked with start=%s", r.URL.Query().Get("start"))
			}
			item := map[string]any{"id": 1, "topics": []string{"A"}}
			if r.URL.Path != v1InventoryPath {
				item = map[string]any{"id": "r1", "topic": "1/DataPoint/x", "operation": "INSERTION", "timestamp": 1735689600000, "DataPoint": map[string]any{}}
			}
			writeJSON(w, 200, map[string]any{"count": 1, "list": []any{item}, "next_uri": next})
		})
		c := fs.client(WithPageSize(1))
		ms, err := c.V1().List(context.Background(), ListQuery{})
		if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%s: V1.List = %d monitors, %v; want ErrMalformedResponse", next, len(ms), err)
		}
		var herr error
		n := 0
		for _, err := range c.History(context.Background(), 9, time.Time{}, time.Time{}) {
			if err != nil {
				herr = err
				break
			}
			n++
		}
		if !errors.Is(herr, ErrMalformedResponse) {
			t.Errorf("%s: History = %d records, %v; want ErrMalformedResponse", next, n, herr)
		}
		// One page read alone is kept, without a cursor (package stream's
		// poller then moves on by time).
		if p, err := c.HistoryPage(context.Background(), 9, HistoryQuery{}); err != nil || len(p.Records) != 1 || p.Cursor != "" {
			t.Errorf("%s: HistoryPage = %+v, %v", next, p, err)
		}
	}
}
