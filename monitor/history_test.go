package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/envelope"
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
			rec.Operation != "INSERTION" || !rec.Timestamp.Equal(base.Add(time.Duration(i)*time.Second)) ||
			rec.Resource != "DataPoint" || rec.Err != nil || rec.Document != nil {
			t.Errorf("record %d = %+v", i, rec)
		}
		// The resource as the server sent it (encoding/json's key order).
		if want := fmt.Sprintf(`{"data":%d,"id":"dp%d"}`, i, i); string(rec.Body) != want {
			t.Errorf("record %d body %s, want %s", i, rec.Body, want)
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

// record is what a test expects of a HistoryRecord.
type record struct {
	id, topic, resource, op, group, body, doc, invalid string // invalid: the EventError's field
	replay                                             bool
	ts                                                 time.Time
}

func checkRecord(t *testing.T, i int, got HistoryRecord, want record) {
	t.Helper()
	field := ""
	if got.Err != nil {
		var ee *envelope.EventError
		if !errors.As(got.Err, &ee) || !errors.Is(got.Err, envelope.ErrInvalidEvent) {
			t.Errorf("record %d: Err %T %v", i, got.Err, got.Err)
		} else {
			field = ee.Field
		}
	}
	if got.ID != want.id || got.Topic != want.topic || got.Resource != want.resource || got.Operation != want.op ||
		got.Group != want.group || got.Replay != want.replay || string(got.Body) != want.body ||
		string(got.Document) != want.doc || (got.Document != nil) != (want.doc != "") || field != want.invalid ||
		!got.Timestamp.Equal(want.ts) {
		t.Errorf("record %d = %+v (body %s, document %s, err %v)\nwant %+v", i, got, got.Body, got.Document, got.Err, want)
	}
}

func TestHistoryDecodesTolerantly(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, body string
		cursor     string
		records    []record
	}{
		{"documented", `{"count":1,"cursor":"c1","list":[{"id":"1","topic":"1/DeviceCore/7","operation":"UPDATE","timestamp":"2025-01-01T00:00:00Z","group":"*","DeviceCore":{"id":{"devId":7}}}]}`,
			"c1", []record{{id: "1", topic: "1/DeviceCore/7", resource: "DeviceCore", op: "UPDATE", group: "*", ts: t0, body: `{"id":{"devId":7}}`}}},
		{"items and next_uri", `{"items":[{"Msg":{"topic":"1/DataPoint/x","operation":"insertion","timestamp":1735689600000,"replay":true,"DataPoint":{"id":"a"}}}],"next_uri":"/ws/v1/monitors/history/1?size=1&cursor=abc"}`,
			"abc", []record{{topic: "1/DataPoint/x", resource: "DataPoint", op: "INSERTION", replay: true, ts: t0, body: `{"id":"a"}`}}},
		{"documents", `{"events":[{"id":"9","Document":{"Msg":[{"topic":"1/A/x","Alarm":{}},{"topic":"1/B/y","weird":1}]}},{"Document":null},{"id":"10","Document":{"Msg":{"topic":"1/C/z","C":[1, 2]}}}],"next_cursor":"n"}`,
			"n", []record{{topic: "1/A/x", resource: "Alarm", body: `{}`}, {topic: "1/B/y", resource: "weird", body: `1`},
				{id: "10", topic: "1/C/z", resource: "C", body: `[1, 2]`}}},
		{"raw strings", `{"list":["{\"my\":\"template\"}", {"no":"topic"}, "plain"]}`, "",
			[]record{{doc: `{"my":"template"}`}, {doc: `{"no":"topic"}`}, {doc: "plain"}}},
		{"stored documents", `{"list":[{"id":"17","timestamp":"2025-01-01T00:00:01.000Z","Document":"reading 21.5"},{"id":"18","Document":"<r/>"},{"Document":"x","timestamp":{}}]}`, "",
			[]record{{id: "17", ts: t0.Add(time.Second), doc: "reading 21.5"}, {id: "18", doc: "<r/>"}, {doc: "x"}}},
		// Members of the record's own beside the Msg's are never its resource.
		{"record members", `{"list":[{"id":5,"uuid":"u","server_timestamp":"t","topic":"1/Reading/x","value":21.5}]}`, "",
			[]record{{id: "5", topic: "1/Reading/x", resource: "value", body: `21.5`}}},
		// An invalid Msg is a record with Err, as a push of it is an event
		// with Err; the page is read all the same.
		{"invalid Msgs", `{"list":[{"topic":1,"A":{}},{"topic":"1/X/y","a":{},"b":{}},{"topic":"1/D/x","timestamp":"2025-02-30T00:00:00Z","D":{}},{"topic":"1/E/e","E":{}}]}`, "",
			[]record{{resource: "A", body: `{}`, invalid: "topic"}, {topic: "1/X/y", body: `{"topic":"1/X/y","a":{},"b":{}}`, invalid: "resource"},
				{topic: "1/D/x", resource: "D", body: `{}`, invalid: "timestamp"}, {topic: "1/E/e", resource: "E", body: `{}`}}},
		// What the decoder does not know as an event is kept whole.
		{"unknown shapes", `{"list":[{"Msg":"x"},{"id":"3","Document":{"other":1}}]}`, "",
			[]record{{doc: `{"Msg":"x"}`}, {id: "3", doc: `{"id":"3","Document":{"other":1}}`}}},
		{"empty", `{"count":0,"list":[]}`, "", nil},
		{"null list", `{"list":null,"items":[]}`, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := decodeHistory(context.Background(), []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if p.Cursor != c.cursor || len(p.Records) != len(c.records) {
				t.Fatalf("cursor %q, %d records: %+v", p.Cursor, len(p.Records), p)
			}
			for i, r := range p.Records {
				checkRecord(t, i, r, c.records[i])
			}
		})
	}
	for _, bad := range []string{`[]`, `{"list":{}}`, `{"cursor":"x"}`, `{"list":[7]}`, `{"list":[[]]}`,
		`{"list":[{"topic":"a"}`, `{"cursor":{},"list":[]}`, `{"list":[]} {}`} {
		if _, err := decodeHistory(context.Background(), []byte(bad)); err == nil {
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
	// The second page repeats the first's cursor: it is refused whole (a
	// page is checked before its records are yielded, as in every listing).
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

// endlessHistory answers every history request with two records and a
// fresh cursor; the records are fresh (ids from the cursor) unless same,
// and there are none when empty.
func endlessHistory(calls *atomic.Int32, same, empty bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		if same {
			start = 0
		}
		var list []any
		for i := start; i < start+2 && !empty; i++ {
			list = append(list, map[string]any{"id": strconv.Itoa(i), "topic": "1/DataPoint/x", "DataPoint": map[string]any{"data": i}})
		}
		writeJSON(w, 200, map[string]any{"list": list, "cursor": strconv.Itoa(2 * n)})
	})
}

// TestHistoryPagingGuarantees: History follows cursors through the
// listing's paging helper — a page cap, a page that announces another
// with no record, records repeated under fresh cursors — each a typed
// error after a bounded number of requests.
func TestHistoryPagingGuarantees(t *testing.T) {
	cases := []struct {
		name        string
		same, empty bool
		records     int   // yielded before the error
		requests    int32 // made in all
		want        error
		limit       bool // the error is a *LimitError for LimitPages
	}{
		{"page cap", false, false, 10, 5, ErrLimitExceeded, true},
		{"same records", true, false, 2, 2, ErrMalformedResponse, false},
		{"empty page with a cursor", false, true, 0, 1, ErrMalformedResponse, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			api := inMemoryClient(endlessHistory(&calls, c.same, c.empty), WithPageSize(2), WithMaxPages(5))
			n := 0
			var last error
			for _, err := range api.History(context.Background(), 7, time.Time{}, time.Time{}) {
				if err != nil {
					last = err
					break
				}
				n++
			}
			var le *LimitError
			if n != c.records || calls.Load() != c.requests || !errors.Is(last, c.want) ||
				c.limit != (errors.As(last, &le) && le.Limit == LimitPages) {
				t.Errorf("%d records, %d requests, %v", n, calls.Load(), last)
			}
		})
	}
}

// TestHistoryInvalidRecordSaysWhere: the error of an invalid Msg in a
// page names its element's place in the page; its EventError alone said
// "event 0 of the document" for every element, each being parsed alone.
func TestHistoryInvalidRecordSaysWhere(t *testing.T) {
	p, err := decodeHistory(context.Background(), []byte(`{"list":[{"topic":"1/A/a","A":{}},{"topic":"1/B/b","B":{}},{"topic":1,"C":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 3 || p.Records[2].Err == nil {
		t.Fatalf("records %+v", p.Records)
	}
	var ee *envelope.EventError
	if msg := p.Records[2].Err.Error(); !strings.HasPrefix(msg, "history page element 2: ") || !errors.As(p.Records[2].Err, &ee) || ee.Field != "topic" {
		t.Errorf("Err %q", msg)
	}
}
