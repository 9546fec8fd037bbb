package envelope

import (
	"encoding/binary"
	"math/bits"
)

// The JSON grammar's scanners: pure functions of a document and an index,
// returning the index after what they read, or where the grammar broke
// and why. The parser (json.go) keeps its state in registers around them.

// skipSpace returns the index of the first byte at or after i that is
// not JSON white space.
func skipSpace(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return i
		}
	}
	return i
}

// scanKey reads an object key at i (after spaces) and its colon,
// returning the index after the colon, or where the grammar broke.
func scanKey(b []byte, i int) (int, *jsonSyntax) {
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	if i >= len(b) || b[i] != '"' {
		return i, synKey
	}
	i, _, syn := scanString(b, i)
	if syn != nil {
		return i, syn
	}
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	if i >= len(b) || b[i] != ':' {
		return i, synColon
	}
	return i + 1, nil
}

// scanLiteral reads lit at i.
func scanLiteral(b []byte, i int, lit string) (int, *jsonSyntax) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, synLiteral
	}
	return i + len(lit), nil
}

func (p *jsonParser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.syntax(synLiteral)
	}
	p.i += len(lit)
	return nil
}

// scanNumber reads a number at i, returning the index after it, or where
// its grammar broke.
func scanNumber(b []byte, i int) (int, *jsonSyntax) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return i, synNoValue
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, synFraction
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
			return j, synExponent
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// scanString validates the string whose opening quote is at i, returning
// the index after its closing quote (or where its grammar broke) and
// whether it holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, syn *jsonSyntax) {
	i++
	for {
		i = stringStop(b, i)
		if i >= len(b) {
			return i, escaped, synUnterminated
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, escaped, synUnterminated
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, escaped, synUnicodeEscape
				}
				i += 6
			default:
				return i, escaped, synEscape
			}
		default:
			return i, escaped, synControlChar
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
