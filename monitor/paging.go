package monitor

// One paging loop for every listing: it follows the server's next-page
// position and stops a listing that makes no progress, however the server
// answers.

import (
	"fmt"
	"hash/maphash"
	"iter"
)

const (
	// DefaultMaxPages is how many pages one listing follows at most
	// unless [WithMaxPages] says otherwise: a million monitors at the
	// default page size.
	DefaultMaxPages = 1000
	// maxCursor bounds a paging cursor: it goes back in a query string.
	maxCursor = 4096
)

// WithMaxPages bounds how many pages one listing ([Client.List],
// [Client.All], [Client.FindByTopics], [Client.History], [V1.List],
// [V1.All]) follows; one more page ends it with a [*LimitError] for
// [LimitPages], after the items of the first n pages. Values below 1 keep
// [DefaultMaxPages].
func WithMaxPages(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxPages = n
		}
	}
}

// page is one fetched page: its items in the server's order and where the
// next page starts ("" after the last page).
type page[T any] struct {
	items []T
	next  string
}

// paginate yields the items of the pages fetch returns, asking for the
// first page with position "" and for each next one with the position the
// previous page gave. A page is checked before its items are yielded; a
// listing fails, with an error matching [ErrMalformedResponse], on
//
//   - a page without items that announces another one (no progress);
//   - a page whose items all were on the previous page (key gives an
//     item's identity, or false for an item that has none, which exempts
//     its page from this check; a nil key skips it always);
//   - a position it already had (a cursor loop), or one longer than
//     maxCursor ([*LimitError]);
//
// and after maxPages pages that announce another one with a [*LimitError]
// for [LimitPages]. Memory: the keys of one page (two different items are
// taken for one with a chance of 2⁻⁶⁴ when key hashes), and 8 bytes per page for
// the positions seen (a seeded 64-bit hash of each: two different
// positions are taken for one with a chance of about 2⁻⁴⁵ in a listing of
// a million pages). what names the listing in errors ("GET /ws/Monitor").
func paginate[T any](maxPages int, what string, key func(T) (uint64, bool), fetch func(pos string) (page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		fail := func(err error) { yield(zero, err) }
		malformed := func(format string, args ...any) {
			fail(fmt.Errorf("monitor: %s: %w: %s", what, ErrMalformedResponse, fmt.Sprintf(format, args...)))
		}
		seed := maphash.MakeSeed()
		seen := make(map[uint64]struct{})
		var prev map[uint64]struct{}
		pos := ""
		for n := 1; ; n++ {
			p, err := fetch(pos)
			if err != nil {
				fail(err)
				return
			}
			if key != nil && prev != nil && len(p.items) > 0 && allSeen(p.items, key, prev) {
				malformed("page %d repeats the items of page %d", n, n-1)
				return
			}
			if key != nil {
				prev = keys(p.items, key)
			}
			if p.next != "" {
				switch {
				case len(p.items) == 0:
					malformed("page %d has no items but announces another", n)
					return
				case len(p.next) > maxCursor:
					fail(fmt.Errorf("monitor: %s: page %d: %w", what, n, &LimitError{LimitCursor, maxCursor}))
					return
				}
				h := maphash.String(seed, p.next)
				if _, dup := seen[h]; dup {
					malformed("page %d gives a next-page cursor the listing already had", n)
					return
				}
				seen[h] = struct{}{}
			}
			for _, it := range p.items {
				if !yield(it, nil) {
					return
				}
			}
			if p.next == "" {
				return
			}
			if n >= maxPages {
				fail(fmt.Errorf("monitor: %s: %w", what, &LimitError{LimitPages, int64(maxPages)}))
				return
			}
			pos = p.next
		}
	}
}

// keys returns the keys of the items that have one.
func keys[T any](items []T, key func(T) (uint64, bool)) map[uint64]struct{} {
	m := make(map[uint64]struct{}, len(items))
	for _, it := range items {
		if k, ok := key(it); ok {
			m[k] = struct{}{}
		}
	}
	return m
}

// allSeen reports whether every item has a key and was in prev.
func allSeen[T any](items []T, key func(T) (uint64, bool), prev map[uint64]struct{}) bool {
	for _, it := range items {
		k, ok := key(it)
		if !ok {
			return false
		}
		if _, ok := prev[k]; !ok {
			return false
		}
	}
	return true
}

// monitorKey is a monitor's identity for the paging check: its id.
func monitorKey(m Monitor) (uint64, bool) { return uint64(m.ID), true }
