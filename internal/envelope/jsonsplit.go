package envelope

import (
	"fmt"
	"unsafe"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// splitJSON reads {"Document":{"Msg": M}} with M an object, an array of
// them, or null. Members other than Document (at the top) and Msg (in
// Document) are validated and ignored, except that a Document holding
// other members and no Msg (Msg null or [] is none) is not an envelope,
// as an XML Document holding other elements or text and no Msg is not;
// a document that repeats Document, or a Document that repeats Msg, is
// not an envelope either.
func splitJSON(ck checker, maxDepth int, doc []byte, emit func(Event)) (checker, error) {
	p := jsonParser{b: doc, maxDepth: maxDepth, ck: ck}
	err := p.envelope(emit)
	return p.ck, err
}

// envelope reads the document's top level.
func (p *jsonParser) envelope(emit func(Event)) error {
	if p.peek() != '{' {
		return ErrNotEnvelope
	}
	found := false
	index := 0
	err := p.object(func(key []byte) error {
		if string(key) != "Document" {
			return p.value()
		}
		if found {
			// Two Documents: which holds the events? encoding/json would
			// keep the last, this reader the first; neither is safe to
			// deliver, the whole document is.
			return ErrNotEnvelope
		}
		found = true
		return p.document(emit, &index)
	})
	if err != nil {
		return p.docErr(err)
	}
	if !found {
		return ErrNotEnvelope
	}
	if !p.atEnd() {
		return p.docErr(p.syntax(synAfterDocument))
	}
	return nil
}

// docErr turns an error that ends a whole document's split into what
// Split returns: a grammar error becomes ErrMalformed; ErrNotEnvelope, a
// budget and a cancellation stay as they are.
func (p *jsonParser) docErr(err error) error {
	if se, ok := err.(*jsonSyntax); ok {
		return fmt.Errorf("%w: JSON: %s at byte %d", ErrMalformed, se.reason, p.errOff)
	}
	return err
}

// object reads an object at p.i, calling fn for each member with p at
// its value (fn must read it); keys are validated and unescaped if need
// be.
func (p *jsonParser) object(fn func(key []byte) error) error {
	if p.peek() != '{' {
		return p.syntax(synNotObject)
	}
	if err := p.open(); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.i++
		p.depth--
		return nil
	}
	for {
		key, err := p.keyBytes()
		if err != nil {
			return err
		}
		p.ws()
		if err := fn(key); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return nil
		default:
			return p.syntax(synAfterObjectMember)
		}
	}
}

// keyBytes reads an object key and its colon, returning the key's
// content (unescaped if it has escapes).
func (p *jsonParser) keyBytes() ([]byte, error) {
	if p.peek() != '"' {
		return nil, p.syntax(synKey)
	}
	if err := p.ck.tick(); err != nil {
		return nil, err
	}
	start := p.i
	escaped, err := p.str()
	if err != nil {
		return nil, err
	}
	key := p.b[start+1 : p.i-1]
	if escaped {
		key = jsondec.Unquote(p.b[start+1 : p.i-1])
	}
	if p.peek() != ':' {
		return nil, p.syntax(synColon)
	}
	p.i++
	return key, nil
}

// strValue reads a string value at p.i: a string sharing the document's
// memory when it has no escapes, a decoded copy otherwise.
func (p *jsonParser) strValue() (string, error) {
	b, _, err := p.strBytes()
	return bstring(b), err
}

// strBytes reads a string value at p.i: its content, a slice of the
// document when it has no escapes (owned false; ill-formed UTF-8 is kept
// as it is, where encoding/json would write U+FFFD), else a copy decoded
// as encoding/json decodes it, which the caller owns.
func (p *jsonParser) strBytes() (b []byte, owned bool, err error) {
	start := p.i
	if err := p.ck.tick(); err != nil {
		return nil, false, err
	}
	escaped, err := p.str()
	if err != nil {
		return nil, false, err
	}
	if !escaped {
		return p.b[start+1 : p.i-1], false, nil
	}
	return jsondec.Unquote(p.b[start+1 : p.i-1]), true, nil
}

// bstring returns a string sharing b's memory. b must never be modified:
// it is a slice of a document that the caller keeps read-only.
func bstring(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// document reads the value of "Document": null or {} (a keep-alive), or
// an object with a Msg member. Other members are ignored, unless there is
// no Msg (Msg null or [] is none): then the document is not an envelope.
func (p *jsonParser) document(emit func(Event), index *int) error {
	first := *index
	switch p.peek() {
	case 'n':
		return p.value() // "Document": null is a keep-alive
	case '{':
	default:
		if err := p.value(); err != nil {
			return err
		}
		return ErrNotEnvelope
	}
	msg, other := false, false
	err := p.object(func(key []byte) error {
		if string(key) != "Msg" {
			other = true
			return p.value()
		}
		if msg {
			return ErrNotEnvelope // two Msgs: as two Documents
		}
		msg = true
		return p.msgs(emit, index)
	})
	if err != nil {
		return err
	}
	if other && *index == first {
		// Other members and no Msg: taken for a keep-alive, they would
		// be lost.
		return ErrNotEnvelope
	}
	return nil
}

// msgs reads the value of "Msg": an object, an array of them, or null.
func (p *jsonParser) msgs(emit func(Event), index *int) error {
	switch p.peek() {
	case 'n':
		return p.value()
	case '{':
		return p.msg(emit, index)
	case '[':
	default:
		if err := p.value(); err != nil {
			return err
		}
		return ErrNotEnvelope
	}
	if err := p.open(); err != nil {
		return err
	}
	if p.peek() == ']' {
		p.i++
		p.depth--
		return nil
	}
	for {
		if err := p.msg(emit, index); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
			p.ws()
		case ']':
			p.i++
			p.depth--
			return nil
		default:
			return p.syntax(synAfterMsg)
		}
	}
}
