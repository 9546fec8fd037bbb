// Package xmlguard checks an untrusted XML document against explicit
// budgets before encoding/xml reads it.
//
// encoding/xml keeps a stack entry per open element and copies every
// name, attribute and namespace declaration it meets, and its namespace
// handling looks through every declaration in scope: a small document of
// deeply nested elements, or of elements with thousands of attributes or
// xmlns declarations, makes it allocate hundreds of times the document's
// size and run for seconds. A [Scanner] walks the same document in one
// pass, in time linear in its length and without allocating, and stops
// at the first token that exceeds a budget ([Limits]): nesting depth,
// attributes per element (xmlns declarations included), name length, and
// tokens per document byte. Once a document has passed, what encoding/xml
// keeps at any moment is bounded by the budgets, and what it does is
// linear in the document's size.
//
// The check is conservative: it rejects only what exceeds a budget
// ([*LimitError], matching [ErrLimit]) or what no XML parser can read
// because its markup is cut short or unbalanced ([*SyntaxError], matching
// [ErrSyntax]). It does not check names, characters, entities or
// attribute syntax beyond what it needs to find where each token ends:
// encoding/xml still validates the document it is then given. Whatever
// encoding/xml reads without error and that stays within the budgets,
// Check accepts.
//
// encoding/xml expands no entity declared in a document type definition
// (only the five predefined ones and character references), so there is
// no entity-expansion budget: expansion cannot happen.
package xmlguard

import (
	"errors"
	"fmt"
	"io"
)

// Default budgets, used for the zero fields of [Limits].
const (
	// DefaultMaxDepth is how deeply elements may nest: the root element is
	// at depth 1.
	DefaultMaxDepth = 64
	// DefaultMaxAttrs is how many attributes one element may carry,
	// namespace declarations (xmlns, xmlns:p) included.
	DefaultMaxAttrs = 64
	// DefaultMaxNameLen is the longest element or attribute name, prefix
	// included, in bytes.
	DefaultMaxNameLen = 1024
	// DefaultTokenBase and DefaultBytesPerToken make the default token
	// budget of a document of n bytes: DefaultTokenBase + n /
	// DefaultBytesPerToken tokens. The shortest tokens take 3 or 4 bytes
	// (<a>, <a/>, a=""), so only documents made almost wholly of empty
	// markup come near it.
	DefaultTokenBase     = 1024
	DefaultBytesPerToken = 2
)

// Limits are the budgets of one document. A zero field takes its
// default; a negative one is treated as zero (nothing allowed).
type Limits struct {
	// MaxDepth bounds element nesting (0: DefaultMaxDepth).
	MaxDepth int
	// MaxAttrs bounds the attributes of one element, namespace
	// declarations included (0: DefaultMaxAttrs).
	MaxAttrs int
	// MaxNameLen bounds the bytes of an element's or attribute's name
	// (0: DefaultMaxNameLen).
	MaxNameLen int
	// MaxTokens bounds the tokens of the document: start and end tags,
	// attributes, runs of character data, comments, processing
	// instructions, CDATA sections and directives each count one (an
	// empty element <a/> counts one). 0 means DefaultTokenBase + n /
	// DefaultBytesPerToken for a document of n bytes.
	MaxTokens int
}

// resolve returns l with the defaults filled in for a document of n
// bytes.
func (l Limits) resolve(n int) Limits {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAttrs == 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	if l.MaxNameLen == 0 {
		l.MaxNameLen = DefaultMaxNameLen
	}
	if l.MaxTokens == 0 {
		l.MaxTokens = DefaultTokenBase + n/DefaultBytesPerToken
	}
	l.MaxDepth = max(l.MaxDepth, 0)
	l.MaxAttrs = max(l.MaxAttrs, 0)
	l.MaxNameLen = max(l.MaxNameLen, 0)
	l.MaxTokens = max(l.MaxTokens, 0)
	return l
}

// Names of the budgets, as a LimitError's Limit.
const (
	LimitDepth   = "nesting depth"
	LimitAttrs   = "attributes per element"
	LimitNameLen = "name length"
	LimitTokens  = "tokens"
)

// ErrLimit matches every [*LimitError] with errors.Is.
var ErrLimit = errors.New("document exceeds a parsing budget")

// LimitError reports the first token of a document that exceeds a
// budget. It matches ErrLimit with errors.Is. Other parsers of untrusted
// documents in this module (JSON included) report their budgets with it
// too.
type LimitError struct {
	// Limit names the budget: LimitDepth, LimitAttrs, LimitNameLen,
	// LimitTokens, or another parser's own name for its budget.
	Limit string
	// Max is the budget's value.
	Max int
	// Offset is the byte offset in the document of the token that
	// exceeded it.
	Offset int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("document exceeds its %s budget of %d at byte %d", e.Limit, e.Max, e.Offset)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// ErrSyntax matches every [*SyntaxError] with errors.Is.
var ErrSyntax = errors.New("malformed XML markup")

// SyntaxError reports markup that no XML parser can read: a tag, comment,
// CDATA section or processing instruction cut short by the end of the
// document, an end tag with no element open, an element left open at the
// end, a tag without a name.
type SyntaxError struct {
	Reason string
	Offset int64
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed XML at byte %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// Check scans doc once and returns the first budget it exceeds (a
// *LimitError) or the first markup it cannot delimit (a *SyntaxError),
// or nil. It allocates nothing unless it returns an error, and its time
// is linear in len(doc).
func Check(doc []byte, lim Limits) error {
	s := NewScanner(doc, lim)
	for {
		if _, err := s.Next(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
