package urlredact

import (
	"strings"
	"testing"
)

func TestPasswordAndQueryValues(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/rm":                             "https://hooks.example.com/rm",
		"https://hook:pw-s3cr3t@hooks.example.com/rm?key=q-s3cr3t": "https://hook:REDACTED@hooks.example.com/rm?key=REDACTED",
		"https://hooks.example.com/rm?key=s3cr3t#frag-s3cr3t":      "https://hooks.example.com/rm?key=REDACTED",
		"https://hooks.example.com/%zz?key=s3cr3t":                 "REDACTED",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// A password with an unescaped '/' ends the user info early: the URL
// parses without user info, its password in the host and path. The
// tools' "receiving pushes" lines (-public-url with -monitor-id, which no
// Spec validates) must not print it.
func TestPasswordWithSlash(t *testing.T) {
	for _, u := range []string{
		"https://hook:2024/pw-s3cr3t@hooks.example.com/rm",
		"https://hook:pw/s3cr3t@hooks.example.com:8443/rm?key=q",
		"http://hook:2024/pw-s3cr3t@10.0.0.1/rm",
	} {
		got := String(u)
		if strings.Contains(got, "s3cr3t") || strings.Contains(got, "2024") {
			t.Errorf("String(%q) = %q", u, got)
		}
	}
	if got, want := String("https://hook:2024/pw-s3cr3t@hooks.example.com/rm"), "https://REDACTED@hooks.example.com/rm"; got != want {
		t.Errorf("the host is kept: %q, want %q", got, want)
	}
	if got, want := String("https://hooks.example.com/rm/a@b"), "https://hooks.example.com/rm/a@b"; got != want {
		t.Errorf("an '@' in the path, no password: %q, want %q", got, want)
	}
}

// A user name without a password is a token: it goes too.
func TestUserNameAlone(t *testing.T) {
	if got, want := String("https://t0ken-s3cr3t@hooks.example.com/rm"), "https://REDACTED@hooks.example.com/rm"; got != want {
		t.Errorf("redactURL = %q, want %q", got, want)
	}
}
