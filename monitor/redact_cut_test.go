package monitor

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func scrubberOf(secrets ...string) scrubber {
	var s scrubber
	s.add(secrets...)
	return s
}

func TestScrubCaseWithEscapesInSecret(t *testing.T) {
	for _, c := range []struct{ secret, text string }{
		{"100%abcdef", "x 100%ABCDEF y"},
		{"ab&lt;cdefgh", "x AB&lt;CDEFGH y"},
		{"41abcdefgh", "x %41ABCDEFGH y"},
		{"deadbeefcafe", "x %DEADBEEFCAFE y"},
		{`ab\/cdefgh`, `x AB\/CDEFGH y`},
	} {
		got := scrubberOf(c.secret).scrub(c.text)
		if strings.Contains(lowerASCII(got), lowerASCII(c.secret)) {
			t.Errorf("secret %q text %q: %q", c.secret, c.text, got)
		}
	}
}

// A body cut short in the middle of a secret spelled in another case or
// with escapes loses the secret's first part, as one spelled as is does.
func TestScrubCutDecoded(t *testing.T) {
	const pw = "hunter2-secret-pw"
	sc := scrubberOf(pw)
	esc := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteString(`\u00` + strconv.FormatInt(int64(c), 16))
		}
		return b.String()
	}
	for _, text := range []string{
		"error: " + strings.ToUpper(pw[:9]),
		"error: " + esc(pw[:9]),
		"error: " + esc(pw[:9]) + `\u00`,
		"error: " + strings.ReplaceAll(url.PathEscape(pw[:9]), "-", "%2D") + "%3",
	} {
		got := sc.scrubCut(text)
		if strings.Contains(lowerASCII(got), "hunter") || strings.Contains(string(decodeView(got).b), "hunter") {
			t.Errorf("scrubCut(%q) = %q", text, got)
		}
	}
	// detail cuts a window of n + the longest form: a secret spelled in
	// \u escapes is longer than any form.
	got := sc.detail("error: "+esc(pw)+strings.Repeat(" ", 200), 60)
	if strings.Contains(string(decodeView(got).b), "hunt") {
		t.Errorf("detail: %q", got)
	}
}
