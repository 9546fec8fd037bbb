package monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// bodyTransport answers every request with status and body, without
// copying the body: what a call allocates is the client's doing.
type bodyTransport struct {
	status int
	header http.Header
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h := b.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: b.status, Header: h, Body: io.NopCloser(bytes.NewReader(b.body)),
		ContentLength: int64(len(b.body)), Request: r}, nil
}

func answering(status int, body string, opts ...Option) *Client {
	base := []Option{WithHTTPClient(&http.Client{Transport: bodyTransport{status: status, body: []byte(body)}}), WithRetry(0, 0)}
	return NewClient("https://rm.example.com", append(base, opts...)...)
}

// allocated returns the bytes allocated while f runs (garbage included):
// an upper bound of how much it raised the heap.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

func wantLimit(t *testing.T, what string, err error, limit string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != limit || !errors.Is(err, ErrLimitExceeded) || !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("%s: err = %v, want a %s *LimitError", what, err, limit)
	}
}

// A 16 MiB answer of nested elements made encoding/xml allocate 69 times
// its size; checked first, it costs what reading it costs.
func TestNestedXMLAnswerBoundedMemory(t *testing.T) {
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<result>" + strings.Repeat("<a>", (16<<20)/3)
	c := answering(200, body)
	var err error
	n := allocated(func() { _, err = c.List(context.Background(), "") })
	wantLimit(t, "nested XML", err, LimitDepth)
	if limit := readAllFactor*uint64(len(body)) + 1<<20; n > limit {
		t.Errorf("a %d MiB answer allocated %d MiB (%.1f×), want at most %d MiB",
			len(body)>>20, n>>20, float64(n)/float64(len(body)), limit>>20)
	}
	t.Logf("%d MiB nested XML: %.1f× its size allocated", len(body)>>20, float64(n)/float64(len(body)))
}

func TestDeepJSONAnswerRefused(t *testing.T) {
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	ctx := context.Background()
	for what, call := range map[string]func(c *Client) error{
		"legacy list": func(c *Client) error { _, err := c.List(ctx, ""); return err },
		"legacy get":  func(c *Client) error { _, err := c.Get(ctx, 1); return err },
		"v1 list":     func(c *Client) error { _, err := c.V1().List(ctx, ListQuery{}); return err },
		"v1 get":      func(c *Client) error { _, err := c.V1().Get(ctx, 1); return err },
		"history":     func(c *Client) error { _, err := c.HistoryPage(ctx, 1, HistoryQuery{}); return err },
		"v1 create": func(c *Client) error {
			_, err := c.V1().Create(ctx, Spec{Topics: []string{"A"}})
			if err != nil && !strings.Contains(err.Error(), "may have taken effect") {
				t.Errorf("v1 create: %v does not say the monitor may exist", err)
			}
			return err
		},
	} {
		body := `{"items":` + deep + `,"list":` + deep + `}`
		wantLimit(t, what, call(answering(200, body)), LimitDepth)
	}
	// 64 levels are fine: the decoder, not the budget, refuses this one.
	ok := `{"list":[` + strings.Repeat("[", maxDepth-2) + strings.Repeat("]", maxDepth-2) + `]}`
	if _, err := answering(200, ok).V1().List(ctx, ListQuery{}); errors.Is(err, ErrLimitExceeded) {
		t.Errorf("depth %d refused: %v", maxDepth, err)
	}
}

func TestAnswerTokenAndAttributeBudgets(t *testing.T) {
	ctx := context.Background()
	_, err := answering(200, `{"list":[[`+strings.Repeat("1,", 1<<20)+`1]]}`).HistoryPage(ctx, 1, HistoryQuery{})
	wantLimit(t, "a page of tiny JSON tokens", err, LimitTokens)
	_, err = answering(200, `<result><Monitor `+strings.Repeat(`a="" `, 100)+`/></result>`).List(ctx, "")
	wantLimit(t, "an element with 100 attributes", err, LimitAttrs)
}

// Real answers pass the budgets with room to spare: a page of 1000
// monitors, every field set, pretty-printed XML (the server's style) and
// compact JSON.
func TestFullPagesPassTheBudgets(t *testing.T) {
	it := item{
		"monId": "178007", "cstId": "7603", "monTopic": "DeviceCore,DataPoint", "monTransportType": "tcp",
		"monFormatType": "json", "monBatchSize": "1", "monBatchDuration": "10", "monCompression": "zlib",
		"monAckOption": "explicit", "monAutoReplayOnConnect": "true", "monDescription": "", "monStatus": "INACTIVE",
		"monLastConnect": "2014-02-05T18:57:49.603Z", "monLastSent": "2014-02-11T02:38:46Z", "monLastSentUuid": "a18afa9d-92c5-11e3-a346-bc764e1023af",
	}
	items := make([]item, 1000)
	for i := range items {
		items[i] = maps.Clone(it)
		items[i]["monId"] = strconv.Itoa(178007 + i)
	}
	for _, asXML := range []bool{true, false} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeList(w, items, 0, 1000, 1000, asXML) })
		ms, err := fs.client().List(context.Background(), "")
		if err != nil || len(ms) != 1000 {
			t.Errorf("xml %v: %d monitors, %v", asXML, len(ms), err)
		}
	}
	// The v1 form, as short as a monitor gets.
	var b strings.Builder
	b.WriteString(`{"count":1000,"list":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"customer_id":3,"topics":["A"],"type":"tcp","status":"ACTIVE"}`, i+1)
	}
	b.WriteString(`]}`)
	if ms, err := answering(200, b.String()).V1().List(context.Background(), ListQuery{}); err != nil || len(ms) != 1000 {
		t.Errorf("v1: %d monitors, %v", len(ms), err)
	}
}

// A page may not hold more items than were asked for: the ones beyond are
// never decoded. (A server caps the page size, never raises it.)
func TestPageLargerThanAskedFor(t *testing.T) {
	ctx := context.Background()
	items := `{"monId":"1"},{"monId":"2"},{"monId":"3"}`
	_, err := answering(200, `{"remainingSize":"0","items":[`+items+`]}`, WithPageSize(2)).List(ctx, "")
	wantLimit(t, "legacy JSON", err, LimitItems)
	// The history's list, whatever its name: the budget is checked before
	// any decoder runs.
	for _, name := range []string{"list", "items", "events", "history"} {
		_, err = answering(200, `{"`+name+`":["a","b","c"]}`).HistoryPage(ctx, 1, HistoryQuery{Size: 2})
		wantLimit(t, "history "+name, err, LimitItems)
	}
	if p, err := answering(200, `{"list":["a","b"],"cursor":"x"}`).HistoryPage(ctx, 1, HistoryQuery{Size: 2}); err != nil || len(p.Records) != 2 {
		t.Errorf("a full history page: %v, %v", p, err)
	}
	xmlItems := `<result><Monitor><monId>1</monId></Monitor><Monitor><monId>2</monId></Monitor><Monitor><monId>3</monId></Monitor></result>`
	_, err = answering(200, xmlItems, WithPageSize(2)).List(ctx, "")
	wantLimit(t, "legacy XML", err, LimitItems)
	_, err = answering(200, `{"list":[{"id":1},{"id":2}],"items":[{"id":3}]}`).V1().List(ctx, ListQuery{PageSize: 2})
	wantLimit(t, "v1, two lists", err, LimitItems)
}

// A create answer beyond the budgets is only a hint: the id comes from the
// Location header.
func TestCreateAnswerOverBudgetUsesLocation(t *testing.T) {
	body := "<result><location>Monitor/5</location>" + strings.Repeat("<a>", 100)
	hc := &http.Client{Transport: bodyTransport{status: 201, header: http.Header{"Location": {"Monitor/77"}}, body: []byte(body)}}
	id, err := NewClient("https://rm.example.com", WithHTTPClient(hc)).Create(context.Background(), Spec{Topics: []string{"A"}})
	if err != nil || id != 77 {
		t.Errorf("Create = %d, %v; want 77 from the Location header", id, err)
	}
}

// An error answer beyond the budgets is not decoded: its excerpt is the
// message.
func TestErrorAnswerOverBudget(t *testing.T) {
	body := "<result><error>" + strings.Repeat("<a>", 100) + "deep</error></result>"
	_, err := answering(400, body).List(context.Background(), "")
	var ae *APIError
	if !errors.As(err, &ae) || !strings.HasPrefix(ae.Message, "<result><error><a><a>") {
		t.Errorf("err = %v", err)
	}
}

// repeatTo returns head, then unit repeated until the text is about n
// bytes long, then tail.
func repeatTo(head, unit, tail string, n int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strings.ReplaceAll(unit, "#", fmt.Sprint(i)))
	}
	b.WriteString(tail)
	return b.String()
}

// Wide objects and long lists within the depth and token budgets made the
// decoders build a map entry, a slice element or a record per tiny token:
// 30 MiB answers cost 0.4 to 1.4 GiB of heap and tens of seconds. Each is
// now refused, naming its budget, having allocated what reading it costs
// and a few copies of it (the decoder's buffer, a member's raw value, its
// text).
func TestWideAndLongAnswersBoundedMemory(t *testing.T) {
	const size = 2 << 20
	ctx := context.Background()
	list := func(c *Client) error { _, err := c.List(ctx, ""); return err }
	v1list := func(c *Client) error { _, err := c.V1().List(ctx, ListQuery{}); return err }
	v1get := func(c *Client) error { _, err := c.V1().Get(ctx, 1); return err }
	history := func(c *Client) error { _, err := c.HistoryPage(ctx, 1, HistoryQuery{}); return err }
	for _, tc := range []struct {
		name  string
		body  string
		call  func(*Client) error
		limit string
	}{
		{"legacy JSON monitor with many members", repeatTo(`{"remainingSize":"0","items":[{"monId":"1"`, `,"k#":1`, `}]}`, size), list, LimitMembers},
		{"legacy XML monitor with many children", repeatTo(`<result><Monitor><monId>1</monId>`, `<k#/>`, `</Monitor></result>`, size), list, LimitMembers},
		{"legacy topics", repeatTo(`{"remainingSize":"0","items":[{"monId":"1","monTopic":"a`, `,a`, `"}]}`, size), list, LimitValues},
		{"legacy headers", repeatTo(`{"remainingSize":"0","items":[{"monId":"1","monTransportHeaders":"a: b`, `\na: b`, `"}]}`, size), list, LimitValues},
		{"v1 topics", repeatTo(`{"list":[{"id":1,"topics":["a"`, `,"a"`, `]}]}`, size), v1list, LimitValues},
		{"v1 headers object", repeatTo(`{"list":[{"id":1,"headers":{"a":"b"`, `,"k#":"b"`, `}}]}`, size), v1list, LimitValues},
		{"v1 monitor with many members", repeatTo(`{"id":1`, `,"k#":1`, `}`, size), v1get, LimitMembers},
		{"history envelope with many members", repeatTo(`{"list":[]`, `,"k#":1`, `}`, size), history, LimitMembers},
		{"history Msg array", repeatTo(`{"list":[{"Document":{"Msg":[{"topic":"a"}`, `,{"topic":"a"}`, `]}}]}`, size), history, LimitRecords},
		// The event model's parser reads a Msg's members without keeping
		// them: a wide Msg costs what reading it costs, and is one record.
		{"history Msg with many members", repeatTo(`{"list":[{"Msg":{"topic":"1/A/b","A":{}`, `,"k#":1`, `}}]}`, size), history, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := answering(200, tc.body)
			var err error
			n := allocated(func() { err = tc.call(c) })
			if tc.limit != "" {
				wantLimit(t, tc.name, err, tc.limit)
			} else if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if limit := (readAllFactor+8)*uint64(len(tc.body)) + 1<<20; n > limit {
				t.Errorf("a %d MiB answer allocated %d MiB (%.1f×), want at most %d MiB",
					len(tc.body)>>20, n>>20, float64(n)/float64(len(tc.body)), limit>>20)
			}
			t.Logf("%.1f× its size allocated: %v", float64(n)/float64(len(tc.body)), err)
		})
	}
}

// A record's Msg array or Document is split under the events budget of
// push documents (64 events plus one per 16 bytes): a record of tiny Msgs
// is refused naming it, before the page's records budget, which allows
// 1024 records whatever the page's size.
func TestHistoryRecordOverEventsBudget(t *testing.T) {
	ctx := context.Background()
	tiny := strings.TrimSuffix(strings.Repeat("1,", 1000), ",")
	for _, body := range []string{
		`{"list":[{"id":"r","Msg":[` + tiny + `]}]}`,
		`{"list":[{"id":"r","Document":{"Msg":[` + tiny + `]}}]}`,
	} {
		_, err := answering(200, body).HistoryPage(ctx, 1, HistoryQuery{})
		wantLimit(t, body[:30], err, LimitEvents)
	}
	// The same number of Msgs that are events is a page of 1000 records.
	msgs := strings.TrimSuffix(strings.Repeat(`{"topic":"1/A/1","A":0},`, 1000), ",")
	page, err := answering(200, `{"list":[{"Msg":[`+msgs+`]}]}`).HistoryPage(ctx, 1, HistoryQuery{})
	if err != nil || len(page.Records) != 1000 {
		t.Errorf("1000 Msgs: %v", err)
	}
}

// Real answers stay far below the new budgets: a monitor with 100 topics
// and 20 headers, a history page of 1000 short events in one Document.
func TestWideBudgetsLeaveRealAnswers(t *testing.T) {
	ctx := context.Background()
	topics := strings.TrimSuffix(strings.Repeat("DataPoint/00000000-00000000-00409DFF-FF000000/temp,", 100), ",")
	hdrs := strings.TrimSuffix(strings.Repeat(`X-Header-Name: some value\n`, 20), `\n`)
	body := `{"remainingSize":"0","items":[{"monId":"1","monTopic":"` + topics + `","monTransportHeaders":"` + hdrs + `"}]}`
	ms, err := answering(200, body).List(ctx, "")
	if err != nil || len(ms) != 1 || len(ms[0].Topics) != 100 || len(ms[0].Headers) != 20 {
		t.Fatalf("List: %d monitors, %v", len(ms), err)
	}
	var b strings.Builder
	b.WriteString(`{"list":[{"Document":{"Msg":[`)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"topic":"1/DataPoint/d/s","operation":"INSERTION","DataPoint":{"id":"%d"}}`, i)
	}
	b.WriteString(`]}}]}`)
	p, err := answering(200, b.String()).HistoryPage(ctx, 1, HistoryQuery{})
	if err != nil || len(p.Records) != 1000 {
		t.Fatalf("HistoryPage: %v", err)
	}
}
