package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Credentials given as arguments, as pushclient takes them ("user
// password"), are refused without being printed.
func TestPositionalCredentialsNotPrinted(t *testing.T) {
	const pw = "arg-s3cr3t-pw"
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-monitors", "1", "alice", pw}, env(), &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if s := out.String() + errOut.String(); strings.Contains(s, pw) {
		t.Errorf("the password argument is printed:\n%s", s)
	}
}
