package monitor

// Reading a history answer (see history.go for the shapes): the page is
// walked with encoding/json's Decoder, which delimits each list element;
// each element is then read once by the event model's parser
// (internal/envelope), as a push of the same event is, without being
// re-encoded. Every object or string in the list becomes one record or
// more — an object the decoder does not know as an event is kept whole as
// a Document, and a Msg that is invalid is a record with Err set — so one
// odd record never makes a page unreadable. The answer's size, nesting and
// tokens were bounded by checkBody before the decoder runs; the list's
// length is bounded by the page size asked for.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/internal/xmlguard"
)

// historyLists are the names a page's list may have, the preferred first.
var historyLists = []string{"list", "items", "events", "history"}

// recordOwn are members some servers put beside a Msg's in a record: the
// record's own, never its resource.
var recordOwn = []string{"id", "uuid", "record_id", "monitor_id", "customer_id", "cursor", "server_timestamp"}

func decodeHistory(ctx context.Context, body []byte) (*HistoryPage, error) {
	if firstByte(body) != '{' {
		return nil, errors.New("not a JSON object")
	}
	p := &HistoryPage{}
	rank := len(historyLists) // of the list read: lower is preferred
	var cursors [3]json.RawMessage
	members := 0
	// all holds the records of every list read, in order: a page that
	// repeats its list's name keeps the last, but the records budget is
	// the page's, shared by them all.
	var all []HistoryRecord
	err := walkObject(trimBody(body), func(key string, dec *json.Decoder) error {
		if members++; members > maxMembers {
			return &LimitError{LimitMembers, maxMembers}
		}
		if r := slices.Index(historyLists, key); r >= 0 && r <= rank {
			n := len(all)
			recs, items, ok, err := decodeHistoryList(ctx, dec, all, recordBase+len(body)/bytesPerRecord)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			all = recs
			if ok {
				p.Records, p.Items, rank = recs[n:len(recs):len(recs)], items, r
				if len(p.Records) == 0 {
					p.Records = nil
				}
			}
			return nil
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if i := slices.Index(cursorMembers, key); i >= 0 {
			return setCursor(&cursors[i], raw, key)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil || isLimit(err) {
			return nil, err
		}
		return nil, fmt.Errorf("JSON: %w", err)
	}
	if p.Cursor, p.stranded, err = nextCursor(cursors); err != nil {
		return nil, err
	}
	if rank == len(historyLists) && p.Cursor != "" {
		return nil, errors.New("a cursor but no list")
	}
	return p, nil
}

// cursorMembers are the members of a page (history or v1 list) that may
// name the next page, the preferred first: its cursor, or a next_uri
// holding it as its cursor parameter.
var cursorMembers = []string{"cursor", "next_cursor", "next_uri"}

// setCursor records raw, the value of the cursor member key, in *dst. A
// member named twice with two values is an error: which one holds cannot
// be told, and keeping the last (as encoding/json would) may end a
// listing early without a word ("cursor":"…", then "cursor":null).
func setCursor(dst *json.RawMessage, raw json.RawMessage, key string) error {
	raw = bytes.TrimSpace(raw)
	if *dst != nil && !bytes.Equal(*dst, raw) {
		return fmt.Errorf("%s named twice with two values", key)
	}
	*dst = raw
	return nil
}

// nextCursor returns the next page's cursor from the values of
// cursorMembers (nil when absent): "" when none names one. stranded is
// true when a next_uri announces a next page but names no cursor (it
// does not parse, or pages otherwise, by offset): a page the client
// cannot ask for, which a listing must not take for its end.
func nextCursor(values [3]json.RawMessage) (cursor string, stranded bool, err error) {
	for i, k := range cursorMembers[:2] {
		v, err := jsonScalar(values[i])
		if err != nil {
			return "", false, fmt.Errorf("%s: %v", k, err)
		}
		if v != "" {
			return v, false, nil
		}
	}
	next, err := jsonScalar(values[2])
	if err != nil {
		return "", false, fmt.Errorf("next_uri: %v", err)
	}
	if next == "" {
		return "", false, nil
	}
	if u, err := url.Parse(next); err == nil {
		if cur := u.Query().Get("cursor"); cur != "" {
			return cur, false, nil
		}
	}
	return "", true, nil
}

// errStranded is a page whose next_uri names no cursor.
var errStranded = errors.New("next_uri announces a next page without a cursor")

func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}

// decodeHistoryList appends the records of a list's value from dec to
// recs, and returns how many elements it held: false for null. recs holds at most budget records in all, those
// of the page's earlier lists included (a *LimitError beyond): a page of
// n bytes may hold recordBase + n/bytesPerRecord of them, so that a long
// list of tiny Msgs, or many lists, cannot cost more than a constant
// times the answer's size.
func decodeHistoryList(ctx context.Context, dec *json.Decoder, recs []HistoryRecord, budget int) (_ []HistoryRecord, items int, ok bool, err error) {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return recs, 0, false, err
	case tok == nil:
		return recs, 0, false, nil
	case tok != json.Delim('['):
		return recs, 0, false, fmt.Errorf("%v where an array was expected", tok)
	}
	for ; dec.More(); items++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, 0, false, err
		}
		n := len(recs)
		if recs, err = appendHistoryItem(ctx, recs, raw, budget); err != nil {
			return nil, 0, false, fmt.Errorf("[%d]: %w", items, err)
		}
		for i := n; i < len(recs); i++ {
			if recs[i].Err != nil {
				// Its EventError places the Msg in its element, parsed
				// alone: say which element of the page that is.
				recs[i].Err = fmt.Errorf("history page element %d: %w", items, recs[i].Err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, 0, false, err
	}
	return recs, items, true, nil
}

// itemMembers are the members of a list element that tell its shape.
type itemMembers struct {
	topic     bool            // a "topic" member: the element is a Msg
	id, stamp []byte          // "id" and "timestamp" values
	doc, msg  []byte          // "Document" and "Msg" values
	lim       envelope.Limits // zero: the default budgets
	members   int             // how many members the element has
}

// own records the members that tell an element's shape and tells the
// record's own members from the Msg's (envelope.ParseRecord's hook).
func (m *itemMembers) own(key, value []byte) bool {
	m.members++
	switch string(key) {
	case "topic":
		m.topic = true
	case "timestamp":
		m.stamp = value
	case "id":
		m.id = value
	case "Document":
		m.doc = value
	case "Msg":
		m.msg = value
	}
	return slices.Contains(recordOwn, string(key))
}

// appendHistoryItem appends the records of one list element, recs holding
// at most budget records in all (a *LimitError beyond, checked as each
// record is made). raw is the caller's and must stay unmodified: the
// records alias it.
func appendHistoryItem(ctx context.Context, recs []HistoryRecord, raw []byte, budget int) ([]HistoryRecord, error) {
	if len(recs) >= budget {
		return recs, &LimitError{LimitRecords, int64(budget)}
	}
	raw = bytes.TrimSpace(raw)
	switch firstByte(raw) {
	case '"':
		doc, err := jsonText(raw)
		if err != nil {
			return recs, err
		}
		return append(recs, HistoryRecord{Document: doc}), nil
	case '{':
	default:
		return recs, errors.New("neither an object nor a string")
	}
	var m itemMembers
	ev, err := envelope.ParseRecord(raw, m.lim, m.own)
	if err != nil {
		return recs, budgetErr(err)
	}
	if m.members > maxMembers {
		return recs, &LimitError{LimitMembers, maxMembers}
	}
	id, _ := jsonScalar(m.id)
	switch {
	case m.topic:
		// A Msg, the documented record (invalid, if it is, as a push of it
		// would be).
		return append(recs, recordOf(&ev, id)), nil
	case m.doc != nil && firstByte(m.doc) == '"':
		// A stored document (template output) with its record's id and
		// stored time.
		doc, err := jsonText(m.doc)
		if err != nil {
			return recs, fmt.Errorf("Document: %v", err)
		}
		ts, _ := jsonScalar(m.stamp) // an unreadable stored time places nothing
		return append(recs, HistoryRecord{ID: id, Timestamp: parseTimestamp(ts), Document: doc}), nil
	case m.doc != nil:
		// A whole {"Document":{"Msg":…}} document, the record's own members
		// beside it.
		var s envelope.Splitter
		return parseInto(ctx, recs, budget, raw, id, func(ctx context.Context, emit func(envelope.Event)) error {
			_, err := s.Split(ctx, raw, envelope.JSON, emit)
			return err
		})
	case m.msg != nil:
		return parseInto(ctx, recs, budget, raw, id, func(ctx context.Context, emit func(envelope.Event)) error {
			_, err := envelope.ParseMsgs(ctx, m.msg, m.lim, emit)
			return err
		})
	}
	// Not an event the decoder knows: keep it whole.
	return append(recs, HistoryRecord{ID: id, Document: raw}), nil
}

// parseInto appends to recs the records of the Msgs that parse gives to
// its emit function, recs holding at most budget records in all (a
// *LimitError beyond). It parses twice, first only counting, so that the
// records are allocated once at their exact number: appending them one by
// one would allocate several times their size while the slice grows.
// The counting pass stops at the parser's next check once the budget is
// exceeded.
func parseInto(ctx context.Context, recs []HistoryRecord, budget int, raw []byte, id string,
	parse func(context.Context, func(envelope.Event)) error) ([]HistoryRecord, error) {
	n, count := len(recs), 0
	cctx, stop := context.WithCancel(ctx)
	err := parse(cctx, func(envelope.Event) {
		if count++; n+count > budget {
			stop()
		}
	})
	stop()
	if n+count > budget {
		return recs, &LimitError{LimitRecords, int64(budget)}
	}
	if err == nil {
		recs = slices.Grow(recs, count)
		err = parse(ctx, func(e envelope.Event) { recs = append(recs, recordOf(&e, "")) })
	}
	return msgRecords(recs, n, raw, id, err)
}

// msgRecords finishes the records recs[n:] of one element holding Msgs:
// the element's id goes to its only record; when the element is not an
// envelope after all, it is kept whole instead.
func msgRecords(recs []HistoryRecord, n int, raw []byte, id string, err error) ([]HistoryRecord, error) {
	switch {
	case errors.Is(err, envelope.ErrNotEnvelope):
		return append(recs[:n], HistoryRecord{ID: id, Document: raw}), nil
	case err != nil:
		return recs[:n], budgetErr(err)
	}
	if len(recs) == n+1 {
		recs[n].ID = id
	}
	return recs, nil
}

// recordOf returns the record of a parsed Msg.
func recordOf(ev *envelope.Event, id string) HistoryRecord {
	return HistoryRecord{ID: id, Topic: ev.Topic, Resource: ev.Resource, Operation: ev.Operation,
		Timestamp: ev.Timestamp, Group: ev.Group, Replay: ev.Replay, Body: ev.Body, Err: ev.Err}
}

// budgetErr turns the parser's budgets (depth, events) into the client's
// LimitError.
func budgetErr(err error) error {
	var le *xmlguard.LimitError
	if errors.As(err, &le) {
		limit := LimitDepth
		if le.Limit == envelope.LimitEvents {
			limit = LimitEvents
		}
		return fmt.Errorf("%w at byte %d of a record", &LimitError{limit, int64(le.Max)}, le.Offset)
	}
	return err
}

// jsonText returns a JSON string's value as bytes, never nil.
func jsonText(raw []byte) ([]byte, error) {
	if plainString(raw) {
		return raw[1 : len(raw)-1 : len(raw)-1], nil // nothing to unescape
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return append([]byte{}, s...), nil
}
