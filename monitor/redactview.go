package monitor

// The decoded view of server text in which scrub looks for secrets spelled
// with escapes: JSON, HTML/XML and percent-escapes, in any ASCII case.

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// view is text decoded once the ways a server or proxy may escape an
// echo — JSON's \uXXXX (surrogate pairs included), \/, \\, \" and \',
// HTML and XML character references (&#NN;, &#xHH;, &amp; &lt; &gt;
// &quot; &apos;), percent-escapes — with ASCII letters in lower case. Byte
// i of b was spelled by text[from[i]:to[i]].
type view struct {
	b        []byte
	from, to []int32 // server text is read up to maxBodySize
}

// decodeView returns text's view.
func decodeView(text string) view {
	v := view{b: make([]byte, 0, len(text)), from: make([]int32, 0, len(text)), to: make([]int32, 0, len(text))}
	for i := 0; i < len(text); {
		out, n := unescapeAt(text[i:])
		if n == 0 {
			out, n = []byte{text[i]}, 1
		}
		for _, c := range out {
			v.b = append(v.b, lowerByte(c))
			v.from, v.to = append(v.from, int32(i)), append(v.to, int32(i+n))
		}
		i += n
	}
	return v
}

// unescapeAt decodes the escape s starts with, returning its bytes and
// its length, or n = 0 when s does not start with one.
func unescapeAt(s string) (out []byte, n int) {
	switch s[0] {
	case '\\':
		if len(s) < 2 {
			return nil, 0
		}
		switch s[1] {
		case '/', '\\', '"', '\'':
			return []byte{s[1]}, 2
		case 'u':
			r, ok := hex4(s[2:])
			if !ok {
				return nil, 0
			}
			if utf16.IsSurrogate(r) && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if r2, ok := hex4(s[8:]); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return utf8.AppendRune(nil, d), 12
					}
				}
			}
			return utf8.AppendRune(nil, r), 6
		}
	case '%':
		if len(s) >= 3 {
			if b, err := strconv.ParseUint(s[1:3], 16, 8); err == nil && isHex(s[1]) && isHex(s[2]) {
				return []byte{byte(b)}, 3
			}
		}
	case '&':
		semi := strings.IndexByte(s[:min(len(s), 12)], ';')
		if semi < 2 {
			return nil, 0
		}
		switch ent := s[1:semi]; {
		case ent == "amp", ent == "lt", ent == "gt", ent == "quot", ent == "apos":
			return []byte(html.UnescapeString(s[:semi+1])), semi + 1
		case ent[0] == '#' && len(ent) > 1:
			base, digits := 10, ent[1:]
			if digits[0] == 'x' || digits[0] == 'X' {
				base, digits = 16, digits[1:]
			}
			for i := 0; i < len(digits); i++ {
				if !isHex(digits[i]) || (base == 10 && digits[i] > '9') {
					return nil, 0
				}
			}
			if r, err := strconv.ParseUint(digits, base, 32); err == nil && r <= unicode.MaxRune {
				return utf8.AppendRune(nil, rune(r)), semi + 1
			}
		}
	}
	return nil, 0
}

// hex4 decodes the four hex digits s starts with.
func hex4(s string) (rune, bool) {
	if len(s) < 4 || !isHex(s[0]) || !isHex(s[1]) || !isHex(s[2]) || !isHex(s[3]) {
		return 0, false
	}
	r, err := strconv.ParseUint(s[:4], 16, 32)
	return rune(r), err == nil
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// lowerASCII returns s with its ASCII letters in lower case, and every
// other byte as is (the view's case).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}
