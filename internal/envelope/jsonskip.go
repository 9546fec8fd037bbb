package envelope

import (
	"encoding/binary"
	"math/bits"
)

// Skipping a JSON value without checking its grammar: only strings and
// brackets count, so that the parser finds where an invalid value ends and
// goes on after it.

// skip moves past one value at p.i without checking its grammar: only
// strings (to their closing quote) and brackets (balanced, within the
// depth budget) count. It finds where an invalid value ends, so that the
// parser can go on after it. It returns a *jsonSyntax when even that
// structure is broken.
func (p *jsonParser) skip() error {
	b := p.b
	switch c := p.peek(); c {
	case 0:
		return p.syntax(synEOF)
	case '}', ']', ',', ':':
		return p.syntax(synNoValue)
	case '"':
		return p.skipString()
	case '{', '[':
		base := p.depth
		for p.i < len(b) {
			if err := p.ck.tick(); err != nil {
				return err
			}
			switch b[p.i] {
			case '"':
				if err := p.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				if err := p.open(); err != nil {
					return err
				}
				continue
			case '}', ']':
				p.depth--
				p.i++
				if p.depth == base {
					return nil
				}
				continue
			}
			p.i++
		}
		p.depth = base
		return p.syntax(synEOF)
	default:
		start := p.i
		for p.i < len(b) && !isDelim(b[p.i]) {
			p.i++
		}
		if p.i == start {
			return p.syntax(synNoValue)
		}
		return nil
	}
}

// skipString moves past a string at p.i, escapes and all, without
// checking them.
func (p *jsonParser) skipString() error {
	i := p.i + 1
	for {
		i = quoteOrEscape(p.b, i)
		if i >= len(p.b) {
			p.i = len(p.b)
			return p.syntax(synUnterminated)
		}
		if p.b[i] == '"' {
			p.i = i + 1
			return nil
		}
		i += 2 // an escape: skip the escaped byte
	}
}

// quoteOrEscape returns the index of the first '"' or '\\' in b at or
// after i, or len(b), eight bytes at a time like stringStop.
func quoteOrEscape(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ ('"' * ones)
		e := w ^ ('\\' * ones)
		if m := ((q-ones)&^q | (e-ones)&^e) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(b)
}

// isDelim reports whether c ends a literal or a number being skipped.
func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}
