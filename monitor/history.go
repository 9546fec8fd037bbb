package monitor

// The history API of persistent and polling monitors:
// GET /ws/v1/monitors/history/{id}. Its answer's field
// names are not documented; the decoder accepts the shapes below, and
// stream/streamtest serves the first one.
//
//	{"count":2,"size":1000,"cursor":"…","next_uri":"…","list":[
//	  {"id":"…","topic":"1234/DataPoint/dev1/temp","operation":"INSERTION",
//	   "timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{…}}, …]}
//
// The list may also be named "items", "events" or "history"; the cursor
// "next_cursor", or only be present as the cursor parameter of "next_uri".
// A list element may be a Msg object (as above, with or without "id"), a
// {"Msg": …} wrapper, a whole {"Document":{"Msg": …}} document (one object
// or an array of them), or a document the server stored as is (template
// output): a string, or an object holding that string as "Document" beside
// the record's "id" and the "timestamp" it was stored at.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const v1HistoryPath = "/ws/v1/monitors/history"

// historyTimeLayout is how HistoryQuery times are sent: ISO-8601 UTC with
// milliseconds, like the event timestamps.
const historyTimeLayout = "2006-01-02T15:04:05.000Z"

// HistoryQuery selects one page of a monitor's stored events.
type HistoryQuery struct {
	// Start is start_time, inclusive; zero means from the oldest stored
	// event. Sub-millisecond precision is dropped.
	Start time.Time
	// End is end_time, exclusive; zero means up to the newest.
	End time.Time
	// Size is how many records to ask for; 0 means the client's page size.
	Size int
	// Cursor continues from a previous page ([HistoryPage.Cursor]); "" asks
	// for the first page.
	Cursor string
}

// HistoryPage is one page of stored events.
type HistoryPage struct {
	// Records in the server's order (oldest first).
	Records []HistoryRecord
	// Cursor asks for the next page; "" when this is the last one.
	Cursor string
}

// HistoryRecord is one stored event.
//
// The event is in Msg, normalised to the Msg object of a push document
// ({"topic":…,"operation":…,"timestamp":…,"<Resource>":{…}}, with "group"
// and "replay" when present, and an epoch-milliseconds timestamp rewritten
// as ISO-8601) so that package stream turns it into the same Event as a
// push of that event. The resource value is the server's bytes, unchanged.
// When the server stored a document that is not a Msg (template output),
// Msg is nil and Document holds it.
type HistoryRecord struct {
	ID        string    // the server's record id, "" when it sends none
	Topic     string    // "<customerId>/<Resource>/<path>"
	Operation string    // as sent, e.g. "INSERTION"
	Timestamp time.Time // the event's, or the stored time beside a Document; zero when absent or unparsable
	Msg       json.RawMessage
	Document  []byte
}

// HistoryPage fetches one page of monitor id's stored events (GET
// /ws/v1/monitors/history/{id}). The monitor must be persistent or polling.
// An answer whose cursor is longer than 4 KiB (it goes back in the next
// request's query string) fails with a [*LimitError] for [LimitCursor].
func (c *Client) HistoryPage(ctx context.Context, id uint32, q HistoryQuery) (*HistoryPage, error) {
	if id == 0 {
		return nil, fmt.Errorf("monitor: history: %w: 0", ErrInvalidID)
	}
	size := q.Size
	if size <= 0 {
		size = c.pageSize
	}
	qv := url.Values{}
	if !q.Start.IsZero() {
		qv.Set("start_time", q.Start.UTC().Format(historyTimeLayout))
	}
	if !q.End.IsZero() {
		qv.Set("end_time", q.End.UTC().Format(historyTimeLayout))
	}
	qv.Set("size", strconv.Itoa(size))
	if q.Cursor != "" {
		qv.Set("cursor", q.Cursor)
	}
	r := request{method: http.MethodGet, path: v1HistoryPath + "/" + strconv.FormatUint(uint64(id), 10),
		query: qv, accept: acceptJSON}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	p, err := decodeHistory(resp.body)
	if err != nil {
		return nil, c.malformed(r, "%v", err)
	}
	if len(p.Cursor) > maxCursor {
		// It goes back in the next page's query string.
		return nil, c.malformed(r, "%v", &LimitError{LimitCursor, maxCursor})
	}
	return p, nil
}

// History iterates over monitor id's stored events with timestamps in
// [from, to) (zero times leave that end open), following the cursor from
// page to page; a page is fetched only when the previous one has been
// consumed, and a page without records ends the listing. On failure it
// yields one (zero HistoryRecord, error) pair and stops. Like every
// listing it makes progress or fails: a cursor the server already
// returned ends it with an error matching [ErrMalformedResponse] rather
// than looping, and more than [WithMaxPages] pages with a [*LimitError].
func (c *Client) History(ctx context.Context, id uint32, from, to time.Time) iter.Seq2[HistoryRecord, error] {
	what := "GET " + v1HistoryPath + "/" + strconv.FormatUint(uint64(id), 10)
	return paginate(c.maxPages, what, nil, func(cursor string) (page[HistoryRecord], error) {
		p, err := c.HistoryPage(ctx, id, HistoryQuery{Start: from, End: to, Cursor: cursor})
		if err != nil {
			return page[HistoryRecord]{}, err
		}
		out := page[HistoryRecord]{items: p.Records, next: p.Cursor}
		if len(p.Records) == 0 {
			out.next = "" // nothing more for now
		}
		return out, nil
	})
}

// --- decoding ---------------------------------------------------------

func decodeHistory(body []byte) (*HistoryPage, error) {
	if firstByte(body) != '{' {
		return nil, errors.New("not a JSON object")
	}
	env, err := decodeObject(trimBody(body))
	if err != nil {
		return nil, fmt.Errorf("JSON: %w", err)
	}
	p := &HistoryPage{}
	for _, k := range []string{"cursor", "next_cursor"} {
		v, err := jsonScalar(env[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		if v != "" {
			p.Cursor = v
			break
		}
	}
	if p.Cursor == "" {
		if next, err := jsonScalar(env["next_uri"]); err == nil && next != "" {
			if u, err := url.Parse(next); err == nil {
				p.Cursor = u.Query().Get("cursor")
			}
		}
	}
	var list []json.RawMessage
	found := false
	for _, k := range []string{"list", "items", "events", "history"} {
		raw, ok := env[k]
		if !ok || string(bytes.TrimSpace(raw)) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		found = true
		break
	}
	if !found && p.Cursor != "" {
		return nil, errors.New("a cursor but no list")
	}
	budget := recordBase + len(body)/bytesPerRecord
	for i, raw := range list {
		recs, err := decodeHistoryItem(raw, budget-len(p.Records))
		if err == nil && len(p.Records)+len(recs) > budget {
			err = &LimitError{LimitRecords, int64(budget)}
		}
		if le := (*LimitError)(nil); errors.As(err, &le) && le.Limit == LimitRecords {
			le.Max = int64(budget) // the page's, not what was left of it
		}
		if err != nil {
			return nil, fmt.Errorf("list[%d]: %w", i, err)
		}
		p.Records = append(p.Records, recs...)
	}
	return p, nil
}

// decodeHistoryItem decodes one list element into its records, at most
// max of them (a *LimitError beyond).
func decodeHistoryItem(raw json.RawMessage, max int) ([]HistoryRecord, error) {
	raw = bytes.TrimSpace(raw)
	switch firstByte(raw) {
	case '"':
		var doc string
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		return []HistoryRecord{{Document: []byte(doc)}}, nil
	case '{':
	default:
		return nil, errors.New("neither an object nor a string")
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	id, _ := jsonScalar(obj["id"])
	if doc, ok := obj["Document"]; ok && obj["topic"] == nil {
		doc = bytes.TrimSpace(doc)
		if string(doc) == "null" || firstByte(doc) == 0 {
			return nil, nil // a keep-alive
		}
		if firstByte(doc) == '"' {
			// A stored document (template output) with its record's id and
			// stored time.
			var text string
			if err := json.Unmarshal(doc, &text); err != nil {
				return nil, fmt.Errorf("Document: %v", err)
			}
			ts, err := jsonScalar(obj["timestamp"])
			if err != nil {
				return nil, fmt.Errorf("timestamp: %v", err)
			}
			return []HistoryRecord{{ID: id, Timestamp: parseTimestamp(ts), Document: []byte(text)}}, nil
		}
		d, err := decodeObject(doc)
		if err != nil {
			return nil, fmt.Errorf("Document: %w", err)
		}
		return decodeMsgs(d["Msg"], id, max)
	}
	if msg, ok := obj["Msg"]; ok && obj["topic"] == nil {
		return decodeMsgs(msg, id, max)
	}
	if _, ok := obj["topic"]; !ok {
		// Not an event the decoder knows: keep it whole.
		return []HistoryRecord{{ID: id, Document: bytes.Clone(raw)}}, nil
	}
	rec, err := canonicalMsg(obj)
	if err != nil {
		return nil, err
	}
	if rec.ID == "" {
		rec.ID = id
	}
	return []HistoryRecord{rec}, nil
}

// decodeMsgs decodes a Msg value: one object or an array of at most max
// of them, read one at a time. id is given to a single record only.
func decodeMsgs(raw json.RawMessage, id string, max int) ([]HistoryRecord, error) {
	raw = bytes.TrimSpace(raw)
	var objs []json.RawMessage
	switch firstByte(raw) {
	case '{':
		objs = append(objs, raw)
	case '[':
		if err := checkElements(raw, max, LimitRecords); err != nil {
			return nil, fmt.Errorf("Msg: %w", err)
		}
		if err := json.Unmarshal(raw, &objs); err != nil {
			return nil, fmt.Errorf("Msg: %v", err)
		}
	case 0:
		return nil, nil
	default:
		return nil, errors.New("Msg is neither an object nor an array")
	}
	out := make([]HistoryRecord, 0, len(objs))
	for _, raw := range objs {
		o, err := decodeObject(raw)
		if err != nil {
			return nil, fmt.Errorf("Msg: %w", err)
		}
		rec, err := canonicalMsg(o)
		if err != nil {
			return nil, err
		}
		if len(objs) == 1 && rec.ID == "" {
			rec.ID = id
		}
		out = append(out, rec)
	}
	return out, nil
}

// msgKeys are a Msg's envelope fields; every other key is the resource or
// server metadata.
var msgKeys = []string{"topic", "operation", "timestamp", "group", "replay"}

// metaKeys are record metadata some servers put beside the envelope.
var metaKeys = []string{"id", "uuid", "record_id", "monitor_id", "customer_id", "cursor", "server_timestamp"}

// canonicalMsg rebuilds a Msg object with only its envelope fields and its
// resource, so that the stream splitter sees exactly one resource.
func canonicalMsg(o map[string]json.RawMessage) (HistoryRecord, error) {
	var rec HistoryRecord
	topic, err := jsonScalar(o["topic"])
	if err != nil || topic == "" || firstByte(o["topic"]) != '"' {
		return rec, errors.New("Msg without a topic string")
	}
	rec.Topic = topic
	rec.Operation, _ = jsonScalar(o["operation"])
	tsText, err := jsonScalar(o["timestamp"])
	if err != nil {
		return rec, fmt.Errorf("timestamp: %v", err)
	}
	rec.Timestamp = parseTimestamp(tsText)
	// The resource: the key named by the topic's second segment, else the
	// only non-envelope, non-metadata key.
	resource := ""
	if _, rest, ok := strings.Cut(topic, "/"); ok {
		r, _, _ := strings.Cut(rest, "/")
		if _, ok := o[r]; ok {
			resource = r
		}
	}
	if resource == "" {
		var cands []string
		for k := range o {
			if !slices.Contains(msgKeys, k) && !slices.Contains(metaKeys, k) {
				cands = append(cands, k)
			}
		}
		if len(cands) != 1 {
			return rec, fmt.Errorf("Msg on %q: cannot tell the resource among %d fields", topic, len(cands))
		}
		resource = cands[0]
	}
	if resource != "id" {
		rec.ID, _ = jsonScalar(o["id"])
	}
	b := []byte(`{"topic":`)
	b = appendJSON(b, topic)
	if v, ok := o["operation"]; ok {
		b = append(b, `,"operation":`...)
		b = append(b, bytes.TrimSpace(v)...)
	}
	if tsText != "" {
		b = append(b, `,"timestamp":`...)
		if isDigits(tsText) && !rec.Timestamp.IsZero() {
			b = appendJSON(b, rec.Timestamp.Format(historyTimeLayout))
		} else {
			b = appendJSON(b, tsText)
		}
	}
	for _, k := range []string{"group", "replay"} {
		if v, ok := o[k]; ok && string(bytes.TrimSpace(v)) != "null" {
			b = append(b, `,"`+k+`":`...)
			b = append(b, bytes.TrimSpace(v)...)
		}
	}
	b = append(b, ',')
	b = appendJSON(b, resource)
	b = append(b, ':')
	b = append(b, bytes.TrimSpace(o[resource])...)
	rec.Msg = append(b, '}')
	return rec, nil
}
