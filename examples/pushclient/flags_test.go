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
	expectMinimum(t, "-interval", []string{"-transport", "polling"}, "history API, at least 1s")
}

// TestStatsIntervalMinimum: -stats-interval, the time between two -v
// lines, is at least minStatsInterval (1s), as -interval is: 1ns would
// print a counters line in a busy loop. Anything shorter, zero and
// negative values included, is a usage error (exit 2) naming the flag and
// the minimum; -h gives the minimum.
func TestStatsIntervalMinimum(t *testing.T) {
	expectMinimum(t, "-stats-interval", []string{"-v"}, "time between -v lines, at least 1s")
}

// expectMinimum checks that the duration flag name, given after the flags
// in with, refuses values under 1s with exit 2 and one line on stderr
// naming the flag and the minimum, takes 1s and 30s, and that -h says
// help.
func expectMinimum(t *testing.T, name string, with []string, help string) {
	t.Helper()
	noEnv := func(string) string { return "" }
	for _, iv := range []string{"1ns", "999ms", "0s", "-1s"} {
		var stdout, stderr strings.Builder
		// A closed loopback port: were the value taken, the run would fail
		// there (exit 1), never reaching a real server.
		args := append([]string{"-api-url", "http://127.0.0.1:1", "-rest-timeout", "5s"}, with...)
		args = append(args, name, iv, "alice", "pw")
		if code := run(t.Context(), args, noEnv, &stdout, &stderr); code != 2 ||
			!strings.Contains(stderr.String(), name+" must be at least 1s") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%s %s: exit %d, want 2 with one line naming the minimum; stderr:\n%s", name, iv, code, stderr.String())
		}
	}
	for _, iv := range []string{"1s", "30s"} {
		args := append(append([]string{}, with...), name, iv, "alice", "pw")
		if _, err := parseFlags(args, noEnv, io.Discard, io.Discard); err != nil {
			t.Errorf("%s %s refused: %v", name, iv, err)
		}
	}
	var out strings.Builder
	parseFlags([]string{"-h"}, noEnv, &out, io.Discard)
	if !strings.Contains(out.String(), help) {
		t.Errorf("-h does not give %s's minimum:\n%s", name, out.String())
	}
}

// TestOversizedCredentialsRefusedFirst: over TCP a username or password
// longer than the push handshake carries (65535 bytes) is a usage error
// (exit 2) before anything is created. It used to be refused only by the
// push connection, after the run had created its monitor (deleted again,
// exit 1). Polling, which never sends them in a handshake, takes them.
func TestOversizedCredentialsRefusedFirst(t *testing.T) {
	srv := simulator(t)
	long := strings.Repeat("p", 1<<16)
	noEnv := func(string) string { return "" }
	for _, cred := range [][2]string{{"alice", long}, {long, "s3cr3t-sentinel"}} {
		var stdout, stderr strings.Builder
		args := []string{"-api-url", srv.URL(), "-insecure", "-push-addr", srv.PushAddr(), "-count", "1", cred[0], cred[1]}
		code := run(t.Context(), args, noEnv, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "at most 65535 bytes") {
			t.Errorf("credentials of %d and %d bytes: exit %d, want 2 naming the limit; stderr:\n%.300s", len(cred[0]), len(cred[1]), code, stderr.String())
		}
		if strings.Contains(stderr.String(), long[:64]) {
			t.Error("the credential was printed")
		}
		if created := srv.Monitors(); len(created) != 0 {
			t.Errorf("monitors left: %v", created)
		}
	}
	var stderr strings.Builder
	if _, err := parseFlags([]string{"-transport", "polling", "alice", long}, noEnv, io.Discard, &stderr); err != nil {
		t.Errorf("-transport polling refused a long password: %v", err)
	}
}
