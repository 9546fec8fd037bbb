// Package urlredact hides what may carry a secret in a URL before the
// command-line tools print it: user info, query values and the fragment.
// The host and path stay, so that an operator can tell which URL it was.
package urlredact

import (
	"net/url"
	"strings"
)

// String returns s with its user info's password (or its user name, when
// it has no password: a token) and every query value replaced by REDACTED,
// and without its fragment: what may carry a secret. A URL that does not
// parse is REDACTED whole.
func String(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "REDACTED" // unparseable: it may hold anything
	}
	if u.User == nil {
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			// A password holding an unescaped '/', '?' or '#' ends the
			// user info early: "https://u:2024/pw@host" parses as host
			// u:2024 and path /pw@host. Where the user info ends cannot
			// be told: everything up to the last '@' goes.
			if start := strings.Index(s, "://"); start >= 0 && start < at && strings.Contains(s[start+len("://"):at], ":") {
				return String(s[:start+len("://")] + "REDACTED" + s[at:])
			}
		}
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED") // a user name alone is a token
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
