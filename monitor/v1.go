package monitor

// The v1 JSON API: /ws/v1/monitors/inventory. Field names come from fieldTable (fields.go); values are parsed by monitorFromFields,
// shared with the legacy API, so both APIs give identical Monitors.

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
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
// was sent. An answer 303 See Other is followed as by [Client.Create]:
// the monitor is the GET's answer, when it is a v1 monitor (the one the
// path /ws/v1/monitors/inventory/{id} it led to names, if it names one);
// otherwise the id is read as Client.Create reads it. A v1 monitor in the
// answer wins over every other place an id could be read from.
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
	return v.created(r, resp, n)
}

// created returns the monitor that resp, the answer to the create request
// r that sent the normalized spec n, reports. After a 303 See Other, resp
// is the answer to the GET of where it led. The monitor, or its id, is
// taken from the first of these that has one; later ones are not read:
//
//  1. A v1 monitor in the body (one object, or a list's first element),
//     as the server reports it, with n as its spec when the answer has none.
//     After a 303 whose path names a monitor (/ws/v1/monitors/inventory/{id}
//     or /ws/Monitor/{id}), only that monitor counts: an object for
//     another is an error, and a list without it holds none.
//  2. After a 303, whatever else the body holds or fails to decode to:
//     the id as [Client.Create] reads it (seeOtherMonitor) — the path's,
//     checked against a legacy or v1 monitor or a <location> in the body
//     when both name one — else the one in the body.
//  3. Without a 303: a body that is no v1 answer is malformed; an empty
//     one, or one that names no monitor, leaves the Location header's id.
//
// Without an id from any of them the answer is malformed, and the monitor
// may have been created all the same.
func (v V1) created(r request, resp *response, n Spec) (*Monitor, error) {
	want, _ := seeOtherID(v.c.base, resp)
	m, ok, err := decodeV1One(resp.body, want, v.c.pageSize) // ok only with a nil err
	switch {
	case ok: // 1
		fillSpec(m, n)
		return m, nil
	case resp.seeOther != nil: // 2
		id, err := seeOtherMonitor(v.c.base, resp)
		if err != nil {
			return nil, v.c.malformed(r, "status %d after 303 See Other: %v; the monitor may have been created", resp.status, err)
		}
		return &Monitor{ID: id, Spec: n}, nil
	case err != nil: // 3
		return nil, v.c.malformed(r, "%v; the monitor may have been created", err)
	}
	if id, found := locationID(resp.header.Get("Location")); found { // 3
		return &Monitor{ID: id, Spec: n}, nil
	}
	return nil, v.c.malformed(r, "status %d without a monitor id; the monitor may have been created", resp.status)
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
// error) pair and stops; breaking out of the loop stops paging. A monitor
// that an earlier page gave already is not yielded again. A server that
// repeats a cursor, sends a page without monitors but with a cursor, or a
// page of monitors all given already ends the listing with an error matching
// [ErrMalformedResponse] instead of looping; more than [WithMaxPages]
// pages end it with a [*LimitError].
func (v V1) All(ctx context.Context, q ListQuery) iter.Seq2[Monitor, error] {
	size := q.PageSize
	if size <= 0 {
		size = v.c.pageSize
	}
	return paginate(v.c.maxPages, "GET "+v1InventoryPath, monitorKey, func(cursor string) (page[Monitor], error) {
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
//
// If the answer does not report the monitor's configuration (an empty
// body, or one holding only its id and status), the returned Monitor
// carries the normalized spec that was sent: a field s leaves zero is then
// zero in it, although the server kept that field's value. [V1.Get]
// reads the monitor as the server has it.
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
