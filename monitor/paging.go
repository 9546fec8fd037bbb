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
// next page starts ("" after the last page). held, when not 0, is how
// many elements the page held, which may give fewer items (a history
// element holding no event).
type page[T any] struct {
	items []T
	next  string
	held  int
}

// paginate yields the items of the pages fetch returns, asking for the
// first page with position "" and for each next one with the position the
// previous page gave. key gives an item's identity (the server's id), or
// false for an item that has none; a nil key gives none. An item whose
// identity the listing yielded already, among the last recentKeys ones,
// is skipped: pages that overlap (a list shifting under offset paging)
// give each item once. A page is checked before its items are yielded; a
// listing fails, with an error matching [ErrMalformedResponse], on
//
//   - a page without items (and that held none) that announces another
//     one (no progress);
//   - a page whose items all have an identity and were all yielded
//     already (the same page again, or a cycle of pages);
//   - a position it already had (a cursor loop), or one longer than
//     maxCursor ([*LimitError]);
//
// and after maxPages pages that announce another one with a [*LimitError]
// for [LimitPages]. Memory: 8 bytes per page for the positions seen (a
// seeded 64-bit hash of each: two different positions are taken for one
// with a chance of about 2⁻⁴⁵ in a listing of a million pages), and the
// identities of the last recentKeys items (two different items are taken
// for one with a chance of 2⁻⁶⁴ when key hashes). what names the listing
// in errors ("GET /ws/Monitor").
func paginate[T any](maxPages int, what string, key func(T) (uint64, bool), fetch func(pos string) (page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		fail := func(err error) { yield(zero, err) }
		malformed := func(format string, args ...any) {
			fail(fmt.Errorf("monitor: %s: %w: %s", what, ErrMalformedResponse, fmt.Sprintf(format, args...)))
		}
		seed := maphash.MakeSeed()
		seen := make(map[uint64]struct{})
		var listed recent
		pos := ""
		for n := 1; ; n++ {
			p, err := fetch(pos)
			if err != nil {
				fail(err)
				return
			}
			if key != nil && n > 1 && len(p.items) > 0 && allListed(p.items, key, &listed) {
				malformed("page %d repeats items the listing gave already", n)
				return
			}
			if p.next != "" {
				switch {
				case len(p.items) == 0 && p.held == 0:
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
				if key != nil {
					if k, ok := key(it); ok {
						if listed.has(k) {
							continue // on an earlier page already
						}
						listed.add(k)
					}
				}
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

// allListed reports whether every item has a key and was listed.
func allListed[T any](items []T, key func(T) (uint64, bool), listed *recent) bool {
	for _, it := range items {
		k, ok := key(it)
		if !ok || !listed.has(k) {
			return false
		}
	}
	return true
}

// recentKeys is how many item identities a listing remembers: a window
// far wider than a page (at most 1000 items), about 2 MiB at most.
const recentKeys = 1 << 16

// recent is the set of the last recentKeys keys added. The zero value is
// empty; it allocates with the first key.
type recent struct {
	ring []uint64
	next int // where the next key goes in ring, once ring is full
	set  map[uint64]int32
}

func (r *recent) has(k uint64) bool { return r.set[k] > 0 }

func (r *recent) add(k uint64) {
	if r.set == nil {
		r.set = make(map[uint64]int32)
	}
	if len(r.ring) < recentKeys {
		r.ring = append(r.ring, k)
	} else {
		old := r.ring[r.next]
		if r.set[old]--; r.set[old] <= 0 {
			delete(r.set, old)
		}
		r.ring[r.next] = k
		r.next = (r.next + 1) % recentKeys
	}
	r.set[k]++
}

// monitorKey is a monitor's identity for the paging check: its id.
func monitorKey(m Monitor) (uint64, bool) { return uint64(m.ID), true }
