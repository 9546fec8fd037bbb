package monitor

// The history API of persistent and polling monitors:
// GET /ws/v1/monitors/history/{id}. Its answer's field names are not
// documented; the decoder (history_decode.go) accepts the shapes below,
// and stream/streamtest serves the first one.
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
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"net/http"
	"net/url"
	"strconv"
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
	// Sub-millisecond precision is dropped too: an End within a
	// millisecond excludes the events stamped with that millisecond.
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
	// Cursor asks for the next page; "" when this is the last one, or
	// when the answer names the next one only by a next_uri without a
	// cursor parameter, which the client cannot follow ([Client.History]
	// then fails with an error matching [ErrMalformedResponse]).
	Cursor string
	// Items is how many elements the page's list held. Records may be
	// fewer (an element holding no event, a keep-alive document) or more
	// (one holding several Msgs): a page of Items but no Records still
	// moves the listing on to Cursor.
	Items int
	// ServerTime is when the server answered, from the answer's Date
	// header; zero without one (or with one that is not an HTTP date). No
	// record the server stored can be newer, give or take its clock's
	// resolution: package stream's poller uses it to refuse a window
	// that a record stamped in the future would move past every later
	// event.
	ServerTime time.Time
	// stranded: a next_uri announced a next page without a cursor.
	stranded bool
}

// HistoryRecord is one stored event, read once: either a Msg, whose
// envelope fields are parsed exactly as a push of that event is parsed
// (package stream's poller builds from them the same Event a push gives,
// identity included), or a document the server stored as it was.
//
// Body and Document share the memory of the page's answer, which is the
// caller's and which the client never modifies: treat them as read-only
// (copy before modifying).
type HistoryRecord struct {
	// ID is the server's record id, "" when it sends none. It is not part
	// of the event.
	ID string
	// Topic is "<customerId>/<Resource>/<path>"; "" for a stored document
	// and for a Msg without a valid one (then Err says so).
	Topic string
	// Resource is the name of the Msg's member holding the resource
	// ("DataPoint", "DeviceCore", …): the one the topic names, or else the
	// only one whose value is an object, or else the only one besides the
	// envelope fields and the record's own ("id", "uuid", …). "" when none
	// can be told.
	Resource string
	// Operation is the operation, its ASCII letters upper-cased
	// ("INSERTION", "UPDATE", …).
	Operation string
	// Timestamp is the event's time (UTC; RFC 3339 or epoch milliseconds
	// in the answer). For a stored document, the time the server stored it
	// when the record says. Zero when absent or not valid.
	Timestamp time.Time
	// Group is the Msg's optional group.
	Group string
	// Replay is true for a Msg flagged replay.
	Replay bool
	// Body is the resource: the member's JSON value, byte for byte as the
	// server sent it. On a Msg whose resource cannot be told, the whole Msg
	// object (a record's own members beside it included). nil for a stored
	// document.
	Body []byte
	// Err is nil, or says what is invalid in the Msg (a body that is not
	// well-formed JSON, an envelope field of the wrong type, a timestamp
	// time.Parse refuses, no topic, no resource that can be told): package
	// stream's *EventError (use errors.As), matching stream.ErrInvalidEvent,
	// as a push of the same Msg reports it, wrapped in the place of its
	// element in the page. The fields that could be read are set.
	Err error
	// Document is non-nil for a document the server stored as it was
	// (template output) and for a list element the decoder does not know
	// as an event, kept whole: its bytes, for the consumer to read as a
	// push of that document. The other fields but ID and Timestamp are then
	// zero.
	Document []byte
}

// HistoryPage fetches one page of monitor id's stored events (GET
// /ws/v1/monitors/history/{id}). The monitor must be persistent or polling.
// The answer is read under the client's budgets ([*LimitError]); an answer
// of none of the known shapes is an error matching [ErrMalformedResponse].
// A Msg that is invalid is one record with Err set, not an error. An
// answer whose cursor is longer than 4 KiB (it goes back in the next
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
	p, err := decodeHistory(ctx, resp.body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("monitor: %s %s: %w", r.method, r.path, err)
		}
		return nil, c.malformed(r, "%v", err)
	}
	if len(p.Cursor) > maxCursor {
		// It goes back in the next page's query string.
		return nil, c.malformed(r, "%v", &LimitError{LimitCursor, maxCursor})
	}
	if d, err := http.ParseTime(resp.header.Get("Date")); err == nil {
		p.ServerTime = d.UTC()
	}
	return p, nil
}

// History iterates over monitor id's stored events with timestamps in
// [from, to) (zero times leave that end open; both are sent to the
// millisecond, their sub-millisecond precision dropped, see
// [HistoryQuery]), following the cursor from
// page to page with the paging guarantees of every listing (see the
// package documentation): a page is fetched only when the previous one
// has been consumed; a record (told apart by its ID) that an earlier page
// gave already is not yielded again; a page that announces another but
// holds no record, a cursor the listing already had, or a page whose
// records all were given already ends it with an error matching
// [ErrMalformedResponse]; more pages than [WithMaxPages] allows with a
// [*LimitError]. On failure it yields one (zero HistoryRecord, error) pair
// and stops.
func (c *Client) History(ctx context.Context, id uint32, from, to time.Time) iter.Seq2[HistoryRecord, error] {
	what := "history of monitor " + strconv.FormatUint(uint64(id), 10)
	return paginate(c.maxPages, what, historyKey, func(cursor string) (page[HistoryRecord], error) {
		p, err := c.HistoryPage(ctx, id, HistoryQuery{Start: from, End: to, Cursor: cursor})
		if err != nil {
			return page[HistoryRecord]{}, err
		}
		if p.stranded {
			return page[HistoryRecord]{}, fmt.Errorf("monitor: %s: %w: %w", what, ErrMalformedResponse, errStranded)
		}
		return page[HistoryRecord]{items: p.Records, next: p.Cursor, held: p.Items}, nil
	})
}

// historySeed seeds the hashes of record ids that History compares
// between pages.
var historySeed = maphash.MakeSeed()

// historyKey gives a record's identity for the paging check: its id,
// hashed; none for a record without one.
func historyKey(r HistoryRecord) (uint64, bool) {
	if r.ID == "" {
		return 0, false
	}
	return maphash.String(historySeed, r.ID), true
}
