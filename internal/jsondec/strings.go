package jsondec

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// Flags from scanString: what unquoting a string's content involves.
const (
	escaped   = 1 << iota // has backslash escapes
	illFormed             // has bytes that are not valid UTF-8
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// scanString checks and consumes the string starting at pos (a '"') and
// returns the bounds of its content and its flags.
func (d *Decoder) scanString() (start, end int, flags int) {
	b := d.buf
	start = d.pos + 1
	i := start
	for {
		// Eight bytes at a time, up to the first byte that is a quote, a
		// backslash, a control character or not ASCII. The lowest byte a
		// test flags is always a true match: false flags only appear
		// above a true one.
		for ; i+8 <= len(b); i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			q := w ^ ('"' * ones)
			e := w ^ ('\\' * ones)
			m := (q-ones)&^q | (e-ones)&^e | (w-0x20*ones)&^w | w
			if m &= highs; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
		}
		for ; i < len(b); i++ {
			if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				goto special
			}
		}
		d.pos = i
		d.syntax("unexpected end of JSON input")
		return
	special:
		switch c := b[i]; {
		case c == '"':
			d.pos = i + 1
			return start, i, flags
		case c == '\\':
			flags |= escaped
			if i+1 >= len(b) {
				d.pos = i + 1
				d.syntax("unexpected end of JSON input")
				return
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						d.pos = k
						d.syntax("unexpected end of JSON input")
						return
					}
					if unhex(b[k]) < 0 {
						d.pos = k
						d.syntax("invalid character " + quoteByte(b[k]) + " in \\u hexadecimal character escape")
						return
					}
				}
				i += 6
			default:
				d.pos = i + 1
				d.syntax("invalid character " + quoteByte(b[i+1]) + " in string escape code")
				return
			}
		case c < 0x20:
			d.pos = i
			d.syntax("invalid character " + quoteByte(c) + " in string literal")
			return
		default: // not ASCII
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				flags |= illFormed
			}
			i += size
		}
	}
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// hex4 decodes the \uXXXX escape at the start of s, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r<<4 | rune(h)
	}
	return r
}

// unquoteString returns the string a scanned string's content stands for:
// the content itself, sharing memory, when flags is 0.
func unquoteString(content []byte, flags int) string {
	if flags == 0 {
		if len(content) == 0 {
			return ""
		}
		return unsafe.String(&content[0], len(content))
	}
	b := Unquote(content)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Unquote returns what the content of a valid JSON string (the bytes
// between its quotes) stands for, as encoding/json decodes it: escapes
// decoded, a \u escape of an unpaired UTF-16 surrogate and each byte of
// ill-formed UTF-8 as U+FFFD. It allocates once: len(content) bytes, as
// escapes only shrink, or three times that when content is not valid
// UTF-8 (U+FFFD takes three bytes where the byte it replaces took one).
func Unquote(content []byte) []byte {
	n := len(content)
	if !utf8.Valid(content) {
		n *= 3
	}
	return appendUnquoted(make([]byte, 0, n), content)
}

// appendUnquoted appends the unescaped form of a scanned string's content
// to dst: escapes decoded, a \u escape of an unpaired UTF-16 surrogate as
// U+FFFD, each byte of ill-formed UTF-8 as U+FFFD.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		dst, i = unquoteStep(dst, s, i)
	}
	return dst
}

// UnquotedEqual reports whether the content of a valid JSON string
// stands for s, as Unquote decodes it, without allocating.
func UnquotedEqual(content []byte, s string) bool {
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(content); {
		var b []byte
		b, i = unquoteStep(buf[:0], content, i)
		if len(b) > len(s) || string(b) != s[:len(b)] {
			return false
		}
		s = s[len(b):]
	}
	return s == ""
}

// unquoteStep appends to dst what the escape or the rune at s[i] of a
// scanned string's content stands for, and returns the offset after it: a
// \u escape of an unpaired UTF-16 surrogate stands for U+FFFD, and a
// high surrogate followed by an escaped low one for one rune.
func unquoteStep(dst, s []byte, i int) ([]byte, int) {
	c := s[i]
	switch {
	case c == '\\':
		switch s[i+1] {
		case 'b':
			return append(dst, '\b'), i + 2
		case 'f':
			return append(dst, '\f'), i + 2
		case 'n':
			return append(dst, '\n'), i + 2
		case 'r':
			return append(dst, '\r'), i + 2
		case 't':
			return append(dst, '\t'), i + 2
		case 'u':
			r := hex4(s[i:])
			i += 6
			if 0xD800 <= r && r < 0xE000 {
				if r < 0xDC00 {
					if r2 := hex4(s[i:]); 0xDC00 <= r2 && r2 < 0xE000 {
						return utf8.AppendRune(dst, 0x10000+(r-0xD800)<<10+(r2-0xDC00)), i + 6
					}
				}
				r = utf8.RuneError
			}
			return utf8.AppendRune(dst, r), i
		}
		return append(dst, s[i+1]), i + 2 // '"', '\\', '/'
	case c < utf8.RuneSelf:
		return append(dst, c), i + 1
	}
	r, size := utf8.DecodeRune(s[i:])
	return utf8.AppendRune(dst, r), i + size
}
