package main

import (
	"testing"

	"github.com/pushmon/pushmon/monitor"
)

func TestRedactedURL(t *testing.T) {
	m := monitor.Monitor{Spec: monitor.Spec{URL: "https://hook:pw-s3cr3t@hooks.example.com/rm?key=q-s3cr3t"}}
	if got, want := redactedURL(m), "https://hook:REDACTED@hooks.example.com/rm?key=REDACTED"; got != want {
		t.Errorf("redactedURL = %q, want %q", got, want)
	}
}
