package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/secret"
)

const pw = "hunter2-Pa55"

type inner struct {
	Name string
	Pass secret.String
}

type userConfig struct {
	Exported   secret.String
	unexported secret.String
	nested     inner
	Ptr        *inner
	slice      []secret.String
	m          map[string]secret.String
	any        any
}

func newUserConfig() userConfig {
	s := secret.New(pw)
	return userConfig{
		Exported:   s,
		unexported: s,
		nested:     inner{"a", s},
		Ptr:        &inner{"b", s},
		slice:      []secret.String{s, s},
		m:          map[string]secret.String{"k": s},
		any:        s,
	}
}

// TestNoVerbPrintsTheSecret formats the secret alone and nested in every
// position a caller's struct may hold it, with every verb fmt knows.
func TestNoVerbPrintsTheSecret(t *testing.T) {
	s := secret.New(pw)
	cfg := newUserConfig()
	values := map[string]any{
		"direct": s, "pointer": &s, "struct": cfg, "struct pointer": &cfg,
		"slice": []secret.String{s}, "map": map[secret.String]secret.String{s: s},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p", "%10s", "%-20q", "%t", "%b", "%o", "%U", "%c", "%e", "%g"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, pw) || strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", pw)) {
				t.Errorf("%s with %s printed the secret: %s", name, verb, out)
			}
		}
		for _, out := range []string{fmt.Sprint(v), fmt.Sprintln(v)} {
			if strings.Contains(out, pw) {
				t.Errorf("%s with Sprint printed the secret: %s", name, out)
			}
		}
	}
	if got := fmt.Sprintf("%v|%s|%q|%#v", s, s, s, s); got != `[REDACTED]|[REDACTED]|"[REDACTED]"|secret.New("[REDACTED]")` {
		t.Errorf("redacted forms: %s", got)
	}
	var zero secret.String
	if got := fmt.Sprintf("%v|%q|%#v", zero, zero, zero); got != `|""|secret.String{}` {
		t.Errorf("empty secret prints %s", got)
	}
}

func TestJSONAndTextRedact(t *testing.T) {
	cfg := newUserConfig()
	for _, v := range []any{secret.New(pw), cfg, &cfg, cfg.nested, map[string]any{"p": secret.New(pw)}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("json printed the secret: %s", b)
		}
	}
	b, _ := json.Marshal(inner{"n", secret.New(pw)})
	if string(b) != `{"Name":"n","Pass":"[REDACTED]"}` {
		t.Errorf("json: %s", b)
	}
	var back inner
	if err := json.Unmarshal([]byte(`{"Name":"n","Pass":"from-a-file"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.Pass.Reveal() != "from-a-file" {
		t.Errorf("UnmarshalJSON: %q", back.Pass.Reveal())
	}
}

func TestSlogRedacts(t *testing.T) {
	cfg := newUserConfig()
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("m", "secret", secret.New(pw), "cfg", cfg, "ptr", &cfg, "inner", cfg.nested,
			slog.Group("g", "p", secret.New(pw)))
	}
	if strings.Contains(buf.String(), pw) {
		t.Errorf("slog printed the secret:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), secret.Redacted) {
		t.Errorf("slog output has no redaction mark:\n%s", buf.String())
	}
}

func TestRevealEqualLen(t *testing.T) {
	s := secret.New(pw)
	if s.Reveal() != pw || s.Len() != len(pw) || s.IsZero() {
		t.Fatalf("Reveal/Len/IsZero wrong")
	}
	if !s.Equal(secret.New(pw)) || s.Equal(secret.New(pw+"x")) || s.Equal(secret.String{}) {
		t.Fatalf("Equal wrong")
	}
	if !secret.New("").IsZero() || !(secret.String{}).Equal(secret.New("")) {
		t.Fatalf("empty secret wrong")
	}
}

func ExampleString() {
	type dbConfig struct {
		User     string
		Password secret.String
	}
	cfg := dbConfig{User: "svc", Password: secret.New("s3cr3t")}
	fmt.Printf("%v\n%+v\n", cfg, cfg)
	b, _ := json.Marshal(cfg)
	fmt.Println(string(b))
	fmt.Println(len(cfg.Password.Reveal())) // the text, for the wire only
	// Output:
	// {svc [REDACTED]}
	// {User:svc Password:[REDACTED]}
	// {"User":"svc","Password":"[REDACTED]"}
	// 6
}

// TestMatches: Matches is equality of texts, whatever their lengths (it
// compares digests, so that its time tells nothing of the secret's
// length; no test can show that without a clock).
func TestMatches(t *testing.T) {
	s := secret.New("hunter2")
	for text, want := range map[string]bool{
		"hunter2": true, "hunter": false, "hunter22": false, "Hunter2": false, "": false, "hunter2\x00": false,
	} {
		if got := s.Matches(text); got != want {
			t.Errorf("Matches(%q) = %t, want %t", text, got, want)
		}
	}
	if !(secret.String{}).Matches("") || (secret.String{}).Matches("x") {
		t.Error("the empty secret matches only the empty text")
	}
}
