package streamtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	rm "github.com/pushmon/pushmon/monitor"
)

var histBase = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func histEvent(i int) Event {
	return Event{
		Topic: fmt.Sprintf("DataPoint/dev%d/temp", i%3), Operation: "INSERTION",
		Timestamp: histBase.Add(time.Duration(i) * time.Second),
		Body:      map[string]any{"id": fmt.Sprintf("dp-%04d", i), "data": i},
	}
}

func collect(t *testing.T, api *rm.Client, id uint32, from, to time.Time) []rm.HistoryRecord {
	t.Helper()
	var out []rm.HistoryRecord
	for rec, err := range api.History(context.Background(), id, from, to) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func TestHistoryPagingAndFilters(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"), rm.WithPageSize(4))
	defer api.CloseIdleConnections()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
	other := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}, Transport: "polling"})
	// Out of timestamp order on purpose: history is ordered by timestamp.
	for _, i := range []int{0, 1, 2, 5, 6, 3, 4, 7, 8, 9, 10} {
		if n := s.Publish(histEvent(i)); n != 1 {
			t.Fatalf("published to %d monitors", n)
		}
	}
	recs := collect(t, api, id, time.Time{}, time.Time{})
	if len(recs) != 11 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if !r.Timestamp.Equal(histBase.Add(time.Duration(i)*time.Second)) || r.Topic != fmt.Sprintf("1234/DataPoint/dev%d/temp", i%3) ||
			r.Operation != "INSERTION" || r.ID == "" {
			t.Errorf("record %d: %+v", i, r)
		}
		if r.Resource != "DataPoint" || r.Err != nil || r.Document != nil ||
			string(r.Body) != fmt.Sprintf(`{"data":%d,"id":"dp-%04d"}`, i, i) {
			t.Errorf("record %d: %+v (body %s)", i, r, r.Body)
		}
	}
	window := collect(t, api, id, histBase.Add(3*time.Second), histBase.Add(7*time.Second))
	if len(window) != 4 || !window[0].Timestamp.Equal(histBase.Add(3*time.Second)) {
		t.Errorf("[3s,7s): %d records", len(window))
	}
	if n := len(collect(t, api, other, time.Time{}, time.Time{})); n != 0 {
		t.Errorf("other monitor: %d records", n)
	}
}

// TestHistoryCursorSurvivesNewRecords pages with a cursor while events keep
// arriving: every event is seen once.
func TestHistoryCursorSurvivesNewRecords(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := newAPI(t, s)
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
	next := 0
	publish := func(n int) {
		for range n {
			s.Publish(histEvent(next))
			next++
		}
	}
	publish(5)
	seen := map[string]int{}
	q := rm.HistoryQuery{Size: 3}
	for page := 0; page < 20; page++ {
		p, err := api.HistoryPage(context.Background(), id, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			seen[r.ID]++
		}
		if page < 2 {
			publish(2) // arrives while we page
		}
		if p.Cursor == "" {
			break
		}
		q.Cursor = p.Cursor
	}
	if len(seen) != next {
		t.Errorf("saw %d distinct records, published %d", len(seen), next)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s seen %d times", id, n)
		}
	}
}

func TestHistoryOnlyForPollingAndPersistent(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := newAPI(t, s)
	plain := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
	persistent := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
	s.Publish(histEvent(1))
	if _, err := api.HistoryPage(context.Background(), plain, rm.HistoryQuery{}); !errors.Is(err, rm.ErrBadRequest) {
		t.Errorf("non-persistent tcp monitor: %v", err)
	}
	if n := len(collect(t, api, persistent, time.Time{}, time.Time{})); n != 1 {
		t.Errorf("persistent monitor: %d records", n)
	}
	for _, q := range []string{"cursor=zz", "size=0", "size=1001", "start_time=yesterday"} {
		c := newREST(t, s)
		code, _, body := c.do("GET", fmt.Sprintf("/ws/v1/monitors/history/%d?%s", persistent, q), "")
		if code != 400 || !strings.Contains(body, "error_message") {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	c := newREST(t, s)
	if code, _, _ := c.do("GET", "/ws/v1/monitors/history/999", ""); code != 404 {
		t.Errorf("unknown monitor: %d", code)
	}
}

func TestHistoryLogIsBoundedAndOrdered(t *testing.T) {
	var h historyLog
	const limit = 64
	for i := range 1000 {
		ts := histBase.Add(time.Duration(i%100) * time.Millisecond) // many equal timestamps
		h.add(&rendered{ev: Event{Timestamp: ts}}, limit)
		if len(h.recs) > limit+limit/8 {
			t.Fatalf("%d records after %d adds", len(h.recs), i+1)
		}
	}
	for i := 1; i < len(h.recs); i++ {
		if !h.recs[i-1].before(h.recs[i].at, h.recs[i].seq) {
			t.Fatalf("records %d and %d out of order", i-1, i)
		}
	}
}

// TestHistoryTemplateRecords: a handlebars monitor's history holds the
// template's output per event, as a string with the record's id and the
// event's timestamp beside it.
func TestHistoryTemplateRecords(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"), rm.WithPageSize(2))
	defer api.CloseIdleConnections()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling",
		SchemaType: "handlebars", SchemaData: `{{#each this}}{"v":{{DataPoint.data}}}{{/each}}`})
	s.Publish(histEvent(2), histEvent(0), histEvent(1))
	recs := collect(t, api, id, time.Time{}, time.Time{})
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if r.Topic != "" || r.Body != nil || string(r.Document) != fmt.Sprintf(`{"v":%d}`, i) || r.ID == "" ||
			!r.Timestamp.Equal(histBase.Add(time.Duration(i)*time.Second)) {
			t.Errorf("record %d: %+v (%s)", i, r, r.Document)
		}
	}
}

// TestHistoryCursorAfterFarTimes: records stamped after 2262 or before
// 1678 (a device's clock gone wrong), whose times have no Unix nanosecond
// count, page like any others. Before, the cursor after such a record
// encoded an overflowed count, and the next page began elsewhere: the same
// page again (History failed) or records skipped.
func TestHistoryCursorAfterFarTimes(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"), rm.WithPageSize(1))
	defer api.CloseIdleConnections()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "polling"})
	years := []int{1500, 1600, 2025, 2300, 2301, 9999}
	for i, y := range years {
		ev := histEvent(i)
		ev.Timestamp = time.Date(y, 1, 1, 0, 0, 0, 123456789, time.UTC)
		s.Publish(ev)
	}
	recs := collect(t, api, id, time.Time{}, time.Time{})
	if len(recs) != len(years) {
		t.Fatalf("%d records, want %d", len(recs), len(years))
	}
	for i, r := range recs {
		if r.Timestamp.Year() != years[i] {
			t.Errorf("record %d: %v", i, r.Timestamp)
		}
	}
}
