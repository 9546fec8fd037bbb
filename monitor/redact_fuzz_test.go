package monitor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/secret"
)

// FuzzScrub checks that scrub never panics, leaves no form of a secret in
// its output (as is, in any ASCII case, or in the output's decoded view),
// leaves text holding none unchanged, and is linear in the text's length.
func FuzzScrub(f *testing.F) {
	for _, seed := range [][3]string{
		{"abcdefgh", "", "x abcdefgh y"},
		{"100%abcdef", "", "x 100%ABCDEF y"},
		{"41abcdefgh", "41abc", "x %41ABCDEFGH y %4"},
		{"p<&>q", "pass\\word", "p&lt;&amp;&gt;q \\u0070\\u0061ss\\\\word &#"},
		{"pässwörd", "pä", "P\\u00e4sSW&#246;rd %C3%A4 \\uD83D\\uDE00 \\u"},
		{"aaaaaaaa", "aaaa", strings.Repeat("a", 40)},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, s1, s2, text string) {
		// NUL stands for the marks below: a secret that holds one, or
		// spells one with an escape (%00, \u0000, &#0;), would be
		// taken for a mark.
		if len(s1) > 64 || len(s2) > 64 || len(text) > 4096 ||
			strings.Contains(s1+s2, "\x00") || strings.Contains(string(decodeView(s1+" "+s2).b), "\x00") {
			return
		}
		var sc scrubber
		sc.add(s1, s2)
		cut := sc.scrubCut(text)
		if c, ok := strings.CutSuffix(cut, "…"); ok && !strings.HasSuffix(text, "…") {
			cut = c + "\x00" // the cut's mark is not the text's
		}
		for _, out := range []string{sc.scrub(text), cut} {
			if out == withheld {
				continue
			}
			// The marks' own letters are not the text's.
			marked := strings.ReplaceAll(out, secret.Redacted, "\x00")
			lowerOut, view := lowerASCII(marked), decodeView(marked).b
			for _, form := range sc {
				fm := lowerASCII(form.Reveal())
				if strings.Contains(lowerOut, fm) || strings.Contains(string(view), fm) ||
					strings.Contains(string(view), string(decodeView(form.Reveal()).b)) {
					t.Fatalf("secrets %q %q: form %q survives in %q (from %q)", s1, s2, form.Reveal(), out, text)
				}
			}
		}
		out := sc.scrub(text)
		if len(sc) == 0 && out != text {
			t.Fatalf("no secret, but %q became %q", text, out)
		}
	})
}

// BenchmarkScrubWorstCase measures scrub and detail on 64 KiB texts made
// of the escapes the decoded view reads, against a 64-byte secret: the
// cost must stay linear in the text (2–40 ms each on the 2-core VM).
func BenchmarkScrubWorstCase(b *testing.B) {
	var sc scrubber
	sc.addBasic("user", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%41&#65;\\u0041")
	for _, text := range []string{
		strings.Repeat("a", 64<<10),
		strings.Repeat("%41", 64<<10/3),
		strings.Repeat("\\u0041", 64<<10/6),
		strings.Repeat("&#x00041;", 64<<10/9),
		strings.Repeat("&", 64<<10),
		strings.Repeat("\\uD83D", 64<<10/6),
		strings.Repeat(`\u00e9`, 64<<10/6) + `\u00`,
	} {
		b.Run(fmt.Sprintf("%.6q", text), func(b *testing.B) {
			for b.Loop() {
				sc.scrub(text)
				sc.detail(text, 200)
			}
		})
	}
}
