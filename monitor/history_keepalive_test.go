package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestHistoryKeepAlivePageMovesOn: a history page whose elements hold no
// event (keep-alive documents) but that names a next page gives no
// record, counts its elements in Items and keeps its Cursor; History
// goes on to the next page and yields its record. Before, History took
// such a page for one that makes no progress (ErrMalformedResponse), and
// a poller stopped at it for good.
func TestHistoryKeepAlivePageMovesOn(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"list":[{"Document":null},{"Document":{"Msg":[]}}],"cursor":"c1"}`)
		case "c1":
			fmt.Fprint(w, `{"list":[{"id":"r1","topic":"1/DataPoint/d/s","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"dp1"}}]}`)
		default:
			http.NotFound(w, r)
		}
	})
	c := fs.client()
	p, err := c.HistoryPage(context.Background(), 42, HistoryQuery{})
	if err != nil || len(p.Records) != 0 || p.Items != 2 || p.Cursor != "c1" {
		t.Fatalf("page of keep-alives: %+v, %v; want no record, 2 items, cursor c1", p, err)
	}
	var ids []string
	for rec, err := range c.History(context.Background(), 42, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatalf("History: %v (after %v)", err, ids)
		}
		ids = append(ids, rec.ID)
	}
	if fmt.Sprint(ids) != "[r1]" {
		t.Errorf("History yielded %v, want [r1]", ids)
	}
	// A page that holds nothing at all and names another still makes no
	// progress.
	fs2 := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"list":[],"cursor":"c1"}`)
	})
	for _, err := range fs2.client().History(context.Background(), 42, time.Time{}, time.Time{}) {
		if !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("an empty page announcing another: %v, want ErrMalformedResponse", err)
		}
	}
}
