package monitor

import (
	"strings"

	"github.com/pushmon/pushmon/secret"
)

// scrubber removes known secrets from text that came from elsewhere (a
// server's error message may echo a request).
type scrubber []string

// add registers a secret. Empty strings are ignored.
func (s *scrubber) add(secrets ...string) {
	for _, v := range secrets {
		if v != "" {
			*s = append(*s, v)
		}
	}
}

func (s scrubber) scrub(text string) string {
	for _, v := range s {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, secret.Redacted)
		}
	}
	return text
}
