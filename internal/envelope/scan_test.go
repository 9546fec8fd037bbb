package envelope

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestQuoteOrEscape compares the eight-bytes-at-a-time scans (quotes and
// backslashes; and control bytes too) with byte loops on random strings
// rich in quotes, backslashes, control bytes and bytes ≥ 0x80, from every
// start offset.
func TestQuoteOrEscape(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []byte("ab\"\\\x80\xa2\xdc\xff\x00\x01\x1f !#[]")
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte('c' + rng.IntN(20))
			}
		}
		for i := 0; i <= len(b)+2; i++ {
			want := len(b)
			for j := i; j < len(b); j++ {
				if b[j] == '"' || b[j] == '\\' {
					want = j
					break
				}
			}
			if got := quoteOrEscape(b, i); got != want {
				t.Fatalf("quoteOrEscape(%q, %d) = %d, want %d", b, i, got, want)
			}
			want = len(b)
			for j := i; j < len(b); j++ {
				if b[j] == '"' || b[j] == '\\' || b[j] < 0x20 {
					want = j
					break
				}
			}
			if got := stringStop(b, i); got != want {
				t.Fatalf("stringStop(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

// TestSkipStringMatchesJSON: skipString ends a string token exactly where
// encoding/json does, for strings with escapes at every position relative
// to the eight-byte words.
func TestSkipStringMatchesJSON(t *testing.T) {
	pieces := []string{`a`, `\"`, `\\`, `\\\"`, `\u00e9`, `é`, `\/`, `\n`, `0123456`}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 3000 {
		s := `"`
		for range rng.IntN(12) {
			s += pieces[rng.IntN(len(pieces))]
		}
		s += `"`
		doc := []byte(s + `,"next"`)
		var v string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("bad test string %s: %v", s, err)
		}
		p := jsonParser{b: doc}
		if err := p.skipString(); err != nil || p.i != len(s) {
			t.Fatalf("skipString(%s) ended at %d (err %v), want %d", doc, p.i, err, len(s))
		}
	}
	for _, bad := range []string{`"abc`, `"abc\"`, `"abc\`, `"\\\"`} {
		p := jsonParser{b: []byte(bad)}
		if err := p.skipString(); err == nil {
			t.Errorf("skipString(%s) accepted an unterminated string", bad)
		}
	}
}

// TestJSONValueMatchesValid: on random sequences of JSON fragments
// (brackets that may not match, keys, strings, numbers, literals, commas,
// colons, spaces), the parser accepts a value followed by spaces exactly
// when json.Valid does, and leaves no container open. FuzzJSONValue does
// the same on arbitrary bytes; this runs in every test run.
func TestJSONValueMatchesValid(t *testing.T) {
	pieces := []string{`{`, `}`, `[`, `]`, `"k":`, `"s"`, `"a\"b"`, `1`, `-0.5e3`, `0`, `01`, `1.`, `,`, `:`,
		`true`, `null`, `nul`, ` `, "\n", `{}`, `[]`, `"\u00e9"`, `"\x"`}
	rng := rand.New(rand.NewPCG(11, 12))
	accepted := 0
	for range 40000 {
		var s string
		for range 1 + rng.IntN(10) {
			s += pieces[rng.IntN(len(pieces))]
		}
		b := []byte(s)
		p := jsonParser{b: b, maxDepth: maxJSONDepth}
		err := p.value()
		if err == nil && !p.atEnd() {
			err = p.syntax(synAfterValue)
		}
		if (err == nil) != json.Valid(b) {
			t.Fatalf("parser says %v, json.Valid %t, for %q", err, json.Valid(b), b)
		}
		if err == nil {
			accepted++
			if p.depth != 0 {
				t.Fatalf("depth %d after %q", p.depth, b)
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d valid documents generated: the test checks too little", accepted)
	}
}
