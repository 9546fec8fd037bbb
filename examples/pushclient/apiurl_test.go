package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// An -api-url whose password holds an unescaped '/' parses without user
// info ("http://bob:2024/pw@host" is host bob, port 2024, path "/pw@host"):
// the status lines and errors must not print the password.
func TestAPIURLPasswordWithSlash(t *testing.T) {
	const pw = "Spring-s3cr3t"
	for _, apiURL := range []string{"http://bob:2024/" + pw + "@127.0.0.1:1", "https://bob:/" + pw + "@127.0.0.1:1"} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		code := run(ctx, []string{"-api-url", apiURL, "-rest-timeout", "5s", "alice", "pw"}, func(string) string { return "" }, &stdout, &stderr)
		cancel()
		if code == 0 {
			t.Errorf("%s: exit 0", apiURL)
		}
		if s := stdout.String() + stderr.String(); strings.Contains(s, pw) {
			t.Errorf("%s: the password is printed:\n%s", apiURL, s)
		}
	}
}

// An -api-url's query and fragment are not sent (the REST client keeps
// the scheme, host and path of a base URL): a key put there would be
// dropped and then printed in the status line. Such a URL is bad usage,
// and the key is not printed.
func TestAPIURLQueryRefused(t *testing.T) {
	const key = "Apikey-s3cr3t"
	for _, apiURL := range []string{"http://127.0.0.1:1/?api_key=" + key, "http://127.0.0.1:1/rm#" + key, "http://127.0.0.1:1?" + key} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		code := run(ctx, []string{"-insecure", "-api-url", apiURL, "-rest-timeout", "5s", "alice", "pw"}, func(string) string { return "" }, &stdout, &stderr)
		cancel()
		if code != 2 || !strings.Contains(stderr.String(), "-api-url") {
			t.Errorf("%s: exit %d, want 2 and a message naming -api-url:\n%s", apiURL, code, stderr.String())
		}
		if s := stdout.String() + stderr.String(); strings.Contains(s, key) {
			t.Errorf("%s: the key is printed:\n%s", apiURL, s)
		}
	}
}
