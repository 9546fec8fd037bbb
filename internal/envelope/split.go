package envelope

import (
	"context"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// Limits are the budgets of one document: xmlguard's, whose MaxDepth
// bounds JSON nesting too (the document's own levels included; at most
// 1024 for JSON).
type Limits = xmlguard.Limits

// The default events budget of a document of n bytes is
// DefaultEventBase + n/DefaultBytesPerEvent events, and at most
// DefaultMaxEvents. A valid Msg takes at least 19 bytes
// ({"topic":"x","A":0}; 25 in XML), so no document of valid events is
// refused; one of tiny invalid Msgs (a JSON array element takes 2 bytes)
// is. Every event costs its consumer an Event of 144 bytes beside the
// document, and an invalid one its EventError: the budget keeps what a
// document makes its reader hold within about 12 times its size, and 13
// MB, where a block inflating to 64 MiB of two-byte Msgs would make it
// gigabytes.
const (
	DefaultEventBase     = 64
	DefaultBytesPerEvent = 16
	// DefaultMaxEvents is 65 535, the most a push block's Count can
	// declare.
	DefaultMaxEvents = 65535
)

// LimitEvents names the events budget in a *xmlguard.LimitError.
const LimitEvents = "events"

// checkEvery is how many tokens a split reads between two looks at its
// context.
const checkEvery = 256

// Splitter splits event documents into events. Its zero value uses the
// default budgets. A Splitter is used by one goroutine at a time; it keeps
// no reference to a document after Split returns.
type Splitter struct {
	// Limits are the budgets of each document.
	Limits Limits
	// MaxEvents bounds the Msgs of one document (0: the default budget,
	// DefaultEventBase + n/DefaultBytesPerEvent for a document of n bytes,
	// at most DefaultMaxEvents). A document with more is refused with a
	// *xmlguard.LimitError naming LimitEvents before its first event
	// beyond the budget is read.
	MaxEvents int
	// OnEvent, if set, is called after each event is emitted with the
	// number of tokens read so far (a hook for tests, e.g. to cancel the
	// split's context there).
	OnEvent func(tokens int64)

	tokens  int64              // read by the last split
	onCheck func(tokens int64) // a hook for tests: called at each look at the context
}

// checker counts the tokens of a split and looks at its context every
// checkEvery of them.
type checker struct {
	ctx     context.Context
	done    <-chan struct{}
	tokens  int64
	next    int64
	invalid int // events emitted with Err set
	// maxEvents is the events budget; 0 (a parser not splitting a
	// document) is none.
	maxEvents int
	onCheck   func(tokens int64)
	onEvent   func(tokens int64)
}

// newChecker returns the checker of one split of n bytes. Parsers hold
// it by value: a pointer to it beside the document they read would, since
// escape analysis does not tell a struct's fields apart, move it to the
// heap.
func (s *Splitter) newChecker(ctx context.Context, n int) checker {
	maxEvents := s.MaxEvents
	if maxEvents <= 0 {
		maxEvents = min(DefaultMaxEvents, DefaultEventBase+n/DefaultBytesPerEvent)
	}
	return checker{ctx: ctx, done: ctx.Done(), onCheck: s.onCheck, onEvent: s.OnEvent, maxEvents: maxEvents}
}

// admit returns a *xmlguard.LimitError when the Msg of index index, at
// byte off, is beyond the events budget.
func (c *checker) admit(index, off int) error {
	if c.maxEvents > 0 && index >= c.maxEvents {
		return &xmlguard.LimitError{Limit: LimitEvents, Max: c.maxEvents, Offset: int64(off)}
	}
	return nil
}

// emitted counts an event just emitted and calls the OnEvent hook.
func (c *checker) emitted(ev *Event) {
	if ev.Err != nil {
		c.invalid++
	}
	if c.onEvent != nil {
		c.onEvent(c.tokens)
	}
}

// tick counts a token; once in checkEvery it returns the context's cause
// if the context has ended.
func (c *checker) tick() error {
	c.tokens++
	if c.tokens < c.next {
		return nil
	}
	return c.check()
}

// check looks at the context now.
func (c *checker) check() error {
	c.next = c.tokens + checkEvery
	if c.onCheck != nil {
		c.onCheck(c.tokens)
	}
	if c.done == nil {
		return nil
	}
	select {
	case <-c.done:
		return context.Cause(c.ctx)
	default:
		return nil
	}
}

// Tokens returns how many tokens the last Split read (JSON values and
// keys; XML tokens, attributes included, of the envelope and of the
// bodies it validated).
func (s *Splitter) Tokens() int64 { return s.tokens }

// Split reads doc (format f; Unknown sniffs it) and calls emit with each
// of its events, in order. The events' Body aliases doc, and for JSON
// their strings may too, so doc must not be modified while they are in
// use.
//
// An envelope of no Msg ({"Document":null}, <Document/>, an empty Msg
// array), like an empty document (nothing but white space), emits nothing
// and returns nil: a keep-alive. An invalid Msg is
// emitted with Err set (and counted in invalid); the other Msgs are not
// affected. Split returns an error, and the events emitted so far must be
// dropped, when the document is not an envelope (ErrNotEnvelope), is not
// well-formed enough to find its events (ErrMalformed), exceeds a budget
// (a *xmlguard.LimitError), or when ctx ends (its cause), which Split
// looks at every 256 tokens and before each event.
//
// Time is linear in len(doc). A JSON split allocates nothing but the
// escaped strings it decodes (once each, at most three times their size)
// and one EventError for each invalid event; an XML split validates each
// body with encoding/xml, which allocates in proportion to the body, once
// the guard's budgets have bounded it.
func (s *Splitter) Split(ctx context.Context, doc []byte, f Format, emit func(Event)) (invalid int, err error) {
	if isBlankDoc(doc) {
		s.tokens = 0
		return 0, nil
	}
	if f == Unknown {
		f = Sniff(doc)
	}
	var ck checker
	if f == XML {
		ck, err = splitXML(s.newChecker(ctx, len(doc)), s.Limits, doc, emit)
	} else {
		ck, err = splitJSON(s.newChecker(ctx, len(doc)), s.maxDepth(), doc, emit)
	}
	s.tokens = ck.tokens
	return ck.invalid, err
}

// maxDepth returns the JSON depth budget.
func (s *Splitter) maxDepth() int {
	d := s.Limits.MaxDepth
	if d == 0 {
		d = xmlguard.DefaultMaxDepth
	}
	return max(0, min(d, maxJSONDepth))
}

// Wellformed reports whether doc is one well-formed JSON value or XML
// document (format f; Unknown sniffs it), under the budgets: nil, or
// ErrMalformed (wrapped with the reason), or a *xmlguard.LimitError, or
// ctx's cause. For JSON it agrees with encoding/json.Valid within the
// depth budget; XML passes the guard and then encoding/xml's strict
// Token loop, and needs a root element.
func (s *Splitter) Wellformed(ctx context.Context, doc []byte, f Format) error {
	if f == Unknown {
		f = Sniff(doc)
	}
	if f == XML {
		x := xmlSplit{ck: s.newChecker(ctx, len(doc)), lim: s.Limits, doc: doc}
		err := x.wellformed()
		s.tokens = x.ck.tokens
		return err
	}
	p := jsonParser{b: doc, maxDepth: s.maxDepth(), ck: s.newChecker(ctx, len(doc))}
	err := p.value()
	if err == nil && !p.atEnd() {
		err = p.syntax(synAfterDocument)
	}
	s.tokens = p.ck.tokens
	if err != nil {
		return p.docErr(err)
	}
	return nil
}

// isBlankDoc reports whether doc holds nothing but white space: no
// document, which a push of it means as a keep-alive, as HTTP pushes do.
func isBlankDoc(doc []byte) bool {
	for _, c := range doc {
		if !isSpace(c) {
			return false
		}
	}
	return true
}
