package stream

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/pushmon/pushmon/internal/envelope"
)

// dedup remembers the identities of the last n delivered events (an
// identity delivered twice takes two of the n places), to
// remove replays of them: see [Config.DedupWindow] for which events are
// checked. Its methods are safe for concurrent use (a session's reader and
// Batch.Ack, an HTTP receiver's requests) and do nothing on a nil *dedup
// (dedup disabled); seen and add require mu.
//
// The window is a ring of the last n identities. The set that answers
// seen is built from the ring only when a check needs it (after a
// reconnect, for a replay), and dropped again once a whole window of
// identities has been added without a check: in steady state an identity
// costs one ring slot, not two random accesses to a table of megabytes.
type dedup struct {
	mu      sync.Mutex
	n       int
	ring    []uint64 // the last n identities added, oldest at next once full
	next    int
	set     idSet          // while indexed: the ring's identities
	extra   map[uint64]int // while indexed: their further occurrences in the ring (rare)
	indexed bool
	quiet   int // identities added since the last seen, while indexed
	seed    maphash.Seed
}

// newDedup returns a window of n identities: DefaultDedupWindow for 0,
// none (nil) for a negative n, as the configs' DedupWindow fields say.
func newDedup(n int) *dedup {
	if n == 0 {
		n = DefaultDedupWindow
	}
	if n < 0 {
		return nil
	}
	return &dedup{n: n, seed: maphash.MakeSeed()}
}

// key returns ev's identity in the window: a 64-bit hash of the fields
// Event.Identity covers, 0 for an event without an identity (raw).
func (d *dedup) key(ev *Event) uint64 {
	if ev.Raw {
		return 0
	}
	f := ev.fields()
	return envelope.Hash64(d.seed, &f)
}

// check returns ev's key and whether an event with it was delivered within
// the window (never, for an event without an identity).
func (d *dedup) check(ev *Event) (key uint64, dup bool) {
	if d == nil {
		return 0, false
	}
	if key = d.key(ev); key == 0 {
		return 0, false
	}
	d.mu.Lock()
	dup = d.seen(key)
	d.mu.Unlock()
	return key, dup
}

// resend is the state of the check of a run of events that may repeat
// events already delivered: the events of a connection after a reconnect
// (every one until the first not found in the window: once is a new one,
// the rest are new too), or those of an HTTP push whose document was
// received before (all of them: whole). It is safe for concurrent use (a
// connection's Batches may be split on several goroutines). A nil
// *resend checks nothing.
type resend struct {
	on    atomic.Bool
	whole bool
	took  map[uint64]int // whole: the occurrences of each identity checked so far, under the dedup's mu (see replayed)
}

// newResend returns a resend that checks (on) or not.
func newResend(on, whole bool) *resend {
	r := &resend{whole: whole}
	r.on.Store(on)
	return r
}

func (r *resend) active() bool { return r != nil && r.on.Load() }

// found notes that a checked event was new: a reconnect's check ends.
func (r *resend) found() {
	if r != nil && !r.whole {
		r.on.Store(false)
	}
}

// replayed reports whether a checked event (see checked) with identity
// key is a replay to drop: whether the window holds key; d.mu must be
// held. In a whole resend (a document received again), an identity is
// dropped only as many times as the window holds it: the retry of a
// document with the same event twice, of which the consumer had one
// before the push failed, gives the other, and an event the retry itself
// hands over is not taken for a replay of its equal twin after it — so a
// document gives the same events retried or not.
func (d *dedup) replayed(key uint64, rs *resend) bool {
	dup := d.seen(key)
	if rs == nil || !rs.whole {
		return dup
	}
	dup = dup && d.occurrences(key) > rs.took[key]
	if rs.took == nil {
		rs.took = make(map[uint64]int)
	}
	rs.took[key]++
	return dup
}

// checked reports whether ev is checked against the window: it has an
// identity (key ≠ 0), and it is flagged replay or in a resend being
// checked.
func checked(ev *Event, key uint64, rs *resend) bool {
	return key != 0 && (ev.Replay || rs.active())
}

// handOver gives events to send one at a time, in order, skipping the
// checked ones (see checked) whose identity the window holds; the window
// learns each event's identity once send has returned nil for it (the
// consumer has it). It returns how many were skipped and, when send fails,
// how many were not handed over (that one and the rest) with send's
// error. A nil *dedup skips nothing.
func (d *dedup) handOver(events []Event, rs *resend, send func(Event) error) (dups, undelivered int, err error) {
	for i := range events {
		var key uint64
		if d != nil {
			key = d.key(&events[i])
		}
		if checked(&events[i], key, rs) {
			d.mu.Lock()
			dup := d.replayed(key, rs)
			d.mu.Unlock()
			if dup {
				dups++
				continue
			}
			rs.found()
		}
		if err := send(events[i]); err != nil {
			return dups, len(events) - i, err
		}
		d.remember(key)
	}
	return dups, 0, nil
}

// remember records delivered identities; 0 (no identity) is skipped.
func (d *dedup) remember(keys ...uint64) {
	if d == nil || len(keys) == 0 {
		return
	}
	d.mu.Lock()
	for _, k := range keys {
		if k != 0 {
			d.add(k)
		}
	}
	d.mu.Unlock()
}

// filter drops from evs the checked events (see checked) whose identity
// is in the window or repeats a kept event of evs, keeping the order. It
// returns the kept events (in evs's array), their identities (0 for those
// without one) and how many were dropped. With remember, the window
// learns the kept identities at once. On a nil *dedup it keeps everything
// and returns no identities. ends, when not nil, are the end indices in
// evs of consecutive runs of events (a Batch's blocks): they are changed
// to the ends of the runs' kept events. The identities are appended to
// buf[:0].
func (d *dedup) filter(evs []Event, rs *resend, remember bool, ends []int, buf []uint64) (kept []Event, keys []uint64, dups int) {
	if d == nil || len(evs) == 0 {
		return evs, nil, 0
	}
	keys = buf[:0]
	if cap(keys) < len(evs) {
		keys = make([]uint64, len(evs))
	}
	keys = keys[:len(evs)]
	for i := range evs {
		keys[i] = d.key(&evs[i])
	}
	// Without remember, the identities kept so far, built at the first
	// checked event (most Batches have none).
	var batch idSet
	batched := false
	n, j := 0, 0
	d.mu.Lock()
	for i, k := range keys {
		for j < len(ends) && ends[j] <= i {
			ends[j] = n
			j++
		}
		if checked(&evs[i], k, rs) {
			if !remember && !batched {
				for _, x := range keys[:n] {
					if x != 0 && !batch.has(x) {
						batch.insert(x)
					}
				}
				batched = true
			}
			if d.seen(k) || batch.has(k) {
				continue
			}
			rs.found()
		}
		if k != 0 {
			if remember {
				d.add(k)
			} else if batched && !batch.has(k) {
				batch.insert(k)
			}
		}
		evs[n], keys[n] = evs[i], k
		n++
	}
	d.mu.Unlock()
	for ; j < len(ends); j++ {
		ends[j] = n
	}
	clear(evs[n:]) // drop references to the documents
	return evs[:n], keys[:n], len(evs) - n
}

// seen reports whether id was remembered, indexing the window first if
// it is not.
func (d *dedup) seen(id uint64) bool {
	if !d.indexed {
		d.index()
	}
	d.quiet = 0
	return d.set.has(id)
}

// occurrences returns how many times the window holds id. The window
// must be indexed (seen indexes it).
func (d *dedup) occurrences(id uint64) int {
	if !d.set.has(id) {
		return 0
	}
	return 1 + d.extra[id]
}

// index builds the set from the ring.
func (d *dedup) index() {
	d.set, d.extra = idSet{}, nil
	for _, id := range d.ring {
		d.insert(id)
	}
	d.indexed, d.quiet = true, 0
}

// insert adds an occurrence of id to the index.
func (d *dedup) insert(id uint64) {
	if !d.set.has(id) {
		d.set.insert(id)
		return
	}
	if d.extra == nil {
		d.extra = make(map[uint64]int)
	}
	d.extra[id]++
}

// evict removes an occurrence of id from the index.
func (d *dedup) evict(id uint64) {
	if n := d.extra[id]; n > 0 {
		if n == 1 {
			delete(d.extra, id)
		} else {
			d.extra[id] = n - 1
		}
		return
	}
	d.set.remove(id)
}

// add remembers id, forgetting the oldest identity beyond the window.
func (d *dedup) add(id uint64) {
	if d.indexed {
		if d.quiet++; d.quiet > d.n {
			// A whole window without a check: drop the index until the
			// next one.
			d.set, d.extra, d.indexed = idSet{}, nil, false
		}
	}
	if len(d.ring) < d.n {
		d.ring = append(d.ring, id)
	} else {
		if d.indexed {
			d.evict(d.ring[d.next])
		}
		d.ring[d.next] = id
		if d.next++; d.next == d.n {
			d.next = 0
		}
	}
	if d.indexed {
		d.insert(id)
	}
}

// idSet is a set of identities: open addressing with linear probing over
// a power-of-two table at most half full, indexed by the identity's low
// bits (identities are hashes), with backward-shift deletion. Unlike a Go
// map under a steady insert-one-delete-one load, it never accumulates
// tombstones, so lookups stay one or two probes. The zero value is empty.
type idSet struct {
	slots []uint64 // 0 marks a free slot; the identity 0 is kept in zero
	n     int      // identities held, zero included
	zero  bool
}

func (s *idSet) len() int { return s.n }

func (s *idSet) has(k uint64) bool {
	if k == 0 {
		return s.zero
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// insert adds k, which must not be in the set.
func (s *idSet) insert(k uint64) {
	s.n++
	if k == 0 {
		s.zero = true
		return
	}
	if 2*s.n > len(s.slots) {
		old := s.slots
		s.slots = make([]uint64, max(16, 2*len(old)))
		for _, v := range old {
			if v != 0 {
				s.place(v)
			}
		}
	}
	s.place(k)
}

func (s *idSet) place(k uint64) {
	mask := uint64(len(s.slots) - 1)
	i := k & mask
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = k
}

// remove deletes k if present, moving later entries of its probe run back
// so that no lookup needs to step over a hole.
func (s *idSet) remove(k uint64) {
	if k == 0 {
		if s.zero {
			s.zero = false
			s.n--
		}
		return
	}
	if len(s.slots) == 0 {
		return
	}
	mask := uint64(len(s.slots) - 1)
	i := k & mask
	for s.slots[i] != k {
		if s.slots[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; s.slots[j] != 0; j = (j + 1) & mask {
		// The entry at j may move to the hole at i unless its home slot
		// lies cyclically in (i, j].
		if home := s.slots[j] & mask; (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
	s.n--
}
