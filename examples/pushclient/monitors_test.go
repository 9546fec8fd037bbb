package main

import (
	"strings"
	"testing"

	"github.com/pushmon/pushmon/monitor"
)

func TestRedactedURL(t *testing.T) {
	m := monitor.Monitor{Spec: monitor.Spec{URL: "https://hook:pw-s3cr3t@hooks.example.com/rm?key=q-s3cr3t"}}
	if got, want := redactedURL(m), "https://hook:REDACTED@hooks.example.com/rm?key=REDACTED"; got != want {
		t.Errorf("redactedURL = %q, want %q", got, want)
	}
}

// A password with an unescaped '/' ends the user info early: the URL
// parses without user info, its password in the host and path. The
// receiver's "receiving pushes" line (-public-url with -monitor-id, which
// no Spec validates) must not print it.
func TestRedactURLPasswordWithSlash(t *testing.T) {
	for _, u := range []string{
		"https://hook:2024/pw-s3cr3t@hooks.example.com/rm",
		"https://hook:pw/s3cr3t@hooks.example.com:8443/rm?key=q",
		"http://hook:2024/pw-s3cr3t@10.0.0.1/rm",
	} {
		got := redactURL(u)
		if strings.Contains(got, "s3cr3t") || strings.Contains(got, "2024") {
			t.Errorf("redactURL(%q) = %q", u, got)
		}
	}
	if got, want := redactURL("https://hook:2024/pw-s3cr3t@hooks.example.com/rm"), "https://REDACTED@hooks.example.com/rm"; got != want {
		t.Errorf("the host is kept: %q, want %q", got, want)
	}
	if got, want := redactURL("https://hooks.example.com/rm/a@b"), "https://hooks.example.com/rm/a@b"; got != want {
		t.Errorf("an '@' in the path, no password: %q, want %q", got, want)
	}
}

// A user name without a password is a token: it goes too.
func TestRedactURLUserNameAlone(t *testing.T) {
	if got, want := redactURL("https://t0ken-s3cr3t@hooks.example.com/rm"), "https://REDACTED@hooks.example.com/rm"; got != want {
		t.Errorf("redactURL = %q, want %q", got, want)
	}
}

// TestTableCellsAreInert: a description cannot move the cursor, clear the
// screen or break the table's columns.
func TestTableCellsAreInert(t *testing.T) {
	var out strings.Builder
	ms := []monitor.Monitor{{ID: 7, Spec: monitor.Spec{Topics: []string{"DeviceCore"}, Description: "a\tb\x1b[2J\rc"}}, {ID: 8, Spec: monitor.Spec{Description: "plain words"}}}
	if err := printMonitors(&out, "text", ms); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out.String(), "\x1b\r\t") || !strings.Contains(out.String(), `"a\tb\x1b[2J\rc"`) || !strings.Contains(out.String(), "  plain words\n") {
		t.Errorf("table:\n%s", out.String())
	}
}
