package jsondec

import (
	"unicode"
	"unicode/utf8"
)

// FoldName returns name folded the way encoding/json matches object keys
// to field names when no field has the key exactly: ASCII letters in
// upper case, every other rune as the smallest rune of its Unicode simple
// folding orbit (so "K", "k" and the Kelvin sign "\u212a" all fold to
// "K"). Two names match case-insensitively when their folds are equal.
func FoldName(name string) string { return string(AppendFold(nil, []byte(name))) }

// AppendFold appends the fold of name (see FoldName) to dst.
func AppendFold(dst, name []byte) []byte {
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(name[i:])
		dst = utf8.AppendRune(dst, smallestFold(r))
		i += size
	}
	return dst
}

// smallestFold returns the smallest rune that folds to the same orbit as r.
func smallestFold(r rune) rune {
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}
