package monitor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSpecURLPasswordBehindSlashRefused: a transport URL whose password
// holds an unescaped '/', '?' or '#' does not parse as user info
// ("https://user:2024/ss@host/x" is host user, port 2024 and path
// "/ss@host/x"), so the check for user info let it through, and the
// password, a part of the host and path, was printed with the Spec and
// sent as the push address. Validate refuses it with a *SpecError that
// does not quote it.
func TestSpecURLPasswordBehindSlashRefused(t *testing.T) {
	const secretPart = "2024/s3cr3t"
	for _, u := range []string{
		"https://user:" + secretPart + "@host.example/x",
		"http://user:2024?s3cr3t@host.example/x",
		"https://user:2024#s3cr3t@host.example",
		"https://2024/s3cr3t@host.example",
		"https://user:" + secretPart + "@host.example:8443/x?y=1",
	} {
		s := Spec{Topics: []string{"DataPoint"}, Transport: TransportHTTP, URL: u}
		err := s.Validate()
		var se *SpecError
		if !errors.Is(err, ErrInvalidSpec) || !errors.As(err, &se) || se.Field != "URL" {
			t.Errorf("%s: Validate = %v, want a *SpecError on URL", u, err)
			continue
		}
		if text := fmt.Sprintf("%v %+v %#v", err, err, se); strings.Contains(text, "s3cr3t") {
			t.Errorf("%s: the error quotes the password: %s", u, text)
		}
		if _, err := NewClient("https://rm.example").Create(t.Context(), s); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: Create = %v, want ErrInvalidSpec before anything is sent", u, err)
		}
	}
	// Credentials where they belong, and an '@' percent-encoded in a
	// query, are fine.
	for _, u := range []string{"https://host.example/x", "https://host.example/x?to=me%40example.com"} {
		if err := (Spec{Topics: []string{"DataPoint"}, Transport: TransportHTTP, URL: u}).Validate(); err != nil {
			t.Errorf("%s: Validate = %v", u, err)
		}
	}
}
