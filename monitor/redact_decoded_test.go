package monitor_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/monitor"
)

// An error body that echoes the credentials escaped in a way no form
// foresees — JSON's \/ (PHP's json_encode) or \u00XX for every character,
// &#NN; for every character, every octet percent-encoded, another case,
// base64 without its padding or in the URL-safe alphabet — keeps them out
// of the error, as an XML <error> and as an excerpt of a JSON body.
func TestErrorBodyEchoingEscapedCredentials(t *testing.T) {
	user, pass := "bob", "Pa55/word?~x>"
	cred := []byte(user + ":" + pass)
	b64 := base64.StdEncoding.EncodeToString(cred)
	var jsonU, htmlNum, htmlHex, pct strings.Builder
	for _, c := range []byte(pass) {
		fmt.Fprintf(&jsonU, `\u%04x`, c)
		fmt.Fprintf(&htmlNum, "&#%d;", c)
		fmt.Fprintf(&htmlHex, "&#X%X;", c)
		fmt.Fprintf(&pct, "%%%02X", c)
	}
	forms := map[string]string{
		"base64 without padding": strings.TrimRight(b64, "="),
		"url-safe base64":        base64.URLEncoding.EncodeToString(cred),
		`base64 with \/`:         strings.ReplaceAll(b64, "/", `\/`),
		`password with \/`:       strings.ReplaceAll(pass, "/", `\/`),
		`\u00XX`:                 jsonU.String(),
		"&#NN;":                  htmlNum.String(),
		"&#xHH;":                 htmlHex.String(),
		"percent-encoded":        pct.String(),
		"upper case":             strings.ToUpper(pass),
		"lower case":             strings.ToLower(pass),
	}
	for name, f := range forms {
		for _, body := range []string{
			"<result><error>bad auth " + f + "</error></result>",
			`{"detail": "bad auth ` + f + `"}`,
		} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, body)
			}))
			c := monitor.NewClient(srv.URL, monitor.WithBasicAuth(user, pass), monitor.WithRetry(0, 0))
			_, err := c.Get(context.Background(), 1)
			c.CloseIdleConnections()
			srv.Close()
			if err == nil {
				t.Fatalf("%s: a 401 is no error", name)
			}
			if strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "bad auth") {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
