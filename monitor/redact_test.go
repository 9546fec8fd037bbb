package monitor

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The parts of each test password are distinctive, so that a message
// holding any of them shows a leak of at least its first part.
var pwParts = []string{"Alpha7Q", "Bravo9K", "Charlie3"}

func checkNoPart(t *testing.T, what, msg string) {
	t.Helper()
	for _, p := range pwParts {
		for _, probe := range []string{p, p[:4]} {
			if strings.Contains(msg, probe) {
				t.Errorf("%s leaks %q: %q", what, probe, msg)
			}
		}
	}
}

// errorFor creates a monitor against a server answering status with body
// (Content-Type ctype) and returns the *APIError.
func errorFor(t *testing.T, password string, status int, ctype, body string) *APIError {
	t.Helper()
	c := inMemoryClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}), WithBasicAuth("tester", password), WithRetry(0, 0))
	_, err := c.Create(context.Background(), Spec{Topics: []string{"A"}})
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	return ae
}

func TestScrubberBeforeNormalising(t *testing.T) {
	for name, pw := range map[string]string{
		"two spaces":  "Alpha7Q  Bravo9K",
		"tab":         "Alpha7Q\tBravo9K",
		"newline":     "Alpha7Q\nBravo9K",
		"crlf":        "Alpha7Q\r\nBravo9K",
		"many spaces": "Alpha7Q \t \n Bravo9K   Charlie3",
	} {
		t.Run(name, func(t *testing.T) {
			// Echoed raw in a text page, in an XML <error> (whose parser
			// turns \r\n into \n), JSON-escaped, HTML-escaped, and with its
			// white space already collapsed by the server.
			for _, tc := range []struct{ ctype, body string }{
				{"text/html", "<html><body>\n  denied for password " + pw + " on\tPOST\n</body></html>"},
				{"application/xml", "<result><error>bad password " + pw + " given</error></result>"},
				{"application/json", `{"error":"bad password ` + strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(pw) + `"}`},
				{"text/plain", "bad password " + collapseSpace(pw) + " given"},
			} {
				ae := errorFor(t, pw, 401, tc.ctype, tc.body)
				checkNoPart(t, tc.ctype, ae.Message)
				checkNoPart(t, tc.ctype+" Error()", ae.Error())
				if !strings.Contains(ae.Message, "[REDACTED]") {
					t.Errorf("%s: message %q", tc.ctype, ae.Message)
				}
			}
		})
	}
}

// A password that crosses the 200-byte excerpt cut, or the cut of an
// error body at maxErrorBody, must not leave its first part.
func TestScrubberAtCuts(t *testing.T) {
	pw := "Alpha7QBravo9KCharlie3"
	for _, at := range []int{190, 195, 199, 200, 201} {
		body := strings.Repeat("x", at) + pw + " tail"
		ae := errorFor(t, pw, 500, "text/plain", body)
		checkNoPart(t, fmt.Sprintf("excerpt with the password at %d", at), ae.Message)
	}
	// White space before it collapses, so that a password cut at the end
	// of the body read would come first in the excerpt.
	for _, keep := range []int{1, 4, 8, len(pw) - 1} {
		body := strings.Repeat(" ", maxErrorBody-keep) + pw + " tail"
		ae := errorFor(t, pw, 500, "text/plain", body)
		checkNoPart(t, fmt.Sprintf("body cut %d bytes into the password", keep), ae.Message)
	}
	// An echoed Authorization header cut mid-way.
	b64 := base64.StdEncoding.EncodeToString([]byte("tester:" + pw))
	body := strings.Repeat("\n", maxErrorBody-10) + "Authorization: Basic " + b64
	ae := errorFor(t, pw, 500, "text/plain", body)
	if strings.Contains(ae.Message, b64[:6]) {
		t.Errorf("cut Basic credentials leak: %q", ae.Message)
	}
}

// Server text quoted in other errors: a 2xx answer that does not parse,
// and a Get answer whose error names no monitor.
func TestScrubberInOtherErrors(t *testing.T) {
	pw := "Alpha7Q Bravo9K"
	long := strings.Repeat("y", 5000)
	c := inMemoryClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws/Monitor/9" {
			writeJSON(w, 200, map[string]any{"error": []string{"no such monitor; you sent " + pw}})
			return
		}
		writeJSON(w, 200, map[string]any{"remainingSize": "0", "items": []any{
			map[string]string{"monId": "1", "monBatchSize": long + pw + long}}})
	}), WithBasicAuth("tester", pw))
	_, err := c.List(context.Background(), "")
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("List: %v", err)
	}
	checkNoPart(t, "malformed list", err.Error())
	if len(err.Error()) > maxMessage+200 {
		t.Errorf("error of %d bytes quotes the server at length", len(err.Error()))
	}
	_, err = c.Get(context.Background(), 9)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	checkNoPart(t, "not found", err.Error())
	// A history answer whose Msg the decoder cannot read is a record with
	// Err set, which says what is wrong without quoting the answer.
	hc := inMemoryClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"list": []any{map[string]any{"topic": "1/X/" + pw, "a": 1, "b": 2}}})
	}), WithBasicAuth("tester", pw))
	p, err := hc.HistoryPage(context.Background(), 3, HistoryQuery{})
	if err != nil || len(p.Records) != 1 || p.Records[0].Err == nil {
		t.Fatalf("HistoryPage: %+v, %v", p, err)
	}
	checkNoPart(t, "invalid history record", p.Records[0].Err.Error())
}

func TestScrubOverlapsAndForms(t *testing.T) {
	var sc scrubber
	sc.add("abcdefgh", "fghijklm", "p<&>q")
	for in, want := range map[string]string{
		"x abcdefghijklm y":    "x [REDACTED] y",
		"abcdefghabcdefgh":     "[REDACTED]",
		"p&lt;&amp;&gt;q":      "[REDACTED]",
		"p%3C%26%3Eq":          "[REDACTED]",
		`p\u003c\u0026\u003eq`: "[REDACTED]",
		"nothing here":         "nothing here",
	} {
		if got := sc.scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
	if got := sc.scrubCut("text ending in abcd"); got != "text ending in …" {
		t.Errorf("scrubCut = %q", got)
	}
	if got := sc.detail(strings.Repeat("z", 100)+"abcdefgh", 103); strings.Contains(got, "abc") {
		t.Errorf("detail = %q", got)
	}
}

// A password with letters beyond ASCII, echoed as a server answering in
// ISO-8859-1 or an ASCII-only encoder spells it: Latin-1 bytes, JSON
// \u escapes, XML/HTML character references. In an excerpt of a page that
// is no <error> answer, no part of it may show.
func TestScrubberNonASCIIEchoes(t *testing.T) {
	const pw = "Alpha7Qä Bravo9Kö€ Charlie3"
	latin1 := strings.NewReplacer("ä", "\xe4", "ö", "\xf6", "€", "&#8364;").Replace(pw)
	for _, body := range []string{
		"<html><body>bad token " + latin1 + "</body></html>",
		`{"detail":"bad token Alpha7Q\u00e4 Bravo9K\u00f6\u20ac Charlie3"}`,
		`{"detail":"bad token Alpha7Q\u00E4 Bravo9K\u00F6\u20AC Charlie3"}`,
		"<html><body>bad token Alpha7Q&#228; Bravo9K&#246;&#8364; Charlie3</body></html>",
		"<html><body>bad token Alpha7Q&#xe4; Bravo9K&#xf6;&#x20ac; Charlie3</body></html>",
	} {
		ae := errorFor(t, pw, 400, "text/html", body)
		checkNoPart(t, body, ae.Message)
	}
	// Beyond the Basic Multilingual Plane: a surrogate pair in JSON.
	ae := errorFor(t, "Alpha7Q🔑Bravo9K", 400, "text/html", `{"detail":"bad token Alpha7Q\ud83d\udd11Bravo9K"}`)
	checkNoPart(t, "surrogate pair", ae.Message)
}

// TestShortSecretNotSpelledOut: a short password occurs by chance in text
// a reader can guess, and marking it in place spelled it out (with the
// password "p": "htt[REDACTED]://… dial tc[REDACTED]"). Such text is
// withheld whole; a long secret is still marked where it stood.
func TestShortSecretNotSpelledOut(t *testing.T) {
	var sc scrubber
	sc.addBasic("tester", "p")
	for _, text := range []string{"Post \"https://rm.example/ws/Monitor\": dial tcp: connection refused", "upstream proxy error"} {
		got := sc.scrub(text)
		if got != withheld {
			t.Errorf("scrub(%q) = %q, want it withheld", text, got)
		}
	}
	if got := sc.scrub("no such letter here"); got != "no such letter here" {
		t.Errorf("text without the secret changed: %q", got)
	}
	// End to end: an error page holding the letter.
	ae := errorFor(t, "p", http.StatusInternalServerError, "text/plain", "upstream proxy error")
	if msg := ae.Error(); strings.Contains(msg, "u[REDACTED]") || strings.Contains(msg, "[REDACTED]roxy") || !strings.Contains(msg, "withheld") {
		t.Errorf("error = %q, want the page withheld whole", msg)
	}
	var long scrubber
	long.addBasic("tester", "Alpha7Q-Bravo9K")
	if got := long.scrub("echo: Alpha7Q-Bravo9K!"); got != "echo: [REDACTED]!" {
		t.Errorf("long secret: scrub = %q", got)
	}
}
