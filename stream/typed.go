package stream

import (
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/internal/jsondec"
	"github.com/pushmon/pushmon/internal/xmlguard"
)

// Limits of the typed decoders. Body sizes are bounded where documents are
// read (Config.MaxDecompressed and the HTTP receiver's body limit).
var (
	// ErrBodyTooDeep: a JSON body nests objects and arrays deeper than
	// 10 000 levels (encoding/json's limit too).
	ErrBodyTooDeep = jsondec.ErrDepth
	// ErrRecordTooLarge: a body read as a Record has more than
	// MaxRecordFields top-level members.
	ErrRecordTooLarge = errors.New("stream: record has too many members")
)

// MaxRecordFields is the most members a Record is decoded with.
const MaxRecordFields = 4096

// DecodeError is the error of a typed accessor whose event body is not a
// valid document of the resource's shape: malformed JSON or XML, a value of
// the wrong kind (a string where an object belongs, a number that does not
// parse or is beyond int64's range), or a limit exceeded (errors.Is
// ErrBodyTooDeep or ErrRecordTooLarge; for XML, ErrDocumentLimit, a
// *LimitError naming the budget, checked before encoding/xml reads the
// body). The accessor returns it with the zero value of its type (a nil
// Record): nothing decoded before the error is handed over.
type DecodeError struct {
	Resource string // the resource being decoded, e.g. "DataPoint"
	Format   string // "JSON" or "XML"
	Offset   int64  // byte offset in Body where the problem was found; -1 if unknown
	Msg      string // what was wrong
	Err      error  // the cause, if any
}

func (e *DecodeError) Error() string {
	s := "stream: " + e.Resource + " " + e.Format + " body: " + e.Msg
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (offset %d)", e.Offset)
	}
	return s
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// bodyIsXML reports whether the event's Body is XML: its Format says so,
// or, for FormatUnknown, its first byte. It is the only place the typed
// accessors read Event.Format.
func (e Event) bodyIsXML() bool {
	return e.Format == FormatXML || e.Format == FormatUnknown && envelope.Sniff(e.Body) == envelope.XML
}

// checkResource returns the event's Err if it is invalid, else
// ErrWrongResource unless the event is of resource.
func (e Event) checkResource(resource string) error {
	if e.Err != nil {
		return e.Err
	}
	if e.Resource != resource {
		return fmt.Errorf("%w: want %s, have %q", ErrWrongResource, resource, e.Resource)
	}
	return nil
}

// jsonError converts a JSON decoder's error.
func jsonError(resource string, err error) error {
	if err == nil {
		return nil
	}
	de := &DecodeError{Resource: resource, Format: "JSON", Offset: -1, Msg: err.Error(), Err: err}
	var se *jsondec.SyntaxError
	if errors.As(err, &se) {
		de.Offset, de.Msg, de.Err = int64(se.Offset), se.Msg, se.Err
	}
	return de
}

// decodeXML decodes an XML body into a new T with encoding/xml, once
// the body has passed the XML budgets (see guardXML). With an error it
// returns T's zero value, not what encoding/xml decoded before the error.
func decodeXML[T any](e Event, resource string) (T, error) {
	var v T
	if err := guardXML(e.Body); err != nil {
		return v, xmlError(resource, err)
	}
	if err := xml.Unmarshal(e.Body, &v); err != nil {
		var zero T
		return zero, xmlError(resource, err)
	}
	return v, nil
}

// guardXML checks an XML body against the default budgets of a document
// before encoding/xml reads it, returning the *LimitError of the first
// budget exceeded (ErrDocumentLimit). An envelope's bodies passed them
// with their document, but a raw event's did not (the splitter stops
// reading a document whose root is not an envelope's, and the poller
// delivers a document over a budget raw), nor did an Event built by hand:
// unguarded, encoding/xml allocates tens of times the size of a deeply
// nested body. The check is one pass without allocation. Markup the guard
// cannot delimit is left to encoding/xml, which reports it in its own
// words (every token before it is within the budgets).
func guardXML(body []byte) error {
	err := xmlguard.Check(body, xmlguard.Limits{})
	if errors.Is(err, xmlguard.ErrLimit) {
		return err
	}
	return nil
}

func xmlError(resource string, err error) error {
	de := &DecodeError{Resource: resource, Format: "XML", Offset: -1, Msg: err.Error(), Err: err}
	var le *xmlguard.LimitError
	if errors.As(err, &le) {
		de.Offset = le.Offset
	}
	if errors.Is(err, ErrRecordTooLarge) {
		de.Msg = "too many members"
	}
	return de
}
