package jsondec

import (
	"errors"
	"strconv"
	"unsafe"
)

// The Decoder: its errors and state, white space, and the methods a
// generated decoder calls to read an object's members into a struct's
// fields. Checking and consuming values is in skip.go, strings in
// strings.go.

// MaxDepth is the deepest nesting of objects and arrays a Decoder accepts,
// the same as encoding/json's.
const MaxDepth = 10000

// ErrDepth is wrapped by the error for input nested deeper than MaxDepth.
var ErrDepth = errors.New("json: nesting deeper than 10000 levels")

// SyntaxError is malformed JSON, or JSON of another shape than the value
// being decoded (a string where an object belongs, a number that does not
// parse as an integer).
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what was wrong
	Err    error  // the cause, if any: ErrDepth or a strconv error
}

func (e *SyntaxError) Error() string {
	return "json: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// Decoder reads one JSON document from an immutable buffer.
type Decoder struct {
	buf   []byte
	pos   int
	depth int  // objects and arrays open around pos
	open  bool // Object has just opened an object: no member read yet
	err   error
	// key and fold hold an unescaped key and a folded one; longer keys are
	// allocated.
	key, fold [64]byte
}

// Reset makes d read b from its start. b must not be modified while
// strings decoded from it are in use.
func (d *Decoder) Reset(b []byte) {
	d.buf, d.pos, d.depth, d.open, d.err = b, 0, 0, false, nil
}

// Rest returns the input not read yet.
func (d *Decoder) Rest() []byte { return d.buf[d.pos:] }

// Fail records err as the decoder's error (unless it has one) at the
// current offset, so that callers can impose their own limits.
func (d *Decoder) Fail(msg string, err error) { d.fail(msg, err) }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Finish checks that only white space follows the top-level value and
// returns the first error met.
func (d *Decoder) Finish() error {
	if d.err == nil {
		d.ws()
		if d.pos < len(d.buf) {
			d.syntax("invalid character " + quoteByte(d.buf[d.pos]) + " after top-level value")
		}
	}
	return d.err
}

func (d *Decoder) fail(msg string, cause error) {
	if d.err == nil {
		d.err = &SyntaxError{Offset: d.pos, Msg: msg, Err: cause}
	}
}

func (d *Decoder) syntax(msg string) { d.fail(msg, nil) }

// unexpected reports the byte at pos (or the end of input) as invalid
// where a value of kind what was expected.
func (d *Decoder) unexpected(what string) {
	if d.pos >= len(d.buf) {
		d.syntax("unexpected end of JSON input")
		return
	}
	d.syntax("invalid character " + quoteByte(d.buf[d.pos]) + " looking for " + what)
}

func quoteByte(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	return strconv.QuoteRuneToASCII(rune(c))
}

// ws skips JSON white space.
func (d *Decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *Decoder) peek() byte {
	// Pushes are compact: test for no white space first.
	if d.pos < len(d.buf) && d.buf[d.pos] > ' ' {
		return d.buf[d.pos]
	}
	d.ws()
	if d.pos < len(d.buf) {
		return d.buf[d.pos]
	}
	return 0
}

// Object starts decoding an object into a struct. It reports false, with
// no error, for null (which leaves the struct as it is), and false with an
// error for anything but an object. After true, call Member until it
// reports false.
func (d *Decoder) Object() bool {
	if d.err != nil {
		return false
	}
	switch d.peek() {
	case '{':
		d.depth++
		if d.depth > MaxDepth {
			d.fail("exceeded max depth", ErrDepth)
			return false
		}
		d.pos++
		d.open = true
		return true
	case 'n':
		d.literal("null")
		return false
	}
	d.typeError("object")
	return false
}

// typeError reports a value of the wrong kind at pos. The value is checked
// first, so that malformed JSON is reported as such.
func (d *Decoder) typeError(want string) {
	start := d.pos
	d.rawValue()
	if d.err == nil {
		d.pos = start
		d.syntax("cannot decode " + kindAt(d.buf[start]) + " into " + want)
	}
}

func kindAt(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// Member advances to the next member of the object opened by Object and
// reports whether there is one; then Key and one value method must follow.
// At the end of the object (or after an error) it reports false.
func (d *Decoder) Member() bool {
	if d.err != nil {
		return false
	}
	c := d.peek()
	if d.open {
		d.open = false
		if c == '}' {
			d.pos++
			d.depth--
			return false
		}
		return true
	}
	switch c {
	case ',':
		d.pos++
		return true
	case '}':
		d.pos++
		d.depth--
		return false
	}
	d.unexpected("',' or '}' after object member")
	return false
}

// Key reads a member's key and the colon after it, and returns the key
// unescaped. The result is valid until the next call of Key.
func (d *Decoder) Key() []byte {
	if d.err != nil {
		return nil
	}
	if d.peek() != '"' {
		d.unexpected("beginning of object key string")
		return nil
	}
	start, end, flags := d.scanString()
	if d.err != nil {
		return nil
	}
	if d.peek() != ':' {
		d.unexpected("':' after object key")
		return nil
	}
	d.pos++
	if flags == 0 {
		return d.buf[start:end]
	}
	return appendUnquoted(d.key[:0], d.buf[start:end])
}

// KeyString is Key returned as a string that aliases the input when the
// key needs no unescaping, and is a copy otherwise.
func (d *Decoder) KeyString() string {
	if d.err != nil {
		return ""
	}
	if d.peek() != '"' {
		d.unexpected("beginning of object key string")
		return ""
	}
	start, end, flags := d.scanString()
	if d.err != nil {
		return ""
	}
	if d.peek() != ':' {
		d.unexpected("':' after object key")
		return ""
	}
	d.pos++
	return unquoteString(d.buf[start:end], flags)
}

// Fold returns key folded as encoding/json folds names for its
// case-insensitive match (see FoldName). The result is valid until the
// next call of Fold.
func (d *Decoder) Fold(key []byte) []byte {
	return AppendFold(d.fold[:0], key)
}

// String decodes a string value into *p. null leaves *p as it is; any
// other kind of value is an error.
func (d *Decoder) String(p *string) {
	if d.err != nil {
		return
	}
	switch d.peek() {
	case '"':
		start, end, flags := d.scanString()
		if d.err == nil {
			*p = unquoteString(d.buf[start:end], flags)
		}
	case 'n':
		d.literal("null")
	default:
		d.typeError("string")
	}
}

// Text decodes any value into *p as text: a string unescaped, null as "",
// anything else (number, true, false, object, array) as its JSON text.
func (d *Decoder) Text(p *string) {
	if d.err != nil {
		return
	}
	if d.peek() == '"' {
		start, end, flags := d.scanString()
		if d.err == nil {
			*p = unquoteString(d.buf[start:end], flags)
		}
		return
	}
	raw := d.rawValue()
	if d.err != nil {
		return
	}
	if string(raw) == "null" {
		*p = ""
		return
	}
	*p = unsafe.String(&raw[0], len(raw))
}

// Int decodes any value into *p with ParseInt's rules: a number or a
// string holding one, null or "" as 0.
func (d *Decoder) Int(p *int64) {
	if d.err != nil {
		return
	}
	start := d.pos
	raw := d.rawValue()
	if d.err != nil {
		return
	}
	i, err := ParseInt(raw)
	if err != nil {
		d.pos = start
		d.fail("cannot decode "+kindAt(raw[0])+" as an integer", err)
		return
	}
	*p = i
}

// Raw stores the JSON text of any value in *p (null as "null"), sharing
// the input's memory.
func (d *Decoder) Raw(p *[]byte) {
	if d.err != nil {
		return
	}
	raw := d.rawValue()
	if d.err == nil {
		*p = raw[:len(raw):len(raw)]
	}
}

// Skip checks and skips one value.
func (d *Decoder) Skip() {
	if d.err == nil {
		d.rawValue()
	}
}
