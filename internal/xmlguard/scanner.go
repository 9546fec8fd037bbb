package xmlguard

import (
	"bytes"
	"io"
)

// Kind is the kind of a [Token].
type Kind uint8

// Token kinds.
const (
	StartElement Kind = iota + 1 // <name attr="v" …>, or <name …/> with Token.Empty
	EndElement                   // </name>
	CharData                     // character data between markup (whitespace included)
	CDATA                        // <![CDATA[…]]>
	Comment                      // <!--…-->
	ProcInst                     // <?target …?>
	Directive                    // <!DOCTYPE …> and other <!…> declarations
)

// Token is one token of a document, as positions in it: the scanner
// copies nothing.
type Token struct {
	Kind Kind
	// Start and End delimit the whole token: doc[Start:End].
	Start, End int
	// NameStart and NameEnd delimit an element's name (doc[NameStart:NameEnd])
	// in a StartElement or EndElement, prefix included.
	NameStart, NameEnd int
	// Depth is an element's depth (the root element is at 1) for
	// StartElement and EndElement, and the depth of the enclosing element
	// (0 outside the root) for the other kinds.
	Depth int
	// Attrs is the number of attributes of a StartElement.
	Attrs int
	// Empty marks a StartElement that closes itself (<a/>): no EndElement
	// follows it.
	Empty bool
}

// Scanner reads the tokens of a document one at a time, checking each
// against the budgets before it is returned. It allocates nothing (but
// the error it returns) and reads each byte of the document a bounded
// number of times. A Scanner is a small value; it must not be copied once
// in use.
type Scanner struct {
	doc    []byte
	lim    Limits
	pos    int
	depth  int
	tokens int
	err    error
}

// NewScanner returns a Scanner of doc under lim (zero fields take their
// defaults, the token budget from len(doc)).
func NewScanner(doc []byte, lim Limits) Scanner {
	return Scanner{doc: doc, lim: lim.resolve(len(doc))}
}

// Next returns the next token. At the end of a document whose elements
// are all closed it returns io.EOF; on a budget exceeded, a
// *LimitError; on markup it cannot delimit, a *SyntaxError. After an
// error every call returns the same error.
func (s *Scanner) Next() (Token, error) {
	if s.err != nil {
		return Token{}, s.err
	}
	tok, err := s.next()
	if err != nil {
		s.err = err
	}
	return tok, err
}

// Offset returns the byte offset of the next token.
func (s *Scanner) Offset() int { return s.pos }

// Depth returns the number of elements open.
func (s *Scanner) Depth() int { return s.depth }

// Tokens returns how many tokens (attributes included) were read.
func (s *Scanner) Tokens() int { return s.tokens }

func (s *Scanner) next() (Token, error) {
	doc, start := s.doc, s.pos
	if start >= len(doc) {
		if s.depth > 0 {
			return Token{}, syntaxError("the document ends inside an element", start)
		}
		return Token{}, io.EOF
	}
	if err := s.count(start); err != nil {
		return Token{}, err
	}
	if doc[start] != '<' {
		end := len(doc)
		if i := bytes.IndexByte(doc[start:], '<'); i >= 0 {
			end = start + i
		}
		s.pos = end
		return Token{Kind: CharData, Start: start, End: end, Depth: s.depth}, nil
	}
	if start+1 == len(doc) {
		return Token{}, syntaxError("the document ends with '<'", start)
	}
	var (
		kind Kind
		end  int
	)
	switch rest := doc[start+1:]; {
	case rest[0] == '/':
		return s.endTag(start)
	case rest[0] == '?':
		kind, end = ProcInst, closing(doc, start+2, "?>")
	case bytes.HasPrefix(rest, []byte("!--")):
		kind, end = Comment, closing(doc, start+4, "-->")
	case bytes.HasPrefix(rest, []byte("![CDATA[")):
		kind, end = CDATA, closing(doc, start+9, "]]>")
	case rest[0] == '!':
		// As for encoding/xml, the directive's first byte is its own,
		// whatever it is.
		kind, end = Directive, directiveEnd(doc, start+3)
	default:
		return s.startTag(start)
	}
	if end < 0 {
		return Token{}, syntaxError(unterminated[kind], start)
	}
	s.pos = end
	return Token{Kind: kind, Start: start, End: end, Depth: s.depth}, nil
}

var unterminated = [...]string{ProcInst: "unterminated processing instruction", Comment: "unterminated comment",
	CDATA: "unterminated CDATA section", Directive: "unterminated directive"}

// count counts one token at offset off against the token budget.
func (s *Scanner) count(off int) error {
	if s.tokens++; s.tokens > s.lim.MaxTokens {
		return &LimitError{Limit: LimitTokens, Max: s.lim.MaxTokens, Offset: int64(off)}
	}
	return nil
}

// closing returns the offset just past the first occurrence of term in
// doc at or after from, or -1.
func closing(doc []byte, from int, term string) int {
	if from > len(doc) {
		return -1
	}
	i := bytes.Index(doc[from:], []byte(term))
	if i < 0 {
		return -1
	}
	return from + i + len(term)
}

// directiveEnd returns the offset just past the '>' that ends a directive
// whose body goes on from from, or -1. As encoding/xml does, it counts
// nested '<' and '>' outside quotes and skips comments inside.
func directiveEnd(doc []byte, from int) int {
	var quote byte
	depth := 0
	for i := from; i < len(doc); i++ {
		c := doc[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			if depth == 0 {
				return i + 1
			}
			depth--
		case c == '<':
			if bytes.HasPrefix(doc[i+1:], []byte("!--")) {
				end := closing(doc, i+4, "-->")
				if end < 0 {
					return -1
				}
				i = end - 1
				continue
			}
			depth++
		}
	}
	return -1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// nameEnds reports whether c ends a name in a tag.
func nameEnds(c byte) bool {
	return isSpace(c) || c == '/' || c == '>' || c == '='
}

// skipSpace returns the offset of the first non-space byte at or after i.
func skipSpace(doc []byte, i int) int {
	for i < len(doc) && isSpace(doc[i]) {
		i++
	}
	return i
}

// name returns the end of the name starting at i, checking its length.
func (s *Scanner) name(i int) (int, error) {
	doc, start := s.doc, i
	for i < len(doc) && !nameEnds(doc[i]) {
		i++
	}
	if i == start {
		return i, syntaxError("a tag or attribute without a name", start)
	}
	if i-start > s.lim.MaxNameLen {
		return i, &LimitError{Limit: LimitNameLen, Max: s.lim.MaxNameLen, Offset: int64(start)}
	}
	return i, nil
}

func (s *Scanner) startTag(start int) (Token, error) {
	doc := s.doc
	tok := Token{Kind: StartElement, Start: start, NameStart: start + 1, Depth: s.depth + 1}
	if tok.Depth > s.lim.MaxDepth {
		return Token{}, &LimitError{Limit: LimitDepth, Max: s.lim.MaxDepth, Offset: int64(start)}
	}
	i, err := s.name(start + 1)
	if err != nil {
		return Token{}, err
	}
	tok.NameEnd = i
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return Token{}, syntaxError("the document ends inside a tag", start)
		}
		switch doc[i] {
		case '>':
			tok.End = i + 1
			s.pos, s.depth = tok.End, tok.Depth
			return tok, nil
		case '/':
			if i+1 < len(doc) && doc[i+1] == '>' {
				tok.End, tok.Empty = i+2, true
				s.pos = tok.End
				return tok, nil
			}
			return Token{}, syntaxError("'/' inside a tag", i)
		}
		// An attribute: name, '=', quoted value.
		attr := i
		if i, err = s.name(i); err != nil {
			return Token{}, err
		}
		if tok.Attrs++; tok.Attrs > s.lim.MaxAttrs {
			return Token{}, &LimitError{Limit: LimitAttrs, Max: s.lim.MaxAttrs, Offset: int64(attr)}
		}
		if err := s.count(attr); err != nil {
			return Token{}, err
		}
		if i = skipSpace(doc, i); i >= len(doc) || doc[i] != '=' {
			return Token{}, syntaxError("an attribute without a value", attr)
		}
		if i = skipSpace(doc, i+1); i >= len(doc) || doc[i] != '"' && doc[i] != '\'' {
			return Token{}, syntaxError("an attribute value without quotes", attr)
		}
		q := bytes.IndexByte(doc[i+1:], doc[i])
		if q < 0 {
			return Token{}, syntaxError("unterminated attribute value", attr)
		}
		i += q + 2
	}
}

func (s *Scanner) endTag(start int) (Token, error) {
	doc := s.doc
	i, err := s.name(start + 2)
	if err != nil {
		return Token{}, err
	}
	tok := Token{Kind: EndElement, Start: start, NameStart: start + 2, NameEnd: i, Depth: s.depth}
	if i = skipSpace(doc, i); i >= len(doc) || doc[i] != '>' {
		return Token{}, syntaxError("an end tag not closed by '>'", start)
	}
	if s.depth == 0 {
		return Token{}, syntaxError("an end tag with no element open", start)
	}
	tok.End = i + 1
	s.pos = tok.End
	s.depth--
	return tok, nil
}

func syntaxError(reason string, off int) error {
	return &SyntaxError{Reason: reason, Offset: int64(off)}
}

// Attrs iterates over the attributes of a start tag that a Scanner
// returned (tag is doc[tok.Start:tok.End]). Values are raw: quotes
// removed, entities not decoded.
//
//	it := xmlguard.Attrs(tag)
//	for name, value, ok := it.Next(); ok; name, value, ok = it.Next() { … }
func Attrs(tag []byte) AttrIter {
	i := 1
	for i < len(tag) && !nameEnds(tag[i]) {
		i++
	}
	return AttrIter{tag: tag, i: i}
}

// AttrIter is an iterator over a start tag's attributes.
type AttrIter struct {
	tag []byte
	i   int
}

// Next returns the next attribute's name and raw value, or ok false.
func (a *AttrIter) Next() (name, value []byte, ok bool) {
	t := a.tag
	i := skipSpace(t, a.i)
	if i >= len(t) || t[i] == '>' || t[i] == '/' {
		a.i = len(t)
		return nil, nil, false
	}
	n := i
	for i < len(t) && !nameEnds(t[i]) {
		i++
	}
	name = t[n:i]
	i = skipSpace(t, i)
	if i >= len(t) || t[i] != '=' {
		a.i = len(t)
		return nil, nil, false
	}
	i = skipSpace(t, i+1)
	if i >= len(t) {
		a.i = len(t)
		return nil, nil, false
	}
	q := bytes.IndexByte(t[i+1:], t[i])
	if q < 0 {
		a.i = len(t)
		return nil, nil, false
	}
	value = t[i+1 : i+1+q]
	a.i = i + q + 2
	return name, value, true
}
