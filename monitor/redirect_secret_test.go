package monitor

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const testPw = "Pw-TEST-secret"

// Server text that echoes the request into a same-origin redirect's
// Location (a login redirect that carries "the request" along, an echoing
// proxy): the error of the call must not carry it.
func TestEchoInSameOriginRedirect(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("tester:" + testPw))
	cases := map[string]func(w http.ResponseWriter, r *http.Request){
		"loop": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/again?auth="+url.QueryEscape(r.Header.Get("Authorization")))
			w.WriteHeader(http.StatusFound)
		},
		"unparsable location": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/%zz/"+basic)
			w.WriteHeader(http.StatusFound)
		},
		"hijack after redirect": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/ws/Monitor/7" {
				w.Header().Set("Location", "/next/"+basic+"/"+testPw)
				w.WriteHeader(http.StatusTemporaryRedirect)
				return
			}
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, h)
			c := NewClient(fs.URL, WithHTTPClient(fs.Client()), WithBasicAuth("tester", testPw), WithRetry(0, 0))
			err := c.Reset(context.Background(), 7)
			if err == nil {
				t.Fatal("no error")
			}
			if s := err.Error(); strings.Contains(s, testPw) || strings.Contains(s, basic) || strings.Contains(s, url.QueryEscape(basic)) {
				t.Errorf("error leaks: %s", s)
			}
		})
	}
}

// A base URL with an unescaped '/' in its password: "https://bob:2024/pw@host"
// parses as host "bob", port 2024 and path "/pw@host".
func TestBaseURLPasswordWithSlash(t *testing.T) {
	for _, base := range []string{"http://bob:2024/" + testPw + "@127.0.0.1:1", "http://bob:/" + testPw + "@127.0.0.1:1",
		"http://bob:2024?" + testPw + "@127.0.0.1:1", "http://bob:2024#" + testPw + "@127.0.0.1:1"} {
		c := NewClient(base, WithRetry(0, 0))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("c", "client", c)
		err := c.Reset(context.Background(), 7)
		for _, s := range []string{c.String(), fmt.Sprint(err), buf.String()} {
			if strings.Contains(s, testPw) {
				t.Errorf("%s: leaks: %s", base, s)
			}
		}
	}
}

// An echo of the password percent-encoded with lower-case hex digits
// ("%2f", the same octet as "%2F") is scrubbed too.
func TestLowerCaseHexEcho(t *testing.T) {
	const pw = "pa/ss=word"
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 400, "<result><error>bad request for password=pa%2fss%3dword, path pa%2Fss=word</error></result>")
	})
	c := NewClient(fs.URL, WithHTTPClient(fs.Client()), WithBasicAuth("tester", pw), WithRetry(0, 0))
	err := c.Reset(context.Background(), 7)
	if err == nil {
		t.Fatal("no error")
	}
	if s := strings.ToLower(err.Error()); strings.Contains(s, "pa%2fss%3dword") || strings.Contains(s, "pa%2fss=word") {
		t.Errorf("error leaks: %v", err)
	}
}
