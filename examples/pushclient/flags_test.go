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

// TestIntervalMinimum: -interval, the wait between two polls of the
// history API, is at least minPollInterval (1s); anything shorter, zero
// and negative values included, is a usage error (exit 2) naming the flag
// and the minimum, before anything is started.
func TestIntervalMinimum(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, iv := range []string{"1ns", "999ms", "0s", "-1s"} {
		var stdout, stderr strings.Builder
		// A closed loopback port: were the value taken, the run would fail
		// there (exit 1), never reaching a real server.
		args := []string{"-api-url", "http://127.0.0.1:1", "-rest-timeout", "5s", "-transport", "polling", "-interval", iv, "alice", "pw"}
		if code := run(t.Context(), args, noEnv, &stdout, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), "-interval must be at least 1s") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("-interval %s: exit %d, want 2 with one line naming the minimum; stderr:\n%s", iv, code, stderr.String())
		}
	}
	for _, iv := range []string{"1s", "30s"} {
		if _, err := parseFlags([]string{"-transport", "polling", "-interval", iv, "alice", "pw"}, noEnv, io.Discard, io.Discard); err != nil {
			t.Errorf("-interval %s refused: %v", iv, err)
		}
	}
	var help strings.Builder
	parseFlags([]string{"-h"}, noEnv, &help, io.Discard)
	if !strings.Contains(help.String(), "at least 1s") {
		t.Errorf("-h does not give -interval's minimum:\n%s", help.String())
	}
}
