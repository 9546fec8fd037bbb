package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestUserNameAloneIsASecret: a base URL whose user info is a user name
// without a password ("https://TOKEN@host") carries a token as that name.
// It is sent (as Basic authorization with an empty password), but no
// printout of the Client shows it, nor does an error whose server text
// echoes it.
func TestUserNameAloneIsASecret(t *testing.T) {
	const token = "Tok3n-SENTINEL-4411"
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_ = r.Header.Write(&b)
		writeXML(w, 400, "<result><error>bad token "+token+" in "+b.String()+"</error></result>")
	})
	c := NewClient(strings.Replace(fs.URL, "http://", "http://"+token+"@", 1), WithHTTPClient(fs.Client()), WithRetry(0, 0))
	err := c.Reset(context.Background(), 7)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("Reset: %v, want ErrBadRequest", err)
	}
	if user, pass, ok := (&http.Request{Header: fs.requests()[0].Header}).BasicAuth(); !ok || user != token || pass != "" {
		t.Errorf("BasicAuth = %q %q %v, want the token as user name", user, pass, ok)
	}
	type hidden struct {
		cl  Client
		clp *Client
	}
	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		printed = append(printed, fmt.Sprintf(verb, c), fmt.Sprintf(verb, *c), fmt.Sprintf(verb, hidden{*c, c}), fmt.Sprintf(verb, err))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "c", c, "err", err)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "c", *c)
	printed = append(printed, buf.String())
	if b, err := json.Marshal(c); err == nil {
		printed = append(printed, string(b))
	}
	for _, s := range printed {
		if strings.Contains(s, token) || strings.Contains(strings.ToLower(s), fmt.Sprintf("%x", token)) {
			t.Errorf("the token is printed: %s", s)
		}
	}
	if s := c.String(); !strings.Contains(s, "user [REDACTED]") {
		t.Errorf("String = %s, want the user name redacted", s)
	}
	// With a password, the user name is only a name, and is shown.
	c = NewClient(fs.URL, WithBasicAuth("tester", "pw-SENTINEL-1"))
	if s := c.String(); !strings.Contains(s, "user tester") {
		t.Errorf("String = %s, want the user name", s)
	}
}
