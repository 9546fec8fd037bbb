package envelope

// Which member of a JSON Msg is its resource, and what makes the event
// invalid once every member has been read.

import (
	"fmt"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// resolve finds a Msg's resource among its members and sets the event's
// Resource, Body and Err: the member named by the topic's resource
// segment; else the one member whose value is an object; else the one
// member there is. Msg is the whole element, doc[start:p.i].
func (p *jsonParser) resolve(m *msgState, index, start int) {
	ev := &m.ev
	chosen := m.resource
	seg := m.seg
	n := min(m.n, maxMembers)
	if chosen < 0 && seg != "" {
		for i := range n {
			if string(m.members[i].key) == seg {
				chosen = i
				break
			}
		}
	}
	if chosen < 0 && m.n <= maxMembers {
		objects := 0
		for i := range n {
			if m.members[i].object {
				objects++
				chosen = i
			}
		}
		if objects != 1 {
			chosen = -1
		}
		if objects == 0 && n == 1 {
			chosen = 0
		}
	}
	for i := range max(chosen, 0) {
		// The topic came after a member of the name it names, and
		// addMember kept a later one: the first of them is the
		// resource (repeated), as when the topic comes first.
		if seg != "" && string(m.members[i].key) == seg && string(m.members[chosen].key) == seg {
			chosen = i
			break
		}
	}
	if chosen >= 0 {
		r := &m.members[chosen]
		// An undocumented name shares the key's memory (the document's,
		// or the one copy its escapes were decoded to), as the Msg's
		// other strings do.
		if ev.Resource = knownResource(r.key); ev.Resource == "" {
			ev.Resource = bstring(r.key)
		}
		ev.Body = p.b[r.start:r.end:r.end]
	} else {
		ev.Body = p.b[start:p.i:p.i]
	}
	switch {
	case ev.Topic == "" && !m.err.isSet():
		ev.Err = &EventError{Index: index, Field: FieldTopic, Offset: int64(start), Reason: "missing"}
	case m.err.isSet():
		ev.Err = m.err.eventError(index)
	case chosen >= 0 && (m.repeated || repeatedMember(m, chosen)):
		ev.Err = &EventError{Index: index, Field: FieldResource, Offset: int64(m.members[chosen].start), Reason: "repeated"}
	case chosen >= 0 && m.members[chosen].err.isSet():
		ev.Err = m.members[chosen].err.eventError(index)
	case ignoredErr(m, chosen).isSet():
		e := ignoredErr(m, chosen).eventError(index)
		e.Field, e.Reason = FieldMsg, "an ignored member is not well-formed: "+e.Reason
		ev.Err = e
	case chosen < 0:
		reason := fmt.Sprintf("cannot tell the resource among %d members", m.n)
		if m.n == 0 {
			reason = "no resource"
		}
		ev.Err = &EventError{Index: index, Field: FieldResource, Offset: int64(start), Reason: reason}
	}
}

// repeatedMember reports whether another of the members kept has the
// chosen one's name: which of them is the resource? encoding/json would
// keep the last, the topic's reader the first.
func repeatedMember(m *msgState, chosen int) bool {
	for i := range min(m.n, maxMembers) {
		if i != chosen && string(m.members[i].key) == string(m.members[chosen].key) {
			return true
		}
	}
	return false
}

// ignoredErr returns the error of the first member other than the
// resource whose value is not well-formed: the Msg is then invalid too,
// even though that member is ignored.
func ignoredErr(m *msgState, chosen int) *fault {
	for i := range min(m.n, maxMembers) {
		if i != chosen && m.members[i].err.isSet() {
			return &m.members[i].err
		}
	}
	return &m.lostErr
}

// findNamed finds the members the topic names in the Msg object
// p.b[start:end], which has more than maxMembers members: those addMember
// passed over, and those it read before the topic was known, may be among
// them. The first becomes the resource (in the last slot, unless it is a
// member kept), another makes it repeated, wherever the topic stands. The Msg was
// read whole without error, so its structure is sound: keys are compared
// where they stand and values skipped by their brackets, allocating
// nothing. Envelope fields and a record's own members are never the
// resource; a record with more own members than findNamed remembers is
// left as it is.
func (p *jsonParser) findNamed(m *msgState, start, end int) {
	if envelopeField([]byte(m.seg)) != "" || m.nOwn > len(m.own) {
		return
	}
	q := jsonParser{b: p.b[:end], i: start, maxDepth: p.maxDepth}
	if q.open() != nil || q.peek() == '}' {
		return
	}
	found := false
	for {
		ks := q.i
		escaped, err := q.str()
		if err != nil || q.peek() != ':' {
			return
		}
		key := q.b[ks+1 : q.i-1]
		q.i++
		q.ws()
		vs := q.i
		if err := q.skip(); err != nil {
			return
		}
		if keyIs(key, escaped, m.seg) && !m.isOwn(vs) {
			if found {
				m.repeated = true
				return
			}
			found = true
			idx := -1
			for i := range min(m.n, maxMembers) {
				if int(m.members[i].start) == vs {
					idx = i
				}
			}
			if idx < 0 {
				idx = maxMembers - 1
				m.lostErr.setOnce(&m.members[idx].err)
				m.members[idx] = member{key: sbytes(m.seg), start: int32(vs), end: int32(q.trimmedEnd(vs)), object: q.b[vs] == '{'}
			}
			m.resource = idx
		}
		if q.peek() != ',' {
			return
		}
		q.i++
		q.ws()
	}
}

// keyIs reports whether the content of a key (escaped: holding escapes)
// stands for name.
func keyIs(content []byte, escaped bool, name string) bool {
	if !escaped {
		return string(content) == name
	}
	return jsondec.UnquotedEqual(content, name)
}

// isOwn reports whether the member whose value starts at off is one of
// the record's own.
func (m *msgState) isOwn(off int) bool {
	for _, o := range m.own[:min(m.nOwn, len(m.own))] {
		if int(o) == off {
			return true
		}
	}
	return false
}
