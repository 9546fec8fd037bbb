package stream

import (
	"bytes"
	"errors"
	"hash/maphash"
	"sync"
)

// dedup remembers the identities of the last n delivered events and
// reports replays of them. check and remember are safe for concurrent use
// (a session's reader and Batch.Ack, an HTTP receiver's requests) and do
// nothing on a nil *dedup (dedup disabled); seen and add require mu.
type dedup struct {
	mu   sync.Mutex
	n    int
	ring []uint64
	next int
	set  idSet
	seed maphash.Seed
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

// identity hashes what identifies an event across replays: a DataPoint's
// id, otherwise topic, operation, timestamp and body. The Replay flag is
// not part of it.
func (d *dedup) identity(ev *Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	if ev.Resource == "DataPoint" {
		if id := dataPointID(ev.Body); id != nil {
			h.WriteString("dp:")
			h.Write(id)
			return h.Sum64()
		}
	}
	h.WriteString(ev.Topic)
	h.WriteByte(0)
	h.WriteString(ev.Operation)
	h.WriteByte(0)
	b, _ := ev.Timestamp.MarshalBinary()
	h.Write(b)
	h.WriteByte(0)
	h.Write(ev.Body)
	return h.Sum64()
}

// check returns ev's identity and whether an event with it was
// delivered within the window.
func (d *dedup) check(ev *Event) (key uint64, dup bool) {
	if d == nil {
		return 0, false
	}
	key = d.identity(ev)
	d.mu.Lock()
	dup = d.seen(key)
	d.mu.Unlock()
	return key, dup
}

// handOver gives events to send one at a time, in order, skipping those
// whose identity the window holds; the window learns each event once send
// has returned nil for it (the consumer has it). It returns how many were
// skipped and, when send fails, how many were not handed over (that one and
// the rest) with send's error. A nil *dedup skips nothing.
func (d *dedup) handOver(events []Event, send func(Event) error) (dups, undelivered int, err error) {
	for i := range events {
		key, dup := d.check(&events[i])
		if dup {
			dups++
			continue
		}
		if err := send(events[i]); err != nil {
			return dups, len(events) - i, err
		}
		d.remember(key)
	}
	return dups, 0, nil
}

// remember records delivered identities.
func (d *dedup) remember(keys ...uint64) {
	if d == nil || len(keys) == 0 {
		return
	}
	d.mu.Lock()
	for _, k := range keys {
		d.add(k)
	}
	d.mu.Unlock()
}

// filter drops from evs the events whose identity is in the window and
// those that repeat an earlier event of evs, keeping the order. It returns
// the kept events (in evs's array), their identities and how many were
// dropped. With remember, the window learns the kept identities at once.
// On a nil *dedup it keeps everything and returns no identities.
func (d *dedup) filter(evs []Event, remember bool) (kept []Event, keys []uint64, dups int) {
	if d == nil || len(evs) == 0 {
		return evs, nil, 0
	}
	keys = make([]uint64, len(evs))
	for i := range evs {
		keys[i] = d.identity(&evs[i])
	}
	var batch idSet // identities kept so far, when the window does not learn them at once
	n := 0
	d.mu.Lock()
	for i, k := range keys {
		if d.seen(k) || batch.has(k) {
			continue
		}
		if remember {
			d.add(k)
		} else if len(keys) > 1 {
			batch.insert(k)
		}
		evs[n], keys[n] = evs[i], k
		n++
	}
	d.mu.Unlock()
	clear(evs[n:]) // drop references to the documents
	return evs[:n], keys[:n], len(evs) - n
}

// seen reports whether id was remembered.
func (d *dedup) seen(id uint64) bool { return d.set.has(id) }

// add remembers id, forgetting the oldest beyond the window.
func (d *dedup) add(id uint64) {
	if d.set.has(id) {
		return
	}
	if len(d.ring) < d.n {
		d.ring = append(d.ring, id)
	} else {
		d.set.remove(d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.n
	}
	d.set.insert(id)
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

// errStop ends a scan early once what it looks for is found.
var errStop = errors.New("stream: stop scanning")

// dataPointID finds the top-level "id" value of a JSON DataPoint body (the
// first one, should there be several) or the <id> element of an XML one,
// without decoding the body; the scan stops at the id, which Remote
// Manager sends first.
func dataPointID(body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	if body[0] == '<' {
		i := bytes.Index(body, []byte("<id>"))
		if i < 0 {
			return nil
		}
		j := bytes.Index(body[i:], []byte("</id>"))
		if j < 0 {
			return nil
		}
		return body[i+4 : i+j]
	}
	p := jsonParser{b: body}
	var id []byte
	_ = p.object(func(key []byte) error {
		start := p.i
		if err := p.skip(); err != nil {
			return err
		}
		if string(key) == "id" {
			id = p.b[start:p.i]
			return errStop
		}
		return nil
	})
	return id
}
