package stream

import (
	"bytes"
	"hash/maphash"
)

// dedup remembers the identities of the last n delivered events and
// reports replays of them. It is used by one goroutine at a time (the
// session reader; in ModeManualAck also Batch.Ack, under the
// subscription's lock).
type dedup struct {
	n    int
	ring []uint64
	next int
	set  map[uint64]struct{}
	seed maphash.Seed
}

func newDedup(n int) *dedup {
	if n <= 0 {
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

// seen reports whether id was remembered.
func (d *dedup) seen(id uint64) bool {
	_, ok := d.set[id]
	return ok
}

// add remembers id, forgetting the oldest beyond the window.
func (d *dedup) add(id uint64) {
	if d.set == nil {
		d.set = make(map[uint64]struct{})
	}
	if _, ok := d.set[id]; ok {
		return
	}
	if len(d.ring) < d.n {
		d.ring = append(d.ring, id)
	} else {
		delete(d.set, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.n
	}
	d.set[id] = struct{}{}
}

// dataPointID finds the top-level "id" string of a JSON DataPoint body or
// the <id> element of an XML one, without decoding the body.
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
		}
		return nil
	})
	return id
}
