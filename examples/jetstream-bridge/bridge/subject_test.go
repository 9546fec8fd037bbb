package bridge

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/stream"
)

func subjectOf(prefix, topic string) string {
	return Subject(prefix, &stream.Event{Topic: topic})
}

func TestSubjectExamples(t *testing.T) {
	cases := []struct{ topic, want string }{
		{"1234/DataPoint/dev1/temp", "rm.1234.DataPoint.dev1.temp"},
		{"1234/DeviceCore/882/7", "rm.1234.DeviceCore.882.7"},
		{"1/FileData/~/a.b c/*>%é\n", "rm.1.FileData.~.a%2Eb%20c.%2A%3E%25%C3%A9%0A"},
		{"1/DataPoint//x/", "rm.1.DataPoint.%.x.%"},
		{"", "rm.%"},
		{"1/Alarm/$SYS\x7f", "rm.1.Alarm.$SYS%7F"},
	}
	for _, c := range cases {
		if got := subjectOf("rm", c.topic); got != c.want {
			t.Errorf("Subject(%q) = %q, want %q", c.topic, got, c.want)
		}
	}
	raw := &stream.Event{Raw: true, MonitorID: 100001, Topic: "ignored"}
	if got := Subject("a.b", raw); got != "a.b._raw.100001" {
		t.Errorf("raw subject %q", got)
	}
}

// validSubject reports whether s is a literal NATS subject of printable
// ASCII tokens.
func validSubject(s string) bool {
	for _, tok := range strings.Split(s, ".") {
		if tok == "" {
			return false
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
}

// Random topics map to valid subjects, one-to-one, and each token
// unescapes to its segment.
func TestSubjectRandomTopicsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab/.*> %\x00\n\r\t\x7f\xc3\xa9~$_-Z9")
	seen := map[string]string{}
	for range 20_000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		topic := string(b)
		s := subjectOf("rm", topic)
		if !validSubject(s) {
			t.Fatalf("Subject(%q) = %q is not a valid literal subject", topic, s)
		}
		if other, dup := seen[s]; dup && other != topic {
			t.Fatalf("topics %q and %q share subject %q", other, topic, s)
		}
		seen[s] = topic
		toks := strings.Split(s, ".")[1:]
		segs := make([]string, len(toks))
		for i, tok := range toks {
			if tok == "%" {
				continue
			}
			seg, err := url.PathUnescape(tok)
			if err != nil {
				t.Fatalf("token %q of %q: %v", tok, s, err)
			}
			segs[i] = seg
		}
		if back := strings.Join(segs, "/"); back != topic {
			t.Fatalf("Subject(%q) = %q unescapes to %q", topic, s, back)
		}
	}
}

func TestSubjectLongTopicsAreHashed(t *testing.T) {
	long := "1234/DataPoint/" + strings.Repeat("x/", MaxSubjectLen)
	a, b := subjectOf("rm", long+"a"), subjectOf("rm", long+"b")
	for _, s := range []string{a, b} {
		if len(s) > MaxSubjectLen || !strings.HasPrefix(s, "rm.1234.DataPoint.%~") || len(s) != len("rm.1234.DataPoint.%~")+32 || !validSubject(s) {
			t.Errorf("long topic: %q", s)
		}
	}
	if a == b {
		t.Error("two long topics share a subject")
	}
	// Just fits: kept as it is.
	fit := "1/D/" + strings.Repeat("y", MaxSubjectLen-len("rm.1.D."))
	if s := subjectOf("rm", fit); len(s) != MaxSubjectLen || strings.Contains(s, "%~") {
		t.Errorf("a topic that fits was hashed: %d bytes", len(s))
	}
	// A huge customer token leaves only the prefix.
	huge := strings.Repeat("9", MaxSubjectLen) + "/DataPoint/x"
	if s := subjectOf("rm", huge); !strings.HasPrefix(s, "rm.%~") || len(s) != len("rm.%~")+32 {
		t.Errorf("huge first token: %q", s)
	}
}

func TestValidPrefix(t *testing.T) {
	for _, ok := range []string{"rm", "rm.events", "a-b_c.D9", "acme.rm.v1"} {
		if err := ValidPrefix(ok); err != nil {
			t.Errorf("ValidPrefix(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "rm.", ".rm", "rm..x", "r m", "rm.*", "rm.>", "$JS", "é", "rm\t"} {
		if err := ValidPrefix(bad); err == nil {
			t.Errorf("ValidPrefix(%q) accepted", bad)
		}
	}
}

func BenchmarkSubject(b *testing.B) {
	ev := &stream.Event{Topic: "1234/DataPoint/00000000-00000000-00409DFF-FF123456/metrics.cpu"}
	for b.Loop() {
		_ = Subject("rm", ev)
	}
}
