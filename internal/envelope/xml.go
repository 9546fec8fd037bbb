package envelope

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// An XML document's split: the guard's pass over the budgets,
// encoding/xml's strict pass, and the walk that finds the Msgs; and the
// check behind Splitter.Wellformed. A Msg is read in xmlmsg.go.

// xmlSplit is one XML split. It reads the document three times: the
// guard's scanner checks every token against the budgets (and finds the
// root element) before anything else reads it; then encoding/xml's strict
// Token loop reads the whole document once, with one Decoder; then the
// scanner walks it again to find the events. When encoding/xml read the
// whole document without error, every body is well-formed; otherwise
// each Msg's start tag and body are read by encoding/xml on their own, so
// that only the Msgs at fault are invalid.
type xmlSplit struct {
	ck    checker
	lim   Limits
	sc    xmlguard.Scanner
	doc   []byte
	exact bool // each Msg is checked on its own
}

func (x *xmlSplit) next() (xmlguard.Token, error) {
	if err := x.ck.tick(); err != nil {
		return xmlguard.Token{}, err
	}
	return x.sc.Next()
}

// docErr turns an error that ends the split into what Split returns.
func docErr(err error) error {
	if errors.Is(err, xmlguard.ErrSyntax) {
		return fmt.Errorf("%w: XML: %w", ErrMalformed, err)
	}
	return err
}

// localName returns a name without its prefix.
func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func isBlank(b []byte) bool { return len(bytes.Trim(b, " \t\r\n")) == 0 }

// splitXML reads <Document><Msg …><Resource>…</Resource></Msg>…</Document>
// or a single <Msg> root. Comments, processing instructions and a
// document type declaration may surround them. Elements and text in
// Document other than Msg are ignored when there is a Msg; a Document
// holding only such things is not an envelope.
func splitXML(ck checker, lim Limits, doc []byte, emit func(Event)) (checker, error) {
	x := xmlSplit{ck: ck, lim: lim, doc: doc}
	err := x.split(emit)
	return x.ck, err
}

func (x *xmlSplit) split(emit func(Event)) error {
	doc := x.doc
	rootName, err := x.guard()
	if err != nil {
		return docErr(err)
	}
	if rootName != "Document" && rootName != "Msg" {
		return ErrNotEnvelope
	}
	ok, err := x.decode()
	if err != nil {
		return err
	}
	x.sc, x.exact = xmlguard.NewScanner(doc, x.lim), !ok
	const (
		prolog = iota
		inDocument
		epilog
	)
	state, index, other := prolog, 0, false
	var root xmlguard.Token // Document's start tag
	for {
		tok, err := x.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return docErr(err)
		}
		switch tok.Kind {
		case xmlguard.StartElement:
			name := string(localName(doc[tok.NameStart:tok.NameEnd]))
			switch {
			case state == prolog && name == "Document":
				state, root = inDocument, tok
				if tok.Empty {
					state = epilog // <Document/>: a keep-alive
				}
			case (state == prolog && tok.Depth == 1 || state == inDocument && tok.Depth == 2) && name == "Msg":
				if err := x.msg(tok, index, emit); err != nil {
					return err
				}
				index++
				if state == prolog {
					state = epilog
				}
			case state == inDocument:
				other = true
				if _, err := x.skip(tok); err != nil {
					return err
				}
			default:
				return ErrNotEnvelope
			}
		case xmlguard.EndElement:
			// The end of Document (the scanner keeps the balance; the
			// names are checked here).
			if !bytes.Equal(doc[tok.NameStart:tok.NameEnd], doc[root.NameStart:root.NameEnd]) {
				return fmt.Errorf("%w: XML: the end tag at byte %d does not match <Document>", ErrMalformed, tok.Start)
			}
			state = epilog
		case xmlguard.CharData, xmlguard.CDATA:
			if tok.Kind == xmlguard.CDATA || !isBlank(doc[tok.Start:tok.End]) {
				if state != inDocument {
					return ErrNotEnvelope
				}
				other = true
			}
		}
	}
	if state == prolog || index == 0 && other {
		return ErrNotEnvelope
	}
	return nil
}

// guard runs the guard over the whole document and returns the local
// name of its first element, "" if it has none. It also counts the Msgs
// of a Document against the events budget: a document of more tiny Msgs
// than the budget allows is refused here, at the same Msg and with the
// same error as the walk would refuse it, before encoding/xml reads it
// (which costs tens of times the document's size).
func (x *xmlSplit) guard() (root string, err error) {
	doc := x.doc
	sc := xmlguard.NewScanner(doc, x.lim)
	msgs := 0
	for {
		if err := x.ck.tick(); err != nil {
			return "", err
		}
		tok, err := sc.Next()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return "", err
		}
		if tok.Kind != xmlguard.StartElement {
			continue
		}
		switch {
		case tok.Depth == 1 && root == "":
			switch name := localName(doc[tok.NameStart:tok.NameEnd]); string(name) {
			case "Document", "Msg":
				root = string(name)
			default:
				return "?", nil // not an envelope: no need to read further
			}
		case tok.Depth == 2 && root == "Document" && string(localName(doc[tok.NameStart:tok.NameEnd])) == "Msg":
			if err := x.ck.admit(msgs, tok.Start); err != nil {
				return "", err
			}
			msgs++
		}
	}
}

// decode reads the document with encoding/xml's strict Token loop and
// reports whether it read it all without error (the error returned is a
// cancellation).
func (x *xmlSplit) decode() (bool, error) {
	d := xml.NewDecoder(bytes.NewReader(x.doc))
	for {
		if err := x.ck.tick(); err != nil {
			return false, err
		}
		if _, err := d.Token(); err != nil {
			return err == io.EOF, nil
		}
	}
}

// skip reads up to the end of the element tok starts and returns the
// offset just past it.
func (x *xmlSplit) skip(tok xmlguard.Token) (int, error) {
	if tok.Empty {
		return tok.End, nil
	}
	for {
		t, err := x.next()
		if err != nil {
			if err == io.EOF {
				err = &xmlguard.SyntaxError{Reason: "the document ends inside an element", Offset: int64(len(x.doc))}
			}
			return 0, docErr(err)
		}
		if t.Kind == xmlguard.EndElement && t.Depth == tok.Depth {
			return t.End, nil
		}
	}
}

// wellformed checks the document with the guard, then with encoding/xml's
// strict Token loop, which must meet a root element.
func (x *xmlSplit) wellformed() error {
	doc := x.doc
	x.sc = xmlguard.NewScanner(doc, x.lim)
	for {
		_, err := x.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return docErr(err)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	root := false
	for {
		if err := x.ck.tick(); err != nil {
			return err
		}
		tok, err := d.Token()
		if err == io.EOF {
			if !root {
				return fmt.Errorf("%w: XML without a root element", ErrMalformed)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: XML: %s", ErrMalformed, xmlReason(err))
		}
		if _, ok := tok.(xml.StartElement); ok {
			root = true
		}
	}
}
