package envelope

import (
	"strings"
	"testing"
)

// TestTopicResource: the second segment of a topic, as strings.Cut
// twice finds it, for topics of every shape up to three slashes.
func TestTopicResource(t *testing.T) {
	ref := func(topic string) string {
		_, rest, ok := strings.Cut(topic, "/")
		if !ok {
			return ""
		}
		r, _, _ := strings.Cut(rest, "/")
		return r
	}
	cases := []string{"", "/", "//", "a", "a/", "/b", "a/b", "a//b", "7603/DataPoint/x/y", "7603/DataPoint", "é/ü/", "x/DeviceCore/1/0"}
	// Every string of up to 6 bytes over {a, /}.
	for n := 0; n <= 6; n++ {
		for bits := 0; bits < 1<<n; bits++ {
			var b strings.Builder
			for i := range n {
				if bits&(1<<i) != 0 {
					b.WriteByte('/')
				} else {
					b.WriteByte('a')
				}
			}
			cases = append(cases, b.String())
		}
	}
	for _, c := range cases {
		if got, want := TopicResource(c), ref(c); got != want {
			t.Errorf("TopicResource(%q) = %q, want %q", c, got, want)
		}
	}
	if got := TopicResource("7603/DataPoint/x"); got != "DataPoint" {
		t.Errorf("TopicResource = %q, want DataPoint", got)
	}
}
