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
