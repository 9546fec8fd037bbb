package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// An -api-url whose user info is a user name alone ("https://TOKEN@host")
// carries a token, as the REST client takes it (monitor.Client prints it
// redacted): the status lines, the plain-http warning and the delete
// command named on exit must not print it.
func TestAPIURLTokenUserInfoNotPrinted(t *testing.T) {
	const token = "Tok3n-s3cr3t-9f2c"
	for _, args := range [][]string{
		{"-insecure", "-api-url", "http://" + token + "@127.0.0.1:1"},
		{"-api-url", "http://" + token + "@192.0.2.1:1"}, // plain http to a remote host: the warning
	} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		code := run(ctx, append(args, "-rest-timeout", "1s", "alice", "pw"), func(string) string { return "" }, &stdout, &stderr)
		cancel()
		if code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		if s := stdout.String() + stderr.String(); strings.Contains(s, token) {
			t.Errorf("%v: the token is printed:\n%s", args, s)
		}
	}
}
