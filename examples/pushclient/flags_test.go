package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestSecretsHeldFromParsing: the password (argument or environment) and
// the push token are secret.Strings from the moment they are parsed, so
// printing the options in any form shows neither.
func TestSecretsHeldFromParsing(t *testing.T) {
	env := map[string]string{"RM_USERNAME": "alice", "RM_PASSWORD": "env-pw-s3cr3t"}
	for _, args := range [][]string{
		{"-token", "hook:tok-s3cr3t", "alice", "arg-pw-s3cr3t"},
		{"-token", "hook:tok-s3cr3t"},
	} {
		o, err := parseFlags(args, func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.token.Reveal() != "hook:tok-s3cr3t" || !strings.HasSuffix(o.password.Reveal(), "pw-s3cr3t") {
			t.Fatalf("parsed %q %q", o.token.Reveal(), o.password.Reveal())
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if s := fmt.Sprintf(verb, *o); strings.Contains(s, "s3cr3t") {
				t.Errorf("%s of the options shows a secret: %s", verb, s)
			}
		}
	}
}

// TestAliases: each short flag sets its long flag.
func TestAliases(t *testing.T) {
	o, err := parseFlags([]string{"-a", "rm.example.com:8443", "-t", "DataPoint", "-c", "gzip", "-f", "xml", "-b", "7", "-d", "3", "u", "p"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %v %s %s %s %d %d", o.host, o.hostSet, o.topics, o.compression, o.format, o.batchSize, o.batchDuration)
	if want := "rm.example.com:8443 true DataPoint gzip xml 7 3"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestSplitHost: -host's name (push address, TLS server name) and its
// form in the REST URL.
func TestSplitHost(t *testing.T) {
	for in, want := range map[string]string{
		"remotemanager.digi.com": "remotemanager.digi.com remotemanager.digi.com",
		"localhost:8443":         "localhost localhost:8443",
		"::1":                    "::1 [::1]",
		"[::1]:8443":             "::1 [::1]:8443",
	} {
		name, rest := splitHost(in)
		if got := name + " " + rest; got != want {
			t.Errorf("splitHost(%q) = %s, want %s", in, got, want)
		}
	}
}
