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
)

// endlessLegacy answers every list request with a full page of monitors
// and remainingSize 1; fresh monitors (ids from start) unless same.
func endlessLegacy(calls *atomic.Int32, same bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		if same {
			start = 0
		}
		items := []item{{"monId": strconv.Itoa(start + 1)}, {"monId": strconv.Itoa(start + 2)}}
		writeJSON(w, 200, map[string]any{"remainingSize": "1", "items": items})
	})
}

func TestLegacyPagingIgnoringStartIsAnError(t *testing.T) {
	var calls atomic.Int32
	c := inMemoryClient(endlessLegacy(&calls, true), WithPageSize(2))
	ms, err := c.List(context.Background(), "")
	if !errors.Is(err, ErrMalformedResponse) || ms != nil || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("List = %v, %v; want nil and a repeated-page error", ms, err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	// The streaming form yields the first page, never the repeated one.
	var ids []uint32
	for m, err := range c.All(context.Background(), "") {
		if err != nil {
			break
		}
		ids = append(ids, m.ID)
	}
	if fmt.Sprint(ids) != "[1 2]" {
		t.Errorf("All yielded %v, want [1 2]", ids)
	}
}

func TestLegacyPagingPageCap(t *testing.T) {
	var calls atomic.Int32
	c := inMemoryClient(endlessLegacy(&calls, false), WithPageSize(2), WithMaxPages(5))
	n := 0
	var last error
	for _, err := range c.All(context.Background(), "") {
		if err != nil {
			last = err
			break
		}
		n++
	}
	var le *LimitError
	if !errors.As(last, &le) || le.Limit != LimitPages || le.Max != 5 || !errors.Is(last, ErrLimitExceeded) {
		t.Fatalf("err = %v, want a pages *LimitError", last)
	}
	if errors.Is(last, ErrMalformedResponse) {
		t.Error("a long listing is not a malformed answer")
	}
	if n != 10 || calls.Load() != 5 {
		t.Errorf("%d monitors in %d requests, want 10 in 5", n, calls.Load())
	}
	// FindByTopics, which the CLI calls at start-up, ends the same way.
	calls.Store(0)
	if _, err := c.FindByTopics(context.Background(), []string{"DataPoint"}); !errors.Is(err, ErrLimitExceeded) || calls.Load() != 5 {
		t.Errorf("FindByTopics: %v after %d requests", err, calls.Load())
	}
}

func TestPagingDefaultPageCap(t *testing.T) {
	var calls atomic.Int32
	c := inMemoryClient(endlessLegacy(&calls, false), WithMaxPages(0))
	_, err := c.List(context.Background(), "")
	if !errors.Is(err, ErrLimitExceeded) || calls.Load() != DefaultMaxPages {
		t.Errorf("List: %v after %d requests, want a limit after %d", err, calls.Load(), DefaultMaxPages)
	}
}

// v1 answers each page from a script keyed by the request's cursor.
type v1Script map[string]map[string]any

func (s v1Script) handler(calls *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		ans, ok := s[r.URL.Query().Get("cursor")]
		if !ok {
			writeJSON(w, 400, map[string]any{"error_message": "unknown cursor"})
			return
		}
		writeJSON(w, 200, ans)
	})
}

func v1Items(ids ...int) []any {
	var out []any
	for _, id := range ids {
		out = append(out, map[string]any{"id": id})
	}
	return out
}

func TestV1PagingWithoutProgress(t *testing.T) {
	long := strings.Repeat("c", maxCursor+1)
	for name, tc := range map[string]struct {
		script v1Script
		calls  int32
		want   string
		limit  string
	}{
		"cursor loop": {v1Script{
			"":  {"list": v1Items(1), "cursor": "a"},
			"a": {"list": v1Items(2), "cursor": "b"},
			"b": {"list": v1Items(3), "cursor": "a"},
		}, 3, "already had", ""},
		"empty page with a cursor": {v1Script{"": {"list": []any{}, "cursor": "a"}}, 1, "no items", ""},
		"new cursors, same items": {v1Script{
			"":  {"list": v1Items(1, 2), "cursor": "a"},
			"a": {"list": v1Items(2, 1), "cursor": "b"},
		}, 2, "repeats", ""},
		"cursor too long": {v1Script{"": {"list": v1Items(1), "cursor": long}}, 1, "", LimitCursor},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			ms, err := inMemoryClient(tc.script.handler(&calls)).V1().List(context.Background(), ListQuery{})
			if !errors.Is(err, ErrMalformedResponse) || ms != nil {
				t.Fatalf("List = %v, %v", ms, err)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			var le *LimitError
			if tc.limit != "" && (!errors.As(err, &le) || le.Limit != tc.limit) {
				t.Errorf("err = %v, want a %s limit", err, tc.limit)
			}
			if n := calls.Load(); n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
		})
	}
}

func TestV1PagingPageCap(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		writeJSON(w, 200, map[string]any{"list": v1Items(n), "cursor": "c" + strconv.Itoa(n)})
	})
	_, err := inMemoryClient(h, WithMaxPages(7)).V1().List(context.Background(), ListQuery{})
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitPages || calls.Load() != 7 {
		t.Errorf("err = %v after %d requests, want a pages limit after 7", err, calls.Load())
	}
}

// TestHistoryPagingIsBounded: History is a listing like the others: a
// server handing out ever new cursors ends it after WithMaxPages pages, a
// cursor too long to send back after one, a cursor loop as soon as it
// closes; the error never quotes the cursor. A guard refuses requests
// past 50 so that an unbounded loop fails rather than hangs.
func TestHistoryPagingIsBounded(t *testing.T) {
	record := func(n int) []any {
		return []any{map[string]any{"topic": "1/DataPoint/d", "DataPoint": map[string]any{"n": n}}}
	}
	long := strings.Repeat("c", maxCursor+1)
	for name, tc := range map[string]struct {
		cursor  func(n int) string
		calls   int32
		records int
		limit   string
		want    error
	}{
		"new cursors":     {func(n int) string { return "c" + strconv.Itoa(n) }, 5, 5, LimitPages, ErrLimitExceeded},
		"cursor too long": {func(int) string { return long }, 1, 0, LimitCursor, ErrMalformedResponse},
		"cursor loop":     {func(n int) string { return "c" + strconv.Itoa(n%3) }, 4, 3, "", ErrMalformedResponse},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if n > 50 {
					writeJSON(w, 400, map[string]any{"error_message": "guard: too many requests"})
					return
				}
				writeJSON(w, 200, map[string]any{"list": record(n), "cursor": tc.cursor(n)})
			})
			c := inMemoryClient(h, WithMaxPages(5))
			records := 0
			var last error
			for _, err := range c.History(context.Background(), 7, time.Time{}, time.Time{}) {
				if err != nil {
					last = err
					break
				}
				records++
			}
			if !errors.Is(last, tc.want) || calls.Load() != tc.calls || records != tc.records {
				t.Fatalf("%d records in %d requests, then %v; want %d in %d, then %v", records, calls.Load(), last, tc.records, tc.calls, tc.want)
			}
			var le *LimitError
			if tc.limit != "" && (!errors.As(last, &le) || le.Limit != tc.limit) {
				t.Errorf("err = %v, want a %s limit", last, tc.limit)
			}
			if len(last.Error()) > 300 || strings.Contains(last.Error(), "c1") {
				t.Errorf("the error quotes the server's cursor: %.400s", last)
			}
		})
	}
}

// TestPagingOverlapYieldsEachItemOnce: pages that overlap (a list shifting
// under offset paging) give each item once, in every listing; a page of
// items all given already, even pages back (a cycle under fresh cursors),
// ends the listing as malformed.
func TestPagingOverlapYieldsEachItemOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		script v1Script
		want   string // the ids yielded
		err    error
	}{
		"overlapping pages": {v1Script{
			"":  {"list": v1Items(1, 2), "cursor": "a"},
			"a": {"list": v1Items(2, 3), "cursor": "b"},
			"b": {"list": v1Items(3, 4, 4)},
		}, "[1 2 3 4]", nil},
		"a cycle of pages": {v1Script{
			"":  {"list": v1Items(1, 2), "cursor": "a"},
			"a": {"list": v1Items(3), "cursor": "b"},
			"b": {"list": v1Items(2, 1), "cursor": "c"},
			"c": {"list": v1Items(5)},
		}, "[1 2 3]", ErrMalformedResponse},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			var ids []uint32
			var last error
			for m, err := range inMemoryClient(tc.script.handler(&calls)).V1().All(context.Background(), ListQuery{}) {
				if err != nil {
					last = err
					break
				}
				ids = append(ids, m.ID)
			}
			if fmt.Sprint(ids) != tc.want || !errors.Is(last, tc.err) || (tc.err == nil) != (last == nil) {
				t.Errorf("All yielded %v, then %v; want %s, then %v", ids, last, tc.want, tc.err)
			}
			// History pages by the record ids the same way.
			calls.Store(0)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				ans := tc.script[r.URL.Query().Get("cursor")]
				var list []any
				for _, it := range ans["list"].([]any) {
					id := it.(map[string]any)["id"].(int)
					list = append(list, map[string]any{"id": "r" + strconv.Itoa(id), "topic": "1/DataPoint/d",
						"DataPoint": map[string]any{"n": id}})
				}
				ans = map[string]any{"list": list, "cursor": ans["cursor"]}
				writeJSON(w, 200, ans)
			})
			var recs []string
			last = nil
			for rec, err := range inMemoryClient(h).History(context.Background(), 7, time.Time{}, time.Time{}) {
				if err != nil {
					last = err
					break
				}
				recs = append(recs, strings.TrimPrefix(rec.ID, "r"))
			}
			if got := "[" + strings.Join(recs, " ") + "]"; got != tc.want || !errors.Is(last, tc.err) || (tc.err == nil) != (last == nil) {
				t.Errorf("History yielded %s, then %v; want %s, then %v", got, last, tc.want, tc.err)
			}
		})
	}
}

// TestRecentKeysWindow: a listing remembers exactly its last recentKeys
// identities, a key added twice until both are gone.
func TestRecentKeysWindow(t *testing.T) {
	var r recent
	r.add(0) // twice: once now, once as the newest below
	for k := uint64(1); k <= recentKeys+9; k++ {
		r.add(k)
	}
	r.add(0)
	for k := uint64(1); k <= recentKeys+9; k++ {
		if want := k > 10; r.has(k) != want {
			t.Fatalf("has(%d) = %v, want %v", k, !want, want)
		}
	}
	if !r.has(0) || len(r.set) != recentKeys || len(r.ring) != recentKeys {
		t.Errorf("has(0) %v, %d keys in the set, ring of %d", r.has(0), len(r.set), len(r.ring))
	}
}
