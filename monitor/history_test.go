package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestHistoryPagesAndQuery(t *testing.T) {
	const total = 5
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws/v1/monitors/history/42" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		size, _ := strconv.Atoi(q.Get("size"))
		start, _ := strconv.Atoi(q.Get("cursor"))
		var list []any
		for i := start; i < min(start+size, total); i++ {
			list = append(list, map[string]any{
				"id": fmt.Sprintf("r%d", i), "topic": fmt.Sprintf("1234/DataPoint/dev%d", i), "operation": "INSERTION",
				"timestamp": base.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z"),
				"DataPoint": map[string]any{"id": fmt.Sprintf("dp%d", i), "data": i},
			})
		}
		resp := map[string]any{"count": len(list), "list": list}
		if start+size < total {
			resp["cursor"] = strconv.Itoa(start + size)
		}
		writeJSON(w, 200, resp)
	})
	c := fs.client(WithPageSize(2))
	from := base.Add(-time.Hour).Add(123456789 * time.Nanosecond)
	to := base.Add(time.Hour)
	var got []HistoryRecord
	for rec, err := range c.History(context.Background(), 42, from, to) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if len(got) != total {
		t.Fatalf("%d records, want %d", len(got), total)
	}
	for i, rec := range got {
		if rec.ID != fmt.Sprintf("r%d", i) || rec.Topic != fmt.Sprintf("1234/DataPoint/dev%d", i) ||
			rec.Operation != "INSERTION" || !rec.Timestamp.Equal(base.Add(time.Duration(i)*time.Second)) {
			t.Errorf("record %d = %+v", i, rec)
		}
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(rec.Msg, &msg); err != nil {
			t.Fatalf("Msg %s: %v", rec.Msg, err)
		}
		if _, ok := msg["id"]; ok || len(msg) != 4 || msg["DataPoint"] == nil {
			t.Errorf("Msg not canonical: %s", rec.Msg)
		}
	}
	reqs := fs.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Query.Get("start_time") != "2024-12-31T23:00:00.123Z" || r.Query.Get("end_time") != "2025-01-01T01:00:00.000Z" ||
			r.Query.Get("size") != "2" || r.Query.Get("cursor") != []string{"", "2", "4"}[i] {
			t.Errorf("request %d: %s", i, r.RawQuery)
		}
	}
}

func TestHistoryDecodesTolerantly(t *testing.T) {
	cases := []struct {
		name, body string
		cursor     string
		records    int
		check      func(t *testing.T, p *HistoryPage)
	}{
		{"documented", `{"count":1,"cursor":"c1","list":[{"id":"1","topic":"1/DeviceCore/7","operation":"UPDATE","timestamp":"2025-01-01T00:00:00Z","group":"*","DeviceCore":{"id":{"devId":7}}}]}`,
			"c1", 1, func(t *testing.T, p *HistoryPage) {
				if string(p.Records[0].Msg) != `{"topic":"1/DeviceCore/7","operation":"UPDATE","timestamp":"2025-01-01T00:00:00Z","group":"*","DeviceCore":{"id":{"devId":7}}}` {
					t.Errorf("Msg %s", p.Records[0].Msg)
				}
			}},
		{"items and next_uri", `{"items":[{"Msg":{"topic":"1/DataPoint/x","operation":"INSERTION","timestamp":1735689600000,"DataPoint":{"id":"a"}}}],"next_uri":"/ws/v1/monitors/history/1?size=1&cursor=abc"}`,
			"abc", 1, func(t *testing.T, p *HistoryPage) {
				r := p.Records[0]
				if !r.Timestamp.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) ||
					string(r.Msg) != `{"topic":"1/DataPoint/x","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"id":"a"}}` {
					t.Errorf("record %+v %s", r, r.Msg)
				}
			}},
		{"documents", `{"events":[{"Document":{"Msg":[{"topic":"1/A/x","Alarm":{}},{"topic":"1/B/y","weird":1}]}},{"Document":null}],"next_cursor":"n"}`,
			"n", 2, nil},
		{"raw strings", `{"list":["{\"my\":\"template\"}", {"no":"topic"}]}`, "", 2, func(t *testing.T, p *HistoryPage) {
			if string(p.Records[0].Document) != `{"my":"template"}` || p.Records[0].Msg != nil || string(p.Records[1].Document) != `{"no":"topic"}` {
				t.Errorf("records %+v", p.Records)
			}
		}},
		{"stored documents", `{"list":[{"id":"17","timestamp":"2025-01-01T00:00:01.000Z","Document":"reading 21.5"},{"id":"18","Document":"<r/>"}]}`, "", 2, func(t *testing.T, p *HistoryPage) {
			a, b := p.Records[0], p.Records[1]
			if a.ID != "17" || string(a.Document) != "reading 21.5" || a.Msg != nil || !a.Timestamp.Equal(time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC)) {
				t.Errorf("record %+v", a)
			}
			if b.ID != "18" || string(b.Document) != "<r/>" || !b.Timestamp.IsZero() {
				t.Errorf("record %+v", b)
			}
		}},
		{"empty", `{"count":0,"list":[]}`, "", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decodeHistory([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if p.Cursor != c.cursor || len(p.Records) != c.records {
				t.Fatalf("cursor %q, %d records: %+v", p.Cursor, len(p.Records), p)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
	for _, bad := range []string{`[]`, `{"list":{}}`, `{"cursor":"x"}`, `{"list":[{"topic":1,"A":{}}]}`,
		`{"list":[{"topic":"1/X/y","a":{},"b":{}}]}`, `{"list":[7]}`, `{"list":[{"Msg":"x"}]}`, `{"list":[{"Document":"x","timestamp":{}}]}`} {
		if _, err := decodeHistory([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func TestHistoryErrors(t *testing.T) {
	calls := 0
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Path {
		case "/ws/v1/monitors/history/1":
			writeJSON(w, 200, map[string]any{"list": []any{map[string]any{"topic": "1/A/b", "Alarm": map[string]any{}}}, "cursor": "again"})
		case "/ws/v1/monitors/history/2":
			w.Write([]byte("<html>"))
		default:
			writeJSON(w, 404, map[string]any{"error_message": "no such monitor"})
		}
	})
	c := fs.client()
	ctx := context.Background()
	var last error
	n := 0
	for _, err := range c.History(ctx, 1, time.Time{}, time.Time{}) {
		n++
		last = err
	}
	// The first page's record, then the error: a page is checked before
	// its records are yielded, as in every listing.
	if !errors.Is(last, ErrMalformedResponse) || n != 2 {
		t.Errorf("repeated cursor: %d yields, last %v", n, last)
	}
	if _, err := c.HistoryPage(ctx, 2, HistoryQuery{}); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("html: %v", err)
	}
	if _, err := c.HistoryPage(ctx, 3, HistoryQuery{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if _, err := c.HistoryPage(ctx, 0, HistoryQuery{}); !errors.Is(err, ErrInvalidID) {
		t.Errorf("id 0: %v", err)
	}
}
