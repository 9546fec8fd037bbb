package monitor

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// redacted replaces a secret in every human-readable output of this package.
const redacted = "[REDACTED]"

// formatRedacted implements fmt.Formatter for a type whose String and
// GoString already redact: %#v prints GoString, every other verb prints String
// (quoted for %q), honouring width and flags.
func formatRedacted(f fmt.State, verb rune, str, goStr func() string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, goStr())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 'q'), str())
	case verb == 'v' || verb == 's':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 's'), str())
	default:
		// Same shape fmt uses for a bad verb, but with the redacted text.
		_, _ = fmt.Fprintf(f, "%%!%c(%s)", verb, str())
	}
}

// redactURL hides a password in the user info and every query value; the
// scheme, host and path stay readable.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Unparseable: it may hold anything, show nothing.
		return redacted
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// redactHeader keeps a header's name and hides its value: custom headers to
// a push URL usually carry an API key.
func redactHeader(h string) string {
	name, _, ok := strings.Cut(h, ":")
	if !ok {
		return redacted
	}
	return strings.TrimSpace(name) + ": " + redacted
}

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
			text = strings.ReplaceAll(text, v, redacted)
		}
	}
	return text
}
