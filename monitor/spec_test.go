package monitor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Spec{Topics: []string{"DeviceCore"}}
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string // "" = valid
	}{
		{"minimal", func(*Spec) {}, ""},
		{"full", func(s *Spec) { *s = fullSpec() }, ""},
		{"no topics", func(s *Spec) { s.Topics = nil }, "Topics"},
		{"blank topic", func(s *Spec) { s.Topics = []string{"A", "  "} }, "Topics[1]"},
		{"empty list item", func(s *Spec) { s.Topics = []string{"A,,B"} }, "Topics[0]"},
		{"control char topic", func(s *Spec) { s.Topics = []string{"A\x00"} }, "Topics[0]"},
		{"newline topic", func(s *Spec) { s.Topics = []string{"A\nB"} }, "Topics[0]"},
		{"transport", func(s *Spec) { s.Transport = "udp" }, "Transport"},
		{"polling", func(s *Spec) { s.Transport = "Polling" }, ""},
		{"format", func(s *Spec) { s.Format = "yaml" }, "Format"},
		{"compression", func(s *Spec) { s.Compression = "brotli" }, "Compression"},
		{"gzip alias", func(s *Spec) { s.Compression = "GZIP" }, ""},
		{"ack", func(s *Spec) { s.Ack = "sometimes" }, "Ack"},
		{"batch size", func(s *Spec) { s.BatchSize = -1 }, "BatchSize"},
		{"batch duration negative", func(s *Spec) { s.BatchDuration = -time.Second }, "BatchDuration"},
		{"batch duration fraction", func(s *Spec) { s.BatchDuration = 1500 * time.Millisecond }, "BatchDuration"},
		{"connect timeout fraction", func(s *Spec) { s.ConnectTimeout = time.Microsecond }, "ConnectTimeout"},
		{"response timeout negative", func(s *Spec) { s.ResponseTimeout = -time.Millisecond }, "ResponseTimeout"},
		{"http without url", func(s *Spec) { s.Transport = TransportHTTP }, "URL"},
		{"relative url", func(s *Spec) { s.URL = "/push" }, "URL"},
		{"ftp url", func(s *Spec) { s.URL = "ftp://h/x" }, "URL"},
		{"url with password", func(s *Spec) { s.URL = "https://u:p@h/x" }, "URL"},
		{"url with user", func(s *Spec) { s.URL = "https://u@h/x" }, "URL"},
		{"url with query", func(s *Spec) { s.URL = "https://h/x?code=abc" }, ""},
		{"token without colon", func(s *Spec) { s.Token = sec("secret") }, "Token"},
		{"token with newline", func(s *Spec) { s.Token = sec("u:p\nq") }, "Token"},
		{"method", func(s *Spec) { s.Method = "PATCH" }, "Method"},
		{"header no colon", func(s *Spec) { s.Headers = headers("X-A 1") }, "Headers[0]"},
		{"header bad name", func(s *Spec) { s.Headers = headers("X-A: 1", "X A: 2") }, "Headers[1]"},
		{"header invalid utf8", func(s *Spec) { s.Headers = headers("X-A: \xff") }, "Headers[0]"},
		{"description NUL", func(s *Spec) { s.Description = "a\x00b" }, "Description"},
		{"description invalid utf8", func(s *Spec) { s.Description = "a\xc3" }, "Description"},
		{"description U+FFFE", func(s *Spec) { s.Description = "a\uFFFEb" }, "Description"},
		{"description real U+FFFD ok", func(s *Spec) { s.Description = "a\uFFFDb" }, ""},
		{"schema control char", func(s *Spec) { s.Schema = "\x1b[0m" }, "Schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Validate = %v (%T), want *SpecError", err, err)
			}
			if se.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", se.Field, tt.field, err)
			}
		})
	}
}

func TestSpecErrorNeverQuotesSecrets(t *testing.T) {
	const secret = "SENTINEL-spec-secret"
	for _, s := range []Spec{
		{Topics: []string{"A"}, Token: sec(secret)},
		{Topics: []string{"A"}, Token: sec("u:" + secret + "\n")},
		{Topics: []string{"A"}, Headers: headers("X-Key: " + secret + "\r\nX: y")},
		{Topics: []string{"A"}, URL: "ftp://u:" + secret + "@h/"},
		{Topics: []string{"A"}, URL: "https://u:" + secret + "@h/"},
	} {
		err := s.Validate()
		if err == nil {
			t.Fatalf("spec %v validated", s)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}

func TestSplitTopics(t *testing.T) {
	for in, want := range map[string][]string{
		"":                                     nil,
		"  ":                                   nil,
		"DeviceCore":                           {"DeviceCore"},
		" DeviceCore , DataPoint ":             {"DeviceCore", "DataPoint"},
		"[group=A,B]devices,DeviceCore[U,D]":   {"[group=A,B]devices", "DeviceCore[U,D]"},
		"[operation=U]DeviceCore,FileData/*.*": {"[operation=U]DeviceCore", "FileData/*.*"},
		"A,,B":                                 {"A", "", "B"},
		"A]],B":                                {"A]]", "B"},
	} {
		if got := splitTopics(in); !slices.Equal(got, want) {
			t.Errorf("splitTopics(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameTopics(t *testing.T) {
	if !sameTopics([]string{"A", "B"}, []string{"B", "A"}) {
		t.Error("order should not matter")
	}
	if sameTopics([]string{"A"}, []string{"A", "B"}) || sameTopics([]string{"A", "A"}, []string{"A", "B"}) {
		t.Error("different lists matched")
	}
	in := []string{"B", "A"}
	sameTopics(in, []string{"A", "B"})
	if !slices.Equal(in, []string{"B", "A"}) {
		t.Error("sameTopics reordered its argument")
	}
}

// A monitor created elsewhere may carry a password in its URL: the decoded
// Monitor must not hold it (URL is printed as is), and the redacted URL
// must not validate, so that a Get → edit → Update cannot send it back.
func TestDecodedURLPasswordRedacted(t *testing.T) {
	const pw = "Url-SENTINEL-31"
	m, err := monitorFromFields(map[string]string{"monId": "1", "monTopic": "A",
		"monTransportUrl": "https://hook:" + pw + "@h.example.com/p?k=v"})
	if err != nil {
		t.Fatal(err)
	}
	if m.URL != "https://hook:REDACTED@h.example.com/p?k=v" {
		t.Errorf("URL = %q", m.URL)
	}
	var se *SpecError
	if err := m.Spec.Validate(); !errors.As(err, &se) || se.Field != "URL" || !strings.Contains(se.Reason, "Token") {
		t.Errorf("Validate = %v, want a URL error pointing to Token", err)
	}
	// Passwords that make the URL unparsable ('/', '#', '?', a space, a
	// bad escape) are hidden too.
	for _, bad := range []string{"Url/SENTINEL", "Url#SENTINEL", "Url?SENTINEL", "Url SENTINEL", "Url%zzSENTINEL", "2024/SENTINEL"} {
		m, err := monitorFromFields(map[string]string{"monId": "1", "monTopic": "A",
			"monTransportUrl": "https://hook:" + bad + "@h.example.com/p"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.URL, "SENTINEL") || strings.Contains(fmt.Sprintf("%+v", m), "SENTINEL") {
			t.Errorf("%q: URL = %q", bad, m.URL)
		}
		if err := m.Spec.Validate(); !errors.As(err, &se) || se.Field != "URL" {
			t.Errorf("%q: Validate = %v, want a URL error", bad, err)
		}
	}
	// An '@' in a path or query with no password before it stays.
	for _, ok := range []string{"https://h.example.com/u/a@b?x=1", "https://h.example.com/p?mail=a@b:c"} {
		if got := redactURLUser(ok); got != ok {
			t.Errorf("%q became %q", ok, got)
		}
	}
}
