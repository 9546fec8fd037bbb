package envelope

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// One Msg of an XML document: its attributes (the envelope fields), its
// child elements, its resource, and the check of its body on its own when
// the whole document was not well-formed.

// child is a child element of a Msg.
type child struct {
	name       []byte
	start, end int
}

// msg reads the Msg element tok starts, up to its end tag, and emits its
// event.
func (x *xmlSplit) msg(tok xmlguard.Token, index int, emit func(Event)) error {
	if err := x.ck.check(); err != nil {
		return err
	}
	if err := x.ck.admit(index, tok.Start); err != nil {
		return err
	}
	var ev Event
	var (
		ferr     *EventError
		children [maxMembers]child
		n        int
		named    = -1
		repeated bool // another child has the named one's name
	)
	bad := func(field string, off int, reason string) {
		if ferr == nil {
			ferr = &EventError{Index: index, Field: field, Offset: int64(off), Reason: reason}
		}
	}
	x.attrs(tok, &ev, bad)
	seg := TopicResource(ev.Topic)
	end := tok.End
	if !tok.Empty {
		for {
			t, err := x.next()
			if err != nil {
				return docErr(err) // EOF cannot happen inside an element
			}
			if t.Kind == xmlguard.EndElement && t.Depth == tok.Depth {
				end = t.End
				if !bytes.Equal(x.doc[t.NameStart:t.NameEnd], x.doc[tok.NameStart:tok.NameEnd]) {
					bad(FieldMsg, t.Start, "its end tag does not match")
				}
				break
			}
			if t.Kind != xmlguard.StartElement {
				continue // text, comments: not the resource
			}
			c := child{name: localName(x.doc[t.NameStart:t.NameEnd]), start: t.Start}
			if c.end, err = x.skip(t); err != nil {
				return err
			}
			idx := n
			n++
			if named >= 0 && string(c.name) == seg {
				repeated = true
			}
			isNamed := named < 0 && seg != "" && string(c.name) == seg
			if idx >= maxMembers {
				if !isNamed {
					continue
				}
				idx = maxMembers - 1
			}
			children[idx] = c
			if isNamed {
				named = idx
			}
		}
	}
	chosen := named
	if chosen < 0 && n == 1 {
		chosen = 0
	}
	if chosen >= 0 {
		c := children[chosen]
		if repeated {
			// Which of them is the resource? A reader of the first and a
			// decoder keeping the last would disagree.
			bad(FieldResource, c.start, "repeated")
		}
		ev.Resource = resourceName(c.name)
		ev.Body = x.doc[c.start:c.end:c.end]
		if x.exact {
			if err := x.validate(ev.Body, c.start, index, &ferr); err != nil {
				return err
			}
		}
	} else {
		ev.Body = x.doc[tok.Start:end:end]
		if n == 0 {
			bad(FieldResource, tok.Start, "no resource")
		} else {
			bad(FieldResource, tok.Start, fmt.Sprintf("cannot tell the resource among %d elements", n))
		}
	}
	if ferr != nil {
		ev.Err = ferr
	}
	emit(ev)
	x.ck.emitted(&ev)
	return nil
}

// attrs reads a Msg's attributes from its start tag. Values without
// entities or carriage returns are taken as they are (sharing the
// document's memory); otherwise, and whenever the Msg is checked on its
// own, encoding/xml reads the start tag, decoding its entities.
func (x *xmlSplit) attrs(tok xmlguard.Token, ev *Event, bad func(field string, off int, reason string)) {
	tag := x.doc[tok.Start:tok.End]
	var seen uint8
	if x.exact || bytes.ContainsAny(tag, "&\r") {
		x.attrsDecoded(tag, tok.Start, ev, &seen, bad)
	} else {
		it := xmlguard.Attrs(tag)
		for name, value, ok := it.Next(); ok; name, value, ok = it.Next() {
			x.attr(string(localName(name)), bstring(value), tok.Start, ev, &seen, bad)
		}
	}
	if ev.Topic == "" {
		bad(FieldTopic, tok.Start, "missing")
	}
}

// attrsDecoded reads a start tag's attributes through encoding/xml.
func (x *xmlSplit) attrsDecoded(tag []byte, off int, ev *Event, seen *uint8, bad func(field string, off int, reason string)) {
	d := xml.NewDecoder(bytes.NewReader(tag))
	t, err := d.RawToken()
	start, ok := t.(xml.StartElement)
	if err != nil || !ok {
		bad(FieldMsg, off, "its start tag: "+xmlReason(err))
		return
	}
	for _, a := range start.Attr {
		x.attr(a.Name.Local, a.Value, off, ev, seen, bad)
	}
}

// attr sets the envelope field an attribute names. One named twice (XML
// forbids it, encoding/xml does not check it) makes the Msg invalid.
func (x *xmlSplit) attr(name, value string, off int, ev *Event, seen *uint8, bad func(field string, off int, reason string)) {
	if field := envelopeField([]byte(name)); field != "" {
		if *seen&envelopeBit(field) != 0 {
			bad(field, off, "repeated")
		}
		*seen |= envelopeBit(field)
	}
	switch name {
	case "topic":
		ev.Topic = value
		if value == "" {
			bad(FieldTopic, off, "empty")
		}
	case "operation":
		ev.Operation = Operation(value)
	case "timestamp":
		t, ok := ParseTime(value)
		if !ok {
			bad(FieldTimestamp, off, "not an RFC 3339 time")
		}
		ev.Timestamp = t
	case "group":
		ev.Group = value
	case "replay":
		ev.Replay = strings.EqualFold(value, "true")
	}
}

// validate reads body (at offset off of the document) with encoding/xml's
// strict Token loop. A body that is not well-formed sets *ferr (unless
// it is set); the error returned ends the split (a cancellation).
func (x *xmlSplit) validate(body []byte, off, index int, ferr **EventError) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		if err := x.ck.tick(); err != nil {
			return err
		}
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if *ferr == nil {
				*ferr = &EventError{Index: index, Field: FieldBody, Offset: int64(off) + d.InputOffset(), Reason: xmlReason(err)}
			}
			return nil
		}
	}
}

// xmlReason is encoding/xml's description of a syntax error, without the
// line number (relative to the body, it would mislead).
func xmlReason(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return "not well-formed XML: " + se.Msg
	}
	if err == nil {
		return "not a start tag"
	}
	return "not well-formed XML: " + err.Error()
}
