package monitor

import (
	"encoding/json"
	"testing"
)

// TestJSONScalarAgreesWithEncodingJSON: the fast path for strings without
// escapes gives what encoding/json gives, whatever the bytes.
func TestJSONScalarAgreesWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{`""`, `"abc"`, `"caf\u00e9"`, `"café"`, `"a\"b"`, `"a\\b"`, `"\u0041"`, "\"a\xffb\"", "\"\xe2\x82\"",
		`"日本"`, "\"tab\there\"", `"x/y?z=1&w"`} {
		var want string
		werr := json.Unmarshal([]byte(raw), &want)
		got, err := jsonScalar([]byte(raw))
		if (err != nil) != (werr != nil) || got != want {
			t.Errorf("jsonScalar(%q) = %q, %v; encoding/json %q, %v", raw, got, err, want, werr)
		}
		if werr == nil {
			b, err := jsonText([]byte(raw))
			if err != nil || string(b) != want {
				t.Errorf("jsonText(%q) = %q, %v; encoding/json %q", raw, b, err, want)
			}
		}
	}
}
