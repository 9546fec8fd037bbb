package envelope

import (
	"encoding/binary"
	"math/bits"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// The JSON parser: its state, and the grammar of values, keys, literals,
// numbers and strings, checked as encoding/json.Valid checks it. Skipping
// an invalid value is in jsonskip.go; the envelope is read in jsonsplit.go
// and a Msg in jsonmsg.go.

// maxJSONDepth is the deepest nesting the JSON parser can track (its
// container stack is a fixed bit set); a larger Limits.MaxDepth is
// lowered to it.
const maxJSONDepth = 1024

// LimitJSONDepth names the JSON nesting budget in a *xmlguard.LimitError.
const LimitJSONDepth = "JSON nesting depth"

// jsonSyntax is a JSON grammar error. It is internal: the splitter turns
// it into an *EventError or ErrMalformed.
type jsonSyntax struct {
	reason string
}

func (e *jsonSyntax) Error() string { return e.reason }

// The grammar errors, one value each: a syntax error allocates nothing
// (its offset is the parser's errOff).
var (
	synAfterDocument     = &jsonSyntax{"data after the top-level value"}
	synAfterMember       = &jsonSyntax{"invalid character after a value"}
	synAfterMsg          = &jsonSyntax{"invalid character after a Msg"}
	synAfterMsgValue     = &jsonSyntax{"data after the Msg"}
	synAfterObjectMember = &jsonSyntax{"invalid character after an object member"}
	synAfterValue        = &jsonSyntax{"data after the value"}
	synColon             = &jsonSyntax{"missing ':' after an object key"}
	synControlChar       = &jsonSyntax{"a control character in a string"}
	synEOF               = &jsonSyntax{"unexpected end of JSON input"}
	synEscape            = &jsonSyntax{"invalid escape in a string"}
	synExponent          = &jsonSyntax{"a number without digits in its exponent"}
	synFraction          = &jsonSyntax{"a number without digits after '.'"}
	synKey               = &jsonSyntax{"an object key is not a string"}
	synLiteral           = &jsonSyntax{"invalid literal"}
	synNoValue           = &jsonSyntax{"invalid character looking for a value"}
	synNotObject         = &jsonSyntax{"not an object"}
	synUnicodeEscape     = &jsonSyntax{`invalid \u escape`}
	synUnterminated      = &jsonSyntax{"unterminated string"}
)

// jsonParser reads a JSON document. It validates the grammar exactly as
// encoding/json.Valid does (invalid UTF-8 is accepted, as there), counts
// tokens for the splitter's cancellation checks, and bounds nesting. It
// allocates nothing but the strings it unescapes (strValue).
type jsonParser struct {
	b        []byte
	i        int
	depth    int // containers open around p.i
	maxDepth int
	ck       checker
	// own, when set, is called with each member of a Msg (see ParseRecord).
	own func(key, value []byte) bool
	// errOff is where the last grammar error was found: the one the
	// parser returns, when it returns one, since a grammar error either
	// ends the parse or is recorded before the parser goes on.
	errOff int
}

// syntax returns the grammar error e found at p.i.
func (p *jsonParser) syntax(e *jsonSyntax) error {
	p.errOff = p.i
	return e
}

func (p *jsonParser) ws() {
	if p.i < len(p.b) && p.b[p.i] > ' ' {
		return // compact JSON: mostly no space at all
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (p *jsonParser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// atEnd reports whether only spaces are left.
func (p *jsonParser) atEnd() bool {
	p.ws()
	return p.i >= len(p.b)
}

// open enters a container at p.i.
func (p *jsonParser) open() error {
	if p.depth+1 > p.maxDepth {
		return &xmlguard.LimitError{Limit: LimitJSONDepth, Max: p.maxDepth, Offset: int64(p.i)}
	}
	p.depth++
	p.i++
	return nil
}

// value validates one value at p.i (after spaces) and moves past it. It
// returns a *jsonSyntax at the first grammar error (p.i then lies
// somewhere inside the value), a *xmlguard.LimitError beyond the depth
// budget, or the checker's error once it has stopped the split.
func (p *jsonParser) value() error {
	var stack [maxJSONDepth / 64]uint64 // bit set: the container at that level is an object
	base := p.depth
	b := p.b
	for {
		// A value is expected at p.i.
		p.ws()
		if p.i >= len(b) {
			return p.syntax(synEOF)
		}
		if err := p.ck.tick(); err != nil {
			return err
		}
		switch c := b[p.i]; c {
		case '{', '[':
			if err := p.open(); err != nil {
				return err
			}
			lvl := p.depth - base - 1
			if c == '{' {
				stack[lvl>>6] |= 1 << (lvl & 63)
			} else {
				stack[lvl>>6] &^= 1 << (lvl & 63)
			}
			p.ws()
			if p.i < len(b) && b[p.i] == c+2 { // '}' or ']'
				p.i++
				p.depth--
				break
			}
			if c == '{' {
				if err := p.key(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, err := p.str(); err != nil {
				return err
			}
		case 't':
			if err := p.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := p.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := p.literal("null"); err != nil {
				return err
			}
		default:
			if err := p.number(); err != nil {
				return err
			}
		}
		// After a value: close containers, or find the next element.
		for {
			if p.depth == base {
				return nil
			}
			p.ws()
			if p.i >= len(b) {
				return p.syntax(synEOF)
			}
			lvl := p.depth - base - 1
			obj := stack[lvl>>6]&(1<<(lvl&63)) != 0
			c := b[p.i]
			if c == ',' {
				p.i++
				if obj {
					if err := p.key(); err != nil {
						return err
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				p.i++
				p.depth--
				continue
			}
			return p.syntax(synAfterMember)
		}
	}
}

// key reads an object key and its colon.
func (p *jsonParser) key() error {
	if p.peek() != '"' {
		return p.syntax(synKey)
	}
	if err := p.ck.tick(); err != nil {
		return err
	}
	if _, err := p.str(); err != nil {
		return err
	}
	if p.peek() != ':' {
		return p.syntax(synColon)
	}
	p.i++
	return nil
}

func (p *jsonParser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.syntax(synLiteral)
	}
	p.i += len(lit)
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. What
// follows it is checked by the caller.
func (p *jsonParser) number() error {
	b, i := p.b, p.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		p.i = i
		return p.syntax(synNoValue)
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			p.i = j
			return p.syntax(synFraction)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			p.i = j
			return p.syntax(synExponent)
		}
		i = j
	}
	p.i = i
	return nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// str validates a string at p.i (its opening quote) and moves past it,
// reporting whether it holds escapes.
func (p *jsonParser) str() (escaped bool, err error) {
	b := p.b
	i := p.i + 1
	for {
		i = stringStop(b, i)
		if i >= len(b) {
			p.i = i
			return escaped, p.syntax(synUnterminated)
		}
		switch c := b[i]; {
		case c == '"':
			p.i = i + 1
			return escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				p.i = i
				return escaped, p.syntax(synUnterminated)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					p.i = i
					return escaped, p.syntax(synUnicodeEscape)
				}
				i += 6
			default:
				p.i = i
				return escaped, p.syntax(synEscape)
			}
		default:
			p.i = i
			return escaped, p.syntax(synControlChar)
		}
	}
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// stringStop returns the index of the first '"', '\\' or control byte
// (< 0x20) in b at or after i, or len(b). It tests eight bytes at a time:
// the strings of an event document are mostly too short for
// bytes.IndexByte's set-up to pay, and too long for a byte loop.
func stringStop(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ ('"' * ones)  // zero bytes where w has '"'
		e := w ^ ('\\' * ones) // zero bytes where w has '\\'
		// The lowest byte flagged by (x-ones) &^ x is exactly the first
		// zero byte of x, and the lowest flagged by (w-0x20*ones) &^ w
		// exactly the first byte below 0x20 (higher flags may be false
		// positives, caused by the borrow of a lower byte).
		if m := ((q-ones)&^q | (e-ones)&^e | (w-0x20*ones)&^w) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return len(b)
}
