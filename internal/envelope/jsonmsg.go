package envelope

// One Msg of a JSON document: its envelope fields and its members (the
// resource among them is chosen in jsonresolve.go).

import (
	"errors"
	"strings"
	"time"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// maxMembers is how many members of a Msg besides its envelope fields the
// parser keeps track of to find the resource.
const maxMembers = 8

// member is a Msg member that may be the resource.
type member struct {
	key        []byte
	start, end int32 // its value: doc[start:end]
	object     bool  // the value is an object
	err        fault
}

// msgState is what the parser gathers of one Msg.
type msgState struct {
	ev       Event
	err      fault // the first invalid envelope field
	members  [maxMembers]member
	n        int    // members found (may exceed maxMembers)
	resource int    // index in members of the member the topic names, -1
	seg      string // the topic's resource segment (TopicResource(ev.Topic))
	fields   uint8  // the envelope fields read, a bit each (envelopeBit)
	repeated bool   // the member the topic names appeared again after it
	lostErr  fault  // the first error of a member beyond maxMembers, or of the record's own
	// own holds where the values of the record's own members start (see
	// findNamed), nOwn how many there were.
	own  [8]int32
	nOwn int
}

// fault is what makes a Msg invalid, recorded by value as the parser
// finds it: only the one an event carries becomes an EventError, so that
// a split allocates one EventError an invalid event, however many faults
// its Msg has. The zero fault is none.
type fault struct {
	field, reason string
	off           int64
}

func (f *fault) isSet() bool { return f.reason != "" }

// setOnce records *f, if it is a fault, unless *dst holds one already.
func (dst *fault) setOnce(f *fault) {
	if f.isSet() && !dst.isSet() {
		*dst = *f
	}
}

// eventError returns the EventError of the Msg of index index that f
// makes invalid.
func (f *fault) eventError(index int) *EventError {
	return &EventError{Index: index, Field: f.field, Offset: f.off, Reason: f.reason}
}

// isDocErr reports whether err ends the document's split rather than
// marking one Msg invalid: a budget, a cancellation, ErrNotEnvelope.
func isDocErr(err error) bool {
	_, syntax := err.(*jsonSyntax)
	return err != nil && !syntax
}

// msg reads one element of Msg at p.i and emits its event. Any grammar
// error inside it makes that event invalid; the parser then goes on after
// the element, found by its brackets and strings alone. Only when even
// those are broken does it fail, and with it the document.
func (p *jsonParser) msg(emit func(Event), index *int) error {
	if err := p.ck.check(); err != nil {
		return err
	}
	if p.atEnd() {
		return p.syntax(synEOF)
	}
	i := *index
	if err := p.ck.admit(i, p.i); err != nil {
		return err
	}
	*index++
	start, depth := p.i, p.depth
	var m msgState
	m.resource = -1
	var err error
	if p.b[p.i] == '{' {
		err = p.msgObject(&m)
		if err == nil && m.n > maxMembers && m.seg != "" {
			p.findNamed(&m, start, p.i)
		}
	} else {
		err = p.value()
		if err == nil {
			err = errNotObject
		}
	}
	if err == nil {
		if c := p.peek(); c != ',' && c != ']' && c != '}' && !p.atEnd() {
			err = p.syntax(synAfterMsg)
		}
	}
	if err != nil {
		if isDocErr(err) && err != errNotObject {
			return err
		}
		off := p.i
		if err == errNotObject {
			off = start
		}
		// Go on after the element: its whole text becomes the event's body.
		p.i, p.depth = start, depth
		if serr := p.skip(); serr != nil {
			return serr
		}
		m.ev.Body = p.b[start:p.i:p.i]
		m.ev.Resource = ""
		m.ev.Err = &EventError{Index: i, Field: FieldMsg, Offset: int64(off), Reason: reasonOf(err)}
		emit(m.ev)
		p.ck.emitted(&m.ev)
		return nil
	}
	p.resolve(&m, i, start)
	emit(m.ev)
	p.ck.emitted(&m.ev)
	return nil
}

var errNotObject = errors.New("not an object")

func reasonOf(err error) string {
	if se, ok := err.(*jsonSyntax); ok {
		return se.reason
	}
	return err.Error()
}

// msgObject reads a Msg object: its envelope fields into m.ev (or m.err),
// the other members into m.members. A grammar error in a member's value
// is recorded on the member (or, for an envelope field, in m.err) and the
// parser goes on after that value; it returns an error only when the
// object's own structure is broken.
func (p *jsonParser) msgObject(m *msgState) error {
	return p.object(func(key []byte) error {
		start, depth := p.i, p.depth
		field := envelopeField(key) // "" for a member that is not one
		var ferr fault              // a valid JSON value of the wrong type
		err := p.field(m, key, &ferr)
		if err == nil {
			if c := p.peek(); c != ',' && c != '}' {
				err = p.syntax(synAfterMember)
			}
		}
		var merr fault // a member's value that is not well-formed
		if err != nil {
			if isDocErr(err) {
				return err
			}
			off := int64(p.i)
			p.i, p.depth = start, depth
			if serr := p.skip(); serr != nil {
				return serr
			}
			if c := p.peek(); c != ',' && c != '}' {
				return p.syntax(synAfterMember)
			}
			if field != "" {
				ferr = fault{field: field, off: off, reason: reasonOf(err)}
			} else {
				merr = fault{field: FieldBody, off: off, reason: reasonOf(err)}
			}
		}
		if field != "" {
			// A repeated envelope field: which one holds? encoding/json
			// would keep the last, a reader of the first line the first.
			if m.fields&envelopeBit(field) != 0 && !ferr.isSet() {
				ferr = fault{field: field, off: int64(start), reason: "repeated"}
			}
			m.fields |= envelopeBit(field)
		}
		own := false
		if p.own != nil {
			own = p.own(key, p.b[start:p.trimmedEnd(start)])
		}
		switch {
		case field != "":
		case own:
			// The record's own member: never the resource, but a Msg
			// holding one that is not well-formed is invalid all the same.
			m.lostErr.setOnce(&merr)
			if m.nOwn < len(m.own) {
				m.own[m.nOwn] = int32(start)
			}
			m.nOwn++
		default:
			p.addMember(m, key, start, &merr)
		}
		m.err.setOnce(&ferr)
		return nil
	})
}

// addMember records a member that may be the resource, its value being
// p.b[start:p.i]. Beyond maxMembers only the one the topic names (when
// the topic came first) is kept, in the last slot.
func (p *jsonParser) addMember(m *msgState, key []byte, start int, err *fault) {
	end := p.trimmedEnd(start)
	if m.resource >= 0 && string(key) == string(m.members[m.resource].key) {
		m.repeated = true
	}
	named := m.resource < 0 && m.ev.Topic != "" && string(key) == m.seg
	idx := m.n
	m.n++
	if idx >= maxMembers {
		if !named {
			m.lostErr.setOnce(err)
			return
		}
		idx = maxMembers - 1
		m.lostErr.setOnce(&m.members[idx].err)
	}
	m.members[idx] = member{key: key, start: int32(start), end: int32(end), object: p.b[start] == '{', err: *err}
	if named {
		m.resource = idx
	}
}

// trimmedEnd returns where the value read from start to p.i ends, white
// space after it left out.
func (p *jsonParser) trimmedEnd(start int) int {
	end := p.i
	for end > start && isSpace(p.b[end-1]) {
		end--
	}
	return end
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// field reads the value of one member of a Msg. An envelope field of the
// wrong type or with an invalid value sets *ferr; other members are only
// validated.
func (p *jsonParser) field(m *msgState, key []byte, ferr *fault) error {
	bad := func(field, reason string) {
		*ferr = fault{field: field, off: int64(p.i), reason: reason}
	}
	c := p.peek()
	switch string(key) {
	case "topic":
		if c != '"' {
			bad(FieldTopic, "not a string")
			return p.value()
		}
		s, err := p.strValue()
		m.ev.Topic, m.seg = s, TopicResource(s)
		if err == nil && s == "" {
			bad(FieldTopic, "empty")
		}
		return err
	case "operation":
		if c != '"' {
			bad(FieldOperation, "not a string")
			return p.value()
		}
		b, owned, err := p.strBytes()
		if err == nil {
			m.ev.Operation = operation(b, owned)
		}
		return err
	case "timestamp":
		if m.err.isSet() {
			// The Msg is invalid already and its time will not be read:
			// a repeated timestamp must not cost a failed time.Parse each.
			return p.value()
		}
		start := p.i
		switch c {
		case '"':
			s, err := p.strValue()
			if err != nil {
				return err
			}
			t, ok := ParseTime(s)
			if !ok {
				*ferr = fault{field: FieldTimestamp, off: int64(start), reason: "not an RFC 3339 time"}
			}
			m.ev.Timestamp = t
			return nil
		case 'n':
			return p.value()
		default:
			if err := p.value(); err != nil {
				return err
			}
			t, ok := epochMillis(p.b[start:p.i])
			if !ok {
				*ferr = fault{field: FieldTimestamp, off: int64(start), reason: "neither an RFC 3339 time nor epoch milliseconds"}
			}
			m.ev.Timestamp = t
			return nil
		}
	case "group":
		if c == '"' {
			s, err := p.strValue()
			m.ev.Group = s
			return err
		}
		return p.value()
	case "replay":
		start := p.i
		if err := p.value(); err != nil {
			return err
		}
		// true, or the string "true" in any case, as the XML attribute
		// is read.
		v := p.b[start:p.i]
		if string(v) == "true" || len(v) == 6 && v[0] == '"' && strings.EqualFold(string(v[1:5]), "true") {
			m.ev.Replay = true
		}
		return nil
	}
	return p.value()
}

// epochMillis reads a number of epoch milliseconds, a fraction
// truncated as a body's Millis truncates it.
func epochMillis(b []byte) (time.Time, bool) {
	n, err := jsondec.ParseInt(b)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n).UTC(), true
}

// envelopeBit returns the bit of an envelope field (as envelopeField
// names it) in msgState.fields.
func envelopeBit(field string) uint8 {
	switch field {
	case FieldTopic:
		return 1
	case FieldOperation:
		return 2
	case FieldTimestamp:
		return 4
	case "group":
		return 8
	}
	return 16 // replay
}
