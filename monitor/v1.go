package monitor

// The v1 JSON API: /ws/v1/monitors/inventory. Field names come from fieldTable (fields.go); values are parsed by monitorFromFields,
// shared with the legacy API, so both APIs give identical Monitors.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	v1InventoryPath = "/ws/v1/monitors/inventory"
	contentTypeJSON = "application/json; charset=utf-8"
)

func v1IDPath(id uint32) string {
	return v1InventoryPath + "/" + strconv.FormatUint(uint64(id), 10)
}

// V1 is the v1 JSON monitor API (/ws/v1/monitors/inventory) of a [Client]:
// the same account, HTTP client, retries and error types, and the same
// [Spec] and [Monitor] types as the legacy API — a monitor created through
// one API reads back identically through the other (see [FieldMappings]).
//
// A V1 is a small value bound to its Client; it is safe for concurrent use
// like the Client.
type V1 struct{ c *Client }

// V1 returns the v1 JSON API of c.
func (c *Client) V1() V1 { return V1{c} }

// ListQuery selects and orders monitors in [V1.List].
type ListQuery struct {
	// Query is the v1 query language, e.g. "type='http' and
	// status='DISABLED'" or "topics contains 'DataPoint'"; "" lists all.
	// It is passed to the server as is.
	Query string
	// OrderBy is e.g. "id desc"; "" is the server's order.
	OrderBy string
	// PageSize is how many monitors one request asks for; 0 means the
	// client's page size ([WithPageSize], default [DefaultPageSize]).
	PageSize int
}

// Create creates a monitor (POST /ws/v1/monitors/inventory) and returns it
// as the server reports it. s is validated first; an invalid spec returns
// a [*SpecError] and sends nothing. If the answer holds only the new id
// (in its body or, when the body is empty or names no monitor, in the
// Location header), the returned Monitor carries the normalized spec that
// was sent.
//
// Handlebars templates: set SchemaType "handlebars" and Schema to the
// template; the monitor's events are then delivered as the template
// renders them (raw, see stream.Event.Raw).
func (v V1) Create(ctx context.Context, s Spec) (*Monitor, error) {
	n, err := s.normalize()
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPost, path: v1InventoryPath, body: encodeV1(n), ctype: contentTypeJSON,
		accept: acceptJSON, secrets: specSecrets(n)}
	resp, err := v.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	m, ok, err := decodeV1One(resp.body, 0, v.c.pageSize)
	switch {
	case err != nil:
		return nil, v.c.malformed(r, "%v; the monitor may have been created", err)
	case !ok:
		if id, found := locationID(resp.header.Get("Location")); found {
			return &Monitor{ID: id, Spec: n}, nil
		}
		return nil, v.c.malformed(r, "status %d without a monitor id; the monitor may have been created", resp.status)
	}
	fillSpec(m, n)
	return m, nil
}

// fillSpec gives m the spec that was sent when the answer carried nothing
// but ids and status.
func fillSpec(m *Monitor, n Spec) {
	if len(m.Topics) == 0 {
		st, id, cst, lc, ls, lu := m.Status, m.ID, m.CustomerID, m.LastConnect, m.LastSent, m.LastSentUUID
		*m = Monitor{ID: id, CustomerID: cst, Spec: n, Status: st, LastConnect: lc, LastSent: ls, LastSentUUID: lu}
	}
}

// Get returns one monitor (GET /ws/v1/monitors/inventory/{id}). A monitor
// that does not exist gives an error matching [ErrNotFound].
func (v V1) Get(ctx context.Context, id uint32) (*Monitor, error) {
	if id == 0 {
		return nil, fmt.Errorf("monitor: get: %w: 0", ErrInvalidID)
	}
	r := request{method: http.MethodGet, path: v1IDPath(id), accept: acceptJSON}
	resp, err := v.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	m, ok, err := decodeV1One(resp.body, id, v.c.pageSize)
	switch {
	case err != nil:
		return nil, v.c.malformed(r, "%v", err)
	case !ok && firstByte(resp.body) == 0:
		return nil, v.c.malformed(r, "empty answer")
	case !ok:
		return nil, fmt.Errorf("monitor: GET %s: %w", r.path, ErrNotFound)
	}
	return m, nil
}

// List returns every monitor matching q, following the server's cursor
// from page to page. On error it returns no monitors.
func (v V1) List(ctx context.Context, q ListQuery) ([]Monitor, error) {
	return collect(v.All(ctx, q))
}

// All is the streaming form of [V1.List]: it fetches a page only when the
// previous one has been consumed. On failure it yields one (zero Monitor,
// error) pair and stops; breaking out of the loop stops paging. A server
// that repeats a cursor, sends a page without monitors but with a cursor,
// or repeats the previous page ends the listing with an error matching
// [ErrMalformedResponse] instead of looping; more than [WithMaxPages]
// pages end it with a [*LimitError].
func (v V1) All(ctx context.Context, q ListQuery) iter.Seq2[Monitor, error] {
	size := q.PageSize
	if size <= 0 {
		size = v.c.pageSize
	}
	return paginate(v.c.maxPages, "GET "+v1InventoryPath, monitorID, func(cursor string) (page[Monitor], error) {
		qv := url.Values{}
		if q.Query != "" {
			qv.Set("query", q.Query)
		}
		if q.OrderBy != "" {
			qv.Set("orderby", q.OrderBy)
		}
		qv.Set("size", strconv.Itoa(size))
		if cursor != "" {
			qv.Set("cursor", cursor)
		}
		r := request{method: http.MethodGet, path: v1InventoryPath, query: qv, accept: acceptJSON}
		resp, err := v.c.do(ctx, r)
		if err != nil {
			return page[Monitor]{}, err
		}
		p, err := decodeV1List(resp.body, size)
		if err != nil {
			return page[Monitor]{}, v.c.malformed(r, "%v", err)
		}
		return page[Monitor]{items: p.items, next: p.cursor}, nil
	})
}

// Update changes monitor id (PUT /ws/v1/monitors/inventory/{id}) and
// returns it as the server reports it. As with the legacy API, every set
// field of s is sent, and Persistent always; zero fields are left out. s
// is validated first. Any PUT resets the monitor's state.
func (v V1) Update(ctx context.Context, id uint32, s Spec) (*Monitor, error) {
	if id == 0 {
		return nil, fmt.Errorf("monitor: update: %w: 0", ErrInvalidID)
	}
	n, err := s.normalize()
	if err != nil {
		return nil, err
	}
	r := request{method: http.MethodPut, path: v1IDPath(id), body: encodeV1(n), ctype: contentTypeJSON,
		accept: acceptJSON, secrets: specSecrets(n)}
	resp, err := v.c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	m, ok, err := decodeV1One(resp.body, id, v.c.pageSize)
	if err != nil {
		return nil, v.c.malformed(r, "%v", err)
	}
	if !ok {
		return &Monitor{ID: id, Spec: n}, nil
	}
	fillSpec(m, n)
	return m, nil
}

// Delete deletes monitor id (DELETE /ws/v1/monitors/inventory/{id}).
func (v V1) Delete(ctx context.Context, id uint32) error {
	if id == 0 {
		return fmt.Errorf("monitor: delete: %w: 0", ErrInvalidID)
	}
	_, err := v.c.do(ctx, request{method: http.MethodDelete, path: v1IDPath(id), accept: acceptJSON})
	return err
}

// Reset re-enables monitor id (…/inventory/{id}/reset), typically an http
// monitor that the server DISABLED after 24 h of failed pushes. It sends
// POST and, if the server answers 405 Method Not Allowed, PUT (the method
// is not documented).
func (v V1) Reset(ctx context.Context, id uint32) error {
	if id == 0 {
		return fmt.Errorf("monitor: reset: %w: 0", ErrInvalidID)
	}
	path := v1IDPath(id) + "/reset"
	_, err := v.c.do(ctx, request{method: http.MethodPost, path: path, accept: acceptJSON})
	var ae *APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusMethodNotAllowed {
		_, err = v.c.do(ctx, request{method: http.MethodPut, path: path, accept: acceptJSON})
	}
	return err
}

// --- wire -------------------------------------------------------------

// encodeV1 renders a normalized spec as a v1 JSON object, fields in table
// order.
func encodeV1(s Spec) []byte {
	b := []byte{'{'}
	for i, ft := range specText(&s) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, ft.def.V1)
		b = append(b, ':')
		switch ft.def.kind {
		case kindNumber, kindBool:
			b = append(b, ft.text...) // validated decimal or true/false
		case kindList:
			b = appendJSON(b, splitTopics(ft.text))
		case kindLines:
			b = appendJSON(b, strings.Split(ft.text, "\n"))
		default:
			b = appendJSON(b, ft.text)
		}
	}
	return append(b, '}')
}

func appendJSON(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings and []string always encode
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// v1Page is one decoded list answer.
type v1Page struct {
	items  []Monitor
	cursor string
}

// decodeV1List decodes the v1 list answer {"count":…,"size":…,"cursor":…,
// "next_uri":…,"list":[…]} ("items" is accepted as well as "list"),
// reading its monitors one at a time and at most maxItems of them.
func decodeV1List(body []byte, maxItems int) (v1Page, error) {
	if firstByte(body) != '{' {
		return v1Page{}, errors.New("not a JSON object")
	}
	var p v1Page
	err := walkObject(trimBody(body), func(key string, dec *json.Decoder) error {
		if strings.EqualFold(key, "list") || strings.EqualFold(key, "items") {
			return eachElement(dec, func(_ int, raw json.RawMessage) error {
				if len(p.items) == maxItems {
					return errTooManyItems(maxItems)
				}
				m, err := decodeV1Monitor(raw)
				if err != nil {
					return fmt.Errorf("list[%d]: %w", len(p.items), err)
				}
				p.items = append(p.items, m)
				return nil
			})
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if strings.EqualFold(key, "cursor") {
			cur, err := jsonScalar(raw)
			if err != nil {
				return fmt.Errorf("cursor: %v", err)
			}
			p.cursor = cur
		}
		return nil
	})
	if err != nil {
		return v1Page{}, fmt.Errorf("JSON: %w", err)
	}
	return p, nil
}

// decodeV1One decodes a single-monitor answer: the monitor object itself,
// or a list envelope holding it (want 0: the first). ok is false when the
// answer names no such monitor, an empty body included.
func decodeV1One(body []byte, want uint32, maxItems int) (*Monitor, bool, error) {
	switch firstByte(body) {
	case 0:
		return nil, false, nil
	case '{':
	default:
		return nil, false, errors.New("not a JSON object")
	}
	probe, err := decodeObject(trimBody(body))
	if err != nil {
		return nil, false, fmt.Errorf("JSON: %w", err)
	}
	_, hasList := probe["list"]
	_, hasItems := probe["items"]
	if _, hasID := probe["id"]; !hasID && (hasList || hasItems) {
		p, err := decodeV1List(body, maxItems)
		if err != nil {
			return nil, false, err
		}
		for i := range p.items {
			if want == 0 || p.items[i].ID == want {
				return &p.items[i], true, nil
			}
		}
		return nil, false, nil
	}
	if _, hasID := probe["id"]; !hasID {
		return nil, false, nil
	}
	m, err := decodeV1Monitor(trimBody(body))
	if err != nil {
		return nil, false, err
	}
	if want != 0 && m.ID != want {
		return nil, false, fmt.Errorf("answer is for monitor %d, not %d", m.ID, want)
	}
	return &m, true, nil
}

// decodeV1Monitor translates a v1 monitor object to legacy element text
// through fieldTable and parses it like a legacy answer. Unknown fields are
// ignored.
func decodeV1Monitor(raw json.RawMessage) (Monitor, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor object: %w", err)
	}
	f := make(map[string]string, len(obj))
	for i := range fieldTable {
		d := &fieldTable[i]
		v, ok := obj[d.V1]
		if !ok {
			continue
		}
		text, err := v1Text(v, d.kind)
		if err != nil {
			return Monitor{}, fmt.Errorf("%s: %w", d.V1, err)
		}
		f[d.Legacy] = text
	}
	return monitorFromFields(f)
}

// v1Text turns a v1 JSON value into the legacy element text of its kind.
// Lists may come as arrays or as already-joined strings; headers also as an
// object of name → value.
func v1Text(raw json.RawMessage, k fieldKind) (string, error) {
	raw = bytes.TrimSpace(raw)
	if k == kindList || k == kindLines {
		sep := ","
		if k == kindLines {
			sep = "\n"
		}
		switch firstByte(raw) {
		case '[':
			if err := checkElements(raw, maxValues, LimitValues); err != nil {
				return "", err
			}
			var items []any
			if err := json.Unmarshal(raw, &items); err != nil {
				return "", err
			}
			parts := make([]string, 0, len(items))
			for _, it := range items {
				switch it := it.(type) {
				case string:
					parts = append(parts, it)
				case float64, bool:
					parts = append(parts, fmt.Sprint(it))
				default:
					return "", fmt.Errorf("array element of type %T", it)
				}
			}
			return strings.Join(parts, sep), nil
		case '{':
			if k != kindLines {
				return "", errors.New("unexpected JSON object")
			}
			if err := checkMembers(raw, maxValues, LimitValues); err != nil {
				return "", err
			}
			var hs map[string]string
			if err := json.Unmarshal(raw, &hs); err != nil {
				return "", err
			}
			var lines []string
			for _, name := range slices.Sorted(maps.Keys(hs)) {
				lines = append(lines, name+": "+hs[name])
			}
			return strings.Join(lines, "\n"), nil
		}
	}
	return jsonScalar(raw)
}
