package monitor

// Calls on the legacy /ws/Monitor API. Request bodies are built in
// legacy_wire.go from fieldTable (fields.go); answers are read in
// decode.go.

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	legacyPath = "/ws/Monitor"
	acceptJSON = "application/json"
	// maxPermutedTopics bounds the topic lists for which FindByTopics asks
	// the server for every ordering (4! = 24 alternatives); longer lists are
	// matched client-side only.
	maxPermutedTopics = 4
)

func legacyIDPath(id uint32) string {
	return legacyPath + "/" + strconv.FormatUint(uint64(id), 10)
}

// specSecrets lists what of a spec must never appear in an error: the
// token, its password, and every header value.
func specSecrets(s Spec) scrubber {
	var sc scrubber
	tok := s.Token.Reveal()
	sc.add(tok)
	if _, pw, ok := strings.Cut(tok, ":"); ok {
		sc.add(pw)
	}
	for _, h := range s.Headers {
		if _, v, ok := strings.Cut(h.Reveal(), ":"); ok {
			sc.add(strings.TrimSpace(v))
		}
	}
	return sc
}

// Create creates a monitor (POST /ws/Monitor) and returns its id, read from
// the answer's <location>Monitor/N</location> or its Location header.
//
// An answer 303 See Other (the monitor was created; the Location names it)
// is followed with a GET, within the base URL's origin only (see
// [RedirectError]), and the id is read from where it led — a path
// /ws/Monitor/{id} or /ws/v1/monitors/inventory/{id} — and from the
// monitor that GET answers with, legacy or v1; the two must agree. The
// POST is never sent again after a 303: a GET that fails is reported as
// the GET's [*APIError], wrapped.
//
// s is validated first; an invalid spec returns a [*SpecError] and sends
// nothing. If the server answers 2xx without a readable id, the error
// matches [ErrMalformedResponse] and the monitor may exist nonetheless.
func (c *Client) Create(ctx context.Context, s Spec) (uint32, error) {
	n, err := s.normalize()
	if err != nil {
		return 0, err
	}
	body, err := encodeLegacy(0, n)
	if err != nil {
		return 0, fmt.Errorf("monitor: encoding spec: %w", err)
	}
	r := request{method: http.MethodPost, path: legacyPath, body: body, secrets: specSecrets(n), bodyHint: true}
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	if resp.seeOther != nil {
		id, err := seeOtherMonitor(c.base, resp)
		if err != nil {
			return 0, c.malformed(r, "status %d after 303 See Other: %v; the monitor may have been created", resp.status, err)
		}
		return id, nil
	}
	id, ok := createdID(resp)
	if !ok {
		return 0, c.malformed(r, "status %d without a monitor id in <location> or the Location header; the monitor may have been created", resp.status)
	}
	return id, nil
}

// Get returns one monitor (GET /ws/Monitor/{id}). A monitor that does not
// exist gives an error matching [ErrNotFound] (a 404, or an answer without
// that monitor).
func (c *Client) Get(ctx context.Context, id uint32) (*Monitor, error) {
	if id == 0 {
		return nil, fmt.Errorf("monitor: get: %w: 0", ErrInvalidID)
	}
	r := request{method: http.MethodGet, path: legacyIDPath(id), accept: acceptJSON}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	p, err := decodeList(resp.body, c.pageSize)
	if err != nil {
		return nil, c.malformed(r, "%v", err)
	}
	for i := range p.items {
		if p.items[i].ID == id {
			return &p.items[i], nil
		}
	}
	if p.errText != "" {
		return nil, fmt.Errorf("monitor: GET %s: %w: %s", r.path, ErrNotFound, c.secrets(r).detail(p.errText, maxMessage))
	}
	return nil, fmt.Errorf("monitor: GET %s: %w", r.path, ErrNotFound)
}

// List returns every monitor matching condition (GET /ws/Monitor), following
// pages until the server reports none remaining. The condition is passed
// as is, e.g. "monTransportType='tcp' and monStatus='INACTIVE'"; "" lists
// all. On error List returns no monitors.
func (c *Client) List(ctx context.Context, condition string) ([]Monitor, error) {
	return collect(c.All(ctx, condition))
}

// collect gathers what seq yields, or returns its first error and nothing
// else.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// All is the streaming form of [Client.List]: it fetches a page only when
// the previous one has been consumed. On failure it yields one (zero
// Monitor, error) pair and stops. Breaking out of the loop stops paging.
//
// Paging asks for start=0,size=N, then advances start by the number of
// monitors received (equal to N for a full page; never skipping monitors
// when the server caps the page size) while remainingSize > 0. A monitor
// that an earlier page gave already (a list shifting under offset paging)
// is not yielded again. A page without monitors that announces more, or
// one of monitors all given already, ends the listing with an error
// matching [ErrMalformedResponse];
// more than [WithMaxPages] pages, with a [*LimitError].
func (c *Client) All(ctx context.Context, condition string) iter.Seq2[Monitor, error] {
	return paginate(c.maxPages, "GET "+legacyPath, monitorKey, func(pos string) (page[Monitor], error) {
		start := pos
		if start == "" {
			start = "0"
		}
		q := url.Values{}
		if condition != "" {
			q.Set("condition", condition)
		}
		q.Set("start", start)
		q.Set("size", strconv.Itoa(c.pageSize))
		r := request{method: http.MethodGet, path: legacyPath, query: q, accept: acceptJSON}
		resp, err := c.do(ctx, r)
		if err != nil {
			return page[Monitor]{}, err
		}
		p, err := decodeList(resp.body, c.pageSize)
		if err != nil {
			return page[Monitor]{}, c.malformed(r, "%v", err)
		}
		if p.errText != "" && len(p.items) == 0 {
			return page[Monitor]{}, c.malformed(r, "status %d with error %q", resp.status, p.errText)
		}
		out := page[Monitor]{items: p.items}
		if p.remaining > 0 {
			n, _ := strconv.ParseInt(start, 10, 64) // written above
			out.next = strconv.FormatInt(n+int64(len(p.items)), 10)
		}
		return out, nil
	})
}

// FindByTopics returns the monitors whose topic list equals topics, ignoring
// order and surrounding spaces — what the Python library's
// get_monitor(topics) looked for, but every match rather than the first.
// "DeviceCore" does not match a monitor on "DeviceCore,DataPoint".
//
// The server is asked with [TopicCondition] and every answer is checked
// again client-side. If the server rejects that condition with 400 (it
// uses "or", which not every implementation supports), FindByTopics lists
// all monitors instead and relies on the client-side match. No match is
// not an error: the result is empty. An empty topic list returns a
// [*SpecError].
func (c *Client) FindByTopics(ctx context.Context, topics []string) ([]Monitor, error) {
	want, err := normalizeTopics(topics)
	if err != nil {
		return nil, err
	}
	cond := topicCondition(want)
	out, err := c.findTopics(ctx, cond, want)
	if err != nil && strings.Contains(cond, " or ") && errors.Is(err, ErrBadRequest) {
		// A server (or simulator) without "or" conditions: list everything
		// and rely on the client-side match.
		out, err = c.findTopics(ctx, "", want)
	}
	return out, err
}

func (c *Client) findTopics(ctx context.Context, cond string, want []string) ([]Monitor, error) {
	var out []Monitor
	for m, err := range c.All(ctx, cond) {
		if err != nil {
			return nil, err
		}
		if sameTopics(m.Topics, want) {
			out = append(out, m)
		}
	}
	return out, nil
}

// TopicCondition returns the list condition [Client.FindByTopics] sends for
// topics: monTopic equal to the comma-joined topics in any order
// ("monTopic='A,B' or monTopic='B,A'"), single quotes doubled. For more
// than four topics it returns "" (the server lists all monitors and the
// client filters). Invalid topics return a [*SpecError].
func TopicCondition(topics []string) (string, error) {
	want, err := normalizeTopics(topics)
	if err != nil {
		return "", err
	}
	return topicCondition(want), nil
}

func topicCondition(topics []string) string {
	if len(topics) > maxPermutedTopics {
		return ""
	}
	perm := slices.Clone(topics)
	slices.Sort(perm)
	var terms []string
	for {
		terms = append(terms, "monTopic='"+strings.ReplaceAll(strings.Join(perm, ","), "'", "''")+"'")
		if !nextPermutation(perm) {
			break
		}
	}
	return strings.Join(terms, " or ")
}

// nextPermutation rearranges s into the next lexicographic permutation and
// reports whether there was one; repeated elements yield each distinct
// arrangement once.
func nextPermutation(s []string) bool {
	i := len(s) - 2
	for i >= 0 && s[i] >= s[i+1] {
		i--
	}
	if i < 0 {
		return false
	}
	j := len(s) - 1
	for s[j] <= s[i] {
		j--
	}
	s[i], s[j] = s[j], s[i]
	slices.Reverse(s[i+1:])
	return true
}

// Update replaces monitor id's configuration with s (PUT /ws/Monitor/{id}).
// Every set field of s is sent, and Persistent always; zero fields are
// left out, so the legacy API cannot clear a field (to change a few
// fields, Get the monitor, edit its Spec and Update with it). s is
// validated first. Like any PUT, it resets the monitor's state.
func (c *Client) Update(ctx context.Context, id uint32, s Spec) error {
	if id == 0 {
		return fmt.Errorf("monitor: update: %w: 0", ErrInvalidID)
	}
	n, err := s.normalize()
	if err != nil {
		return err
	}
	body, err := encodeLegacy(id, n)
	if err != nil {
		return fmt.Errorf("monitor: encoding spec: %w", err)
	}
	_, err = c.do(ctx, request{method: http.MethodPut, path: legacyIDPath(id), body: body, secrets: specSecrets(n)})
	return err
}

// Reset "kicks" monitor id: it PUTs the bare <Monitor><monId>id</monId></Monitor>,
// which resets the monitor's state without changing its configuration —
// the way to revive an INACTIVE, backed-off or DISABLED monitor.
func (c *Client) Reset(ctx context.Context, id uint32) error {
	if id == 0 {
		return fmt.Errorf("monitor: reset: %w: 0", ErrInvalidID)
	}
	_, err := c.do(ctx, request{method: http.MethodPut, path: legacyIDPath(id), body: encodeReset(id)})
	return err
}

// Delete deletes monitor id (DELETE /ws/Monitor/{id}). Deleting a monitor
// that does not exist is an error (matching [ErrNotFound] if the server
// answers 404).
func (c *Client) Delete(ctx context.Context, id uint32) error {
	if id == 0 {
		return fmt.Errorf("monitor: delete: %w: 0", ErrInvalidID)
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: legacyIDPath(id)})
	return err
}
