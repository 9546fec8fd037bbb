package stream

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// noTime is the millisecond of a zero time.Time: before every real one.
const noTime = math.MinInt64

// msOf returns t in Unix milliseconds, noTime for the zero time.
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixMilli()
}

// msTime is the inverse of msOf, at millisecond precision.
func msTime(ms int64) time.Time {
	if ms == noTime {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// PollPosition is how far a [Poller] has delivered: what a restarted
// poller needs (as [PollerConfig.Start]) to go on without losing or
// repeating an event. Persist it after processing the events it covers:
// it marshals to JSON (MarshalText, UnmarshalText) and is a value that no
// later call changes.
//
// Besides Cursor and Since it remembers which events were delivered in the
// window the next poll re-reads (see [PollerConfig.Overlap]): their
// identities, hashed to 64 bits, at most [PollerConfig.MaxSeen] of them —
// about 15 bytes each in the JSON form (11 before base64). A position built by hand with only
// Since starts at Since, inclusive.
type PollPosition struct {
	// Cursor is the server's cursor of the page being delivered, "" between
	// polls.
	Cursor string
	// Since is the newest record time delivered: the event's timestamp, or
	// the time the server stored a record whose document has none.
	Since time.Time

	// floor is the oldest millisecond the next poll may re-read: every
	// delivered event from floor on is in seen. Without floorOK (a position
	// built by hand) it is Since.
	floor   int64
	floorOK bool
	// seen are the delivered events from floor on, in delivery order. The
	// slice is shared with the poller, which only appends beyond its length
	// or drops from its front: never modified.
	seen []seenEntry
}

// seenEntry is one delivered event: its record time and its hashed key.
type seenEntry struct {
	ms int64
	h  uint64
}

// floorMs returns the oldest millisecond a poll from p reads.
func (p PollPosition) floorMs() int64 {
	if !p.floorOK {
		return msOf(p.Since)
	}
	return p.floor
}

// Seen returns how many delivered events the position remembers.
func (p PollPosition) Seen() int { return len(p.seen) }

// seenHash hashes an event's key (see Poller.key) to the 64 bits a position
// keeps: the first 8 bytes of its SHA-256, the same in every process.
func seenHash(key string) uint64 {
	sum := sha256.Sum256([]byte(key))
	return binary.BigEndian.Uint64(sum[:8])
}

// positionJSON is the persisted form. Seen is, per entry in delivery
// order, the uvarint of Since's millisecond minus the entry's, then the
// 8-byte big-endian hash; base64 (standard, padded).
type positionJSON struct {
	Cursor string          `json:"cursor,omitempty"`
	Since  time.Time       `json:"since,omitzero"`
	Floor  time.Time       `json:"floor,omitzero"`
	Seen   json.RawMessage `json:"seen,omitempty"`
}

// MarshalText encodes p as JSON.
func (p PollPosition) MarshalText() ([]byte, error) {
	j := positionJSON{Cursor: p.Cursor, Since: p.Since}
	if f := p.floorMs(); f != noTime {
		j.Floor = msTime(f)
	}
	if len(p.seen) > 0 {
		since := uint64(msOf(p.Since))
		buf := make([]byte, 0, len(p.seen)*11)
		for _, e := range p.seen {
			buf = binary.AppendUvarint(buf, since-uint64(e.ms))
			buf = binary.BigEndian.AppendUint64(buf, e.h)
		}
		j.Seen, _ = json.Marshal(base64.StdEncoding.EncodeToString(buf))
	}
	return json.Marshal(j)
}

// maxPositionSeen bounds the entries UnmarshalText accepts.
const maxPositionSeen = 1 << 22

// UnmarshalText decodes what MarshalText produced. It also reads the form
// of earlier versions, whose "seen" was a list of [Event.Identity] values
// of the events at Since.
func (p *PollPosition) UnmarshalText(b []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("stream: poll position: "+format, args...)
	}
	var j positionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return bad("%v", err)
	}
	// Without a floor, a position with entries is from a first poll that
	// forgot nothing; one without is Since's.
	q := PollPosition{Cursor: j.Cursor, Since: j.Since, floor: noTime, floorOK: len(j.Seen) > 0}
	if !j.Floor.IsZero() {
		q.floor, q.floorOK = j.Floor.UnixMilli(), true
	}
	since := msOf(q.Since)
	switch {
	case len(j.Seen) == 0 || string(j.Seen) == "null":
	case j.Seen[0] == '[':
		var ids []string
		if err := json.Unmarshal(j.Seen, &ids); err != nil {
			return bad("seen: %v", err)
		}
		if len(ids) > maxPositionSeen {
			return bad("seen: more than %d entries", maxPositionSeen)
		}
		for _, id := range ids {
			q.seen = append(q.seen, seenEntry{ms: since, h: seenHash(id)})
		}
		q.floor, q.floorOK = since, true
	default:
		var s string
		if err := json.Unmarshal(j.Seen, &s); err != nil {
			return bad("seen: %v", err)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return bad("seen: %v", err)
		}
		if len(raw)/9 > maxPositionSeen {
			return bad("seen: more than %d entries", maxPositionSeen)
		}
		for len(raw) > 0 {
			off, n := binary.Uvarint(raw)
			if n <= 0 || len(raw) < n+8 {
				return bad("seen: %v", errors.New("truncated entry"))
			}
			q.seen = append(q.seen, seenEntry{ms: int64(uint64(since) - off), h: binary.BigEndian.Uint64(raw[n:])})
			raw = raw[n+8:]
		}
	}
	*p = q
	return nil
}

// String returns the JSON form.
func (p PollPosition) String() string {
	b, _ := p.MarshalText()
	return string(b)
}

// seenSet is a poller's memory of delivered events, owned by its run
// goroutine (and read under its mutex by Position): the entries in
// delivery order, a count per hash for lookups, and the floor below which
// nothing is remembered.
//
// It holds at most max entries. Beyond that the oldest delivered entry is
// evicted and the floor rises past its millisecond: the next polls do not
// re-read that far back, so an event stored late with a time below the
// floor is not delivered (Stats.OutsideWindow counts what a page still
// returned there), but nothing is delivered twice.
//
// An entry stamped after top (the window's newest millisecond, Since: a
// record stamped after the server's clock, see Poller) is re-read by every
// poll until the window reaches it, so it is kept while there are others
// to evict: passed over, to the back. Evicting it would raise the floor
// past the clock and leave every event stored after it below the window.
// Only when every entry is one is the oldest of them evicted, and then
// the floor rises to top+1 at most: that record may be delivered again.
type seenSet struct {
	ents  []seenEntry
	count map[uint64]int32
	floor int64
	top   int64 // the window's newest millisecond (Since)
	max   int
}

func newSeenSet(p PollPosition, max int) *seenSet {
	s := &seenSet{count: make(map[uint64]int32, min(len(p.seen), max)), floor: p.floorMs(), top: msOf(p.Since), max: max}
	for _, e := range p.seen {
		s.add(e)
	}
	return s
}

func (s *seenSet) has(h uint64) bool { return s.count[h] > 0 }

// add appends e, evicting the oldest entries beyond max (see seenSet).
func (s *seenSet) add(e seenEntry) {
	s.ents = append(s.ents, e)
	s.count[e.h]++
	for len(s.ents) > s.max {
		if k := slices.IndexFunc(s.ents, func(x seenEntry) bool { return !s.ahead(x) }); k > 0 {
			for range k {
				s.pass()
			}
		}
		old := s.ents[0]
		s.drop()
		if ms := min(old.ms, s.top); ms != noTime && ms+1 > s.floor {
			s.floor = ms + 1
		}
	}
}

// raise moves the window's newest millisecond up to top and the floor up
// to ms, dropping the leading entries below the floor and passing over
// those after top (entries below the floor further on are dropped when
// they reach the front).
func (s *seenSet) raise(top, ms int64) {
	s.top = max(s.top, top)
	if ms <= s.floor {
		return
	}
	s.floor = ms
	for n := len(s.ents); n > 0; n-- {
		switch e := s.ents[0]; {
		case e.ms < ms:
			s.drop()
		case s.ahead(e):
			s.pass()
		default:
			return
		}
	}
}

// ahead reports whether e is stamped after the window's newest millisecond.
func (s *seenSet) ahead(e seenEntry) bool { return e.ms != noTime && e.ms > s.top }

// pass moves the first entry to the back.
func (s *seenSet) pass() {
	e := s.ents[0]
	s.ents = append(s.ents[1:], e)
}

func (s *seenSet) drop() {
	h := s.ents[0].h
	if s.count[h]--; s.count[h] <= 0 {
		delete(s.count, h)
	}
	s.ents = s.ents[1:]
}

// snapshot returns the entries as a slice the set never modifies.
func (s *seenSet) snapshot() []seenEntry { return s.ents[:len(s.ents):len(s.ents)] }
