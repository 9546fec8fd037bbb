package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The checked-in decoders are what the generator makes of the current
// types: run go generate in the stream directory after changing them.
func TestGeneratedIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..")
	want, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join(dir, Output))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("%s is stale: run go generate ./stream", Output)
	}
}

// Types the decoders could not follow encoding/json for are refused.
func TestGenerateRefusesUnsupportedFields(t *testing.T) {
	for name, src := range map[string]string{
		"int field":      "type X struct { A int `json:\"a\"` }",
		"pointer":        "type X struct { A *string `json:\"a\"` }",
		"no tag":         "type X struct { A string }",
		"omitempty":      "type X struct { A string `json:\"a,omitempty\"` }",
		"embedded":       "type X struct { Y }\ntype Y struct{}",
		"duplicate name": "type X struct { A string `json:\"a\"`; B string `json:\"a\"` }",
		"unknown struct": "type X struct { A Other `json:\"a\"` }",
		"invalid name":   "type X struct { A string `json:\"a\\\"b\"` }",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "resources.go"), []byte("package stream\n"+src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Generate(dir); err == nil {
			t.Errorf("%s: generated without error", name)
		}
	}
	// A supported set, for contrast: it generates, and skips json:"-".
	dir := t.TempDir()
	src := "package stream\ntype X struct { A string `json:\"a\"`; B Value `json:\"b\"`; C Number `json:\"c\"`; D Raw `json:\"d\"`; E Y `json:\"e\"`; F []byte `json:\"-\"` }\ntype Y struct { G Millis `json:\"g\"` }\n"
	if err := os.WriteFile(filepath.Join(dir, "resources.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "decodeYJSON(d, &v.E)") || strings.Contains(string(out), "v.F") {
		t.Errorf("unexpected output:\n%s", out)
	}
}
