package envelope

import "github.com/pushmon/pushmon/internal/xmlguard"

// The JSON parser: its state, and the grammar of values, keys, literals,
// numbers and strings, checked as encoding/json.Valid checks it. The
// scanners of single tokens are in jsonscan.go; skipping an invalid value
// is in jsonskip.go; the envelope is read in jsonsplit.go
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
//
// The loop keeps its position, depth and token count in local variables
// and writes them back to p only when it returns or looks at its
// context: the grammar is checked by pure functions of (b, i), which the
// compiler keeps in registers.
func (p *jsonParser) value() error {
	var stack [maxJSONDepth / 64]uint64 // bit set: the container at that level is an object
	b, i := p.b, p.i
	base := p.depth
	depth := base
	tokens, next := p.ck.tokens, p.ck.next
	var syn *jsonSyntax
	var err error
	for {
		// A value is expected at i.
		if i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i >= len(b) {
			syn = synEOF
			goto fail
		}
		if tokens++; tokens >= next {
			if next, err = p.lookAt(tokens); err != nil {
				goto out
			}
		}
		switch c := b[i]; c {
		case '"':
			if i, _, syn = scanString(b, i); syn != nil {
				goto fail
			}
		case '{', '[':
			if depth+1 > p.maxDepth {
				err = &xmlguard.LimitError{Limit: LimitJSONDepth, Max: p.maxDepth, Offset: int64(i)}
				goto out
			}
			depth++
			i++
			lvl := depth - base - 1
			if c == '{' {
				stack[lvl>>6] |= 1 << (lvl & 63)
			} else {
				stack[lvl>>6] &^= 1 << (lvl & 63)
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipSpace(b, i)
			}
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				i++
				depth--
				break
			}
			if c == '{' {
				if i < len(b) && b[i] == '"' {
					if tokens++; tokens >= next {
						if next, err = p.lookAt(tokens); err != nil {
							goto out
						}
					}
				}
				if i, syn = scanKey(b, i); syn != nil {
					goto fail
				}
			}
			continue
		case 't':
			if i, syn = scanLiteral(b, i, "true"); syn != nil {
				goto fail
			}
		case 'f':
			if i, syn = scanLiteral(b, i, "false"); syn != nil {
				goto fail
			}
		case 'n':
			if i, syn = scanLiteral(b, i, "null"); syn != nil {
				goto fail
			}
		default:
			if i, syn = scanNumber(b, i); syn != nil {
				goto fail
			}
		}
		// After a value: close containers, or find the next element.
		for {
			if depth == base {
				goto out
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipSpace(b, i)
			}
			if i >= len(b) {
				syn = synEOF
				goto fail
			}
			lvl := depth - base - 1
			obj := stack[lvl>>6]&(1<<(lvl&63)) != 0
			c := b[i]
			if c == ',' {
				i++
				if obj {
					if i < len(b) && b[i] <= ' ' {
						i = skipSpace(b, i)
					}
					if i < len(b) && b[i] == '"' {
						if tokens++; tokens >= next {
							if next, err = p.lookAt(tokens); err != nil {
								goto out
							}
						}
					}
					if i, syn = scanKey(b, i); syn != nil {
						goto fail
					}
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				i++
				depth--
				continue
			}
			syn = synAfterMember
			goto fail
		}
	}
fail:
	err = p.syntaxAt(syn, i)
out:
	p.i, p.depth, p.ck.tokens = i, depth, tokens
	return err
}

// lookAt records the token count and looks at the context (a check
// point of value's loop), returning the count of the next check point.
func (p *jsonParser) lookAt(tokens int64) (next int64, err error) {
	p.ck.tokens = tokens
	err = p.ck.check()
	return p.ck.next, err
}

// syntaxAt returns the grammar error e found at i.
func (p *jsonParser) syntaxAt(e *jsonSyntax, i int) error {
	p.errOff = i
	return e
}

// key reads an object key and its colon.
func (p *jsonParser) key() error {
	if p.peek() != '"' {
		return p.syntax(synKey)
	}
	if err := p.ck.tick(); err != nil {
		return err
	}
	i, syn := scanKey(p.b, p.i)
	p.i = i
	if syn != nil {
		return p.syntax(syn)
	}
	return nil
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p.i.
// What follows it is checked by the caller.
func (p *jsonParser) number() error {
	i, syn := scanNumber(p.b, p.i)
	p.i = i
	if syn != nil {
		return p.syntax(syn)
	}
	return nil
}

// str validates a string at p.i (its opening quote) and moves past it,
// reporting whether it holds escapes.
func (p *jsonParser) str() (escaped bool, err error) {
	i, escaped, syn := scanString(p.b, p.i)
	p.i = i
	if syn != nil {
		return escaped, p.syntax(syn)
	}
	return escaped, nil
}
