package jsondec

import (
	"encoding/json"
	"testing"
)

// TestUnquotedEqual: UnquotedEqual(content, s) is Unquote(content) == s,
// escapes, surrogates and ill-formed UTF-8 included, without allocating.
func TestUnquotedEqual(t *testing.T) {
	contents := []string{``, `a`, `DataPoint`, `Data\u0050oint`, `\ud83d\ude00`, `\ud83d`, `\ude00\ud83d`,
		`\ud83d\u0041`, "\xff", "a\xffb", `\"\\\/\b\f\n\r\t`, `\u00e9`, "é", `\u0000`, `\uFFFD`, "\xed\xa0\x80"}
	for _, c := range contents {
		want := string(Unquote([]byte(c)))
		var viaJSON string
		if err := json.Unmarshal([]byte(`"`+c+`"`), &viaJSON); err != nil || viaJSON != want {
			t.Fatalf("%q: Unquote %q, encoding/json %q %v", c, want, viaJSON, err)
		}
		for _, s := range []string{want, want + "x", "x" + want, "", "DataPoint", "\uFFFD"} {
			if got := UnquotedEqual([]byte(c), s); got != (want == s) {
				t.Errorf("UnquotedEqual(%q, %q) = %v", c, s, got)
			}
		}
		if n := testing.AllocsPerRun(10, func() { UnquotedEqual([]byte(c), want) }); n != 0 {
			t.Errorf("%q: %v allocations", c, n)
		}
	}
}
