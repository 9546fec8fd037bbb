package monitor

import (
	"context"
	"net/http"
	"strconv"
	"testing"
)

// A v1 list answer may announce its next page only through next_uri (or
// next_cursor), as the history decoder already accepts: taking such a
// page for the last one silently lost every monitor after it.
func TestV1ListFollowsNextURIAndNextCursor(t *testing.T) {
	for _, name := range []string{"next_uri", "next_cursor"} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
			resp := map[string]any{"count": 1, "list": []any{map[string]any{"id": 100 + start, "topics": []string{"A"}}}}
			if start < 2 {
				next := strconv.Itoa(start + 1)
				if name == "next_uri" {
					next = "/ws/v1/monitors/inventory?size=1&cursor=" + next
				}
				resp[name] = next
			}
			writeJSON(w, 200, resp)
		})
		ms, err := fs.client().V1().List(context.Background(), ListQuery{PageSize: 1})
		if err != nil || len(ms) != 3 {
			t.Errorf("%s: %d monitors, %v; want 3", name, len(ms), err)
		}
	}
}
