package monitor

// Keeping secrets out of error text that came from a server: a server, or
// a proxy in front of it, may echo a request — its Authorization header,
// its body with a spec's token — in an error page.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pushmon/pushmon/secret"
)

// scrubber holds the forms of the secrets to remove from server text: each
// secret as is and as the echo of a request may spell it (XML, HTML and
// JSON escaped, percent-encoded, its white space collapsed or its line
// ends normalised the way an XML parser does), and as Go's %q spells it
// in an error quoting server text. It is built once and then
// only read. The forms are secrets themselves: a Client holds its
// scrubber, and must print none of them.
type scrubber []secret.String

// add registers secrets with every form they may be echoed in. Empty
// strings are ignored; a secret of any length is scrubbed, however common
// its text, because a short secret is still a secret.
func (s *scrubber) add(secrets ...string) {
	for _, v := range secrets {
		if v == "" {
			continue
		}
		var xmlEsc strings.Builder
		_ = xml.EscapeText(&xmlEsc, []byte(v))
		jsonEsc, _ := json.Marshal(v)
		var jsonRaw strings.Builder
		enc := json.NewEncoder(&jsonRaw)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		jsonText := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(jsonRaw.String(), "\n"), `"`), `"`)
		forms := []string{
			v,
			html.EscapeString(v),
			xmlEsc.String(),
			strings.ReplaceAll(xmlEsc.String(), "&#xA;", "\n"), // encoding/xml's Encoder keeps new lines
			strings.TrimSuffix(strings.TrimPrefix(string(jsonEsc), `"`), `"`),
			jsonText,
			url.QueryEscape(v),
			url.PathEscape(v),
			lowerHex(url.QueryEscape(v)), // "%2f": the same octet (RFC 3986, 2.1)
			lowerHex(url.PathEscape(v)),
			collapseSpace(v),
			strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n"),
			// As an error quoting server text with %q spells it (\x7f,
			// \x01, \u00ad …).
			strings.TrimSuffix(strings.TrimPrefix(strconv.Quote(v), `"`), `"`),
		}
		if !isASCII(v) {
			// As a server answering in ISO-8859-1 spells it (the legacy
			// API's answers declare it), and as ASCII-only encoders do.
			forms = append(forms,
				respell(v, latin1), respell(xmlEsc.String(), latin1),
				respell(xmlEsc.String(), func(r rune) string { return "&#" + strconv.Itoa(int(r)) + ";" }),
				respell(xmlEsc.String(), func(r rune) string { return "&#x" + strconv.FormatInt(int64(r), 16) + ";" }),
				respell(xmlEsc.String(), func(r rune) string { return "&#x" + strings.ToUpper(strconv.FormatInt(int64(r), 16)) + ";" }),
				respell(jsonText, func(r rune) string { return jsonEscape(r, `\u%04X`) }),
				respell(jsonText, func(r rune) string { return jsonEscape(r, `\u%04x`) }),
			)
		}
		for _, f := range forms {
			if f != "" && !slices.ContainsFunc(*s, func(g secret.String) bool { return g.Reveal() == f }) {
				*s = append(*s, secret.New(f))
			}
		}
	}
}

// lowerHex returns percent-encoded s with the hex digits of its escapes in
// lower case, as some encoders spell them.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if 'A' <= b[j] && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
			i += 2
		}
	}
	return string(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// respell returns s with each rune beyond ASCII spelled by spell.
func respell(s string, spell func(rune) string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
		} else {
			b.WriteString(spell(r))
		}
	}
	return b.String()
}

// latin1 spells r as its ISO-8859-1 byte, or as a character reference
// beyond it.
func latin1(r rune) string {
	if r <= 0xFF {
		return string([]byte{byte(r)})
	}
	return "&#" + strconv.Itoa(int(r)) + ";"
}

// jsonEscape spells r as JSON's \uXXXX in format (upper- or lower-case
// hex), a surrogate pair beyond the Basic Multilingual Plane.
func jsonEscape(r rune, format string) string {
	u := func(x rune) string { return fmt.Sprintf(format, x) }
	if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError || r2 != utf8.RuneError {
		return u(r1) + u(r2)
	}
	return u(r)
}

// addBasic registers HTTP Basic credentials: the password (or, when it is
// empty, the user name, which is then a token), and the base64 form in
// which an echoed Authorization header carries them, with and without its
// padding and in the URL-safe alphabet.
func (s *scrubber) addBasic(user, pass string) {
	cred := []byte(user + ":" + pass)
	if pass == "" {
		s.add(user) // a token given as the user name
	}
	s.add(pass, base64.StdEncoding.EncodeToString(cred), base64.RawStdEncoding.EncodeToString(cred),
		base64.URLEncoding.EncodeToString(cred), base64.RawURLEncoding.EncodeToString(cred))
}

// minMarked is the shortest form of a secret that scrub replaces in
// place. A shorter one occurs by chance in text a reader can guess (a
// password "p" in "http" and "tcp"), and a mark where it stood would spell
// it out: text holding one is withheld whole.
const minMarked = 8

// withheld is what scrub returns for text that holds a form of a secret
// shorter than minMarked.
const withheld = secret.Redacted + " (text withheld: it holds a short secret)"

// scrub replaces every occurrence of every form of every secret in text.
// Occurrences that overlap, of one form or of several, are replaced as one
// span, so that no byte of any of them survives. Text holding a form
// shorter than minMarked is replaced whole by withheld.
//
// Each form is also looked for in text decoded (see [decodeView]): text
// that spells a secret with escapes its forms do not foresee (JSON's \/
// or every character as \u00XX, HTML's &#NN;, every octet
// percent-encoded), or in another case, loses the text that spelled it.
func (s scrubber) scrub(text string) string {
	var spans [][2]int
	if len(s) > 0 {
		// Matches are looked for in text with its case folded (spans map
		// one to one: an exact match is one too), and in its decoded view for each form both case
		// folded and decoded as the view is: a form that itself holds
		// an escape (a '%' before hex digits, "&lt;", "\\/") is decoded in
		// the view, and a secret beginning with what completes an escape
		// before it ("%" then "41…") is not aligned with the view's.
		lower, v := lowerASCII(text), decodeView(text)
		for _, form := range s {
			f := lowerASCII(form.Reveal())
			for i := 0; i < len(lower); {
				j := strings.Index(lower[i:], f)
				if j < 0 {
					break
				}
				if len(f) < minMarked {
					return withheld
				}
				spans = append(spans, [2]int{i + j, i + j + len(f)})
				i += j + 1
			}
			for _, needle := range [][]byte{[]byte(f), decodeView(form.Reveal()).b} {
				for i := 0; i < len(v.b) && len(needle) > 0; {
					j := bytes.Index(v.b[i:], needle)
					if j < 0 {
						break
					}
					span := [2]int{int(v.from[i+j]), int(v.to[i+j+len(needle)-1])}
					if span[1]-span[0] < minMarked { // as spelled in text
						return withheld
					}
					spans = append(spans, span)
					i += j + 1
				}
			}
		}
	}
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	at := 0 // text[:at] is written
	for k := 0; k < len(spans); {
		start, end := spans[k][0], spans[k][1]
		for k++; k < len(spans) && spans[k][0] <= end; k++ {
			end = max(end, spans[k][1])
		}
		b.WriteString(text[at:start])
		b.WriteString(secret.Redacted)
		at = end
	}
	b.WriteString(text[at:])
	return b.String()
}

// holdsFold reports whether text holds a form of a secret, ignoring case
// (a host name is compared, and spelled back, in any case).
func (s scrubber) holdsFold(text string) bool {
	text = strings.ToLower(text)
	return slices.ContainsFunc(s, func(f secret.String) bool {
		return strings.Contains(text, strings.ToLower(f.Reveal()))
	})
}

// maxLen returns the length of the longest form.
func (s scrubber) maxLen() int {
	n := 0
	for _, f := range s {
		n = max(n, f.Len())
	}
	return n
}

// detail returns server text for an error message: scrubbed, then cut to n
// bytes. Only a window a little longer than n is scrubbed, so that the
// cost is bounded however long the text is; the first part of a secret
// cut by the window's end is scrubbed too. The window holds the longest
// form spelled with escapes (maxSpelled bytes for each of its bytes), so
// that one starting before n is found whole.
func (s scrubber) detail(text string, n int) string {
	if w := n + maxSpelled*s.maxLen(); len(text) > w {
		return cutText(s.scrubCut(text[:w]), n)
	}
	return cutText(s.scrub(text), n)
}

// maxSpelled is the longest escape decodeView reads for one byte.
const maxSpelled = 12

// scrubCut is scrub for text that was cut short: a secret's first part at
// the end of it is cut off too, marked as a cut ("…"), not as a secret,
// which would tell how the secret starts. The first part is looked for as
// scrub looks for a secret: as is, in any case, and in the decoded view,
// also before an escape the cut left incomplete.
func (s scrubber) scrubCut(text string) string {
	text = s.scrub(text)
	if text == withheld {
		return text // none of the text is left to cut
	}
	cut := len(text)
	lower := lowerASCII(text)
	// ends are where the text may end before a cut escape: its end, and
	// each '\\', '%' or '&' among its last bytes that starts no escape.
	ends := []int{len(text)}
	for i := max(0, len(text)-maxSpelled); i < len(text); i++ {
		if c := text[i]; c == '\\' || c == '%' || c == '&' {
			if _, n := unescapeAt(text[i:]); n == 0 {
				ends = append(ends, i)
			}
		}
	}
	views := make([]view, len(ends))
	from := make([]int, len(ends))
	for k, e := range ends {
		// Only the tail can end with a form's first part; where it
		// starts mid-escape does not change how it ends.
		from[k] = max(0, e-maxSpelled*s.maxLen())
		views[k] = decodeView(text[from[k]:e])
	}
	for _, form := range s {
		f := lowerASCII(form.Reveal())
		for k := min(len(f)-1, len(lower)); k > 0; k-- {
			if strings.HasSuffix(lower, f[:k]) {
				cut = min(cut, len(text)-k)
				break
			}
		}
		for _, needle := range [][]byte{[]byte(f), decodeView(form.Reveal()).b} {
			for e, v := range views {
				for k := min(len(needle)-1, len(v.b)); k > 0; k-- {
					if bytes.HasSuffix(v.b, needle[:k]) {
						cut = min(cut, from[e]+int(v.from[len(v.b)-k]))
						break
					}
				}
			}
		}
	}
	if cut < len(text) {
		return text[:cut] + "…"
	}
	return text
}

// oneLine returns text, scrubbed, as one line of printable text of at
// most n bytes (plus "…" when cut). It scrubs before collapsing white
// space and again after, then cuts: no form of a secret survives, and no
// cut can leave its first part.
func (s scrubber) oneLine(text string, n int) string {
	text = s.scrub(text)
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.Join(strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	return cutText(s.scrub(text), n)
}

// cutText cuts s to at most n bytes at a rune boundary, marking the cut
// with "…".
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// collapseSpace replaces every run of white space with one space and
// trims the ends, as an excerpt does.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// errorMessage extracts the server's explanation from an error body:
// <result><error>…</error></result>, {"error": "…"} or {"error": ["…"]}
// (or a <message>, an "error_message"); otherwise a short, single-line
// excerpt of the body. The secrets of sc are scrubbed from the raw body
// first (cut is true when the body was cut short, so that a secret's first
// part at its end goes too), then from each decoded text, before anything
// is trimmed, collapsed or cut. A body beyond the parsing budgets is not
// decoded.
func errorMessage(body []byte, cut bool, sc scrubber) string {
	raw := string(body)
	if cut {
		raw = sc.scrubCut(raw)
	} else {
		raw = sc.scrub(raw)
	}
	b := []byte(raw)
	if checkBody(b, 0) == nil {
		if a, err := decodeLegacy(b, -1); err == nil {
			msg := joinTexts(a.errs, sc)
			if msg == "" {
				msg = joinTexts([]string{a.message}, sc)
			}
			if msg != "" {
				return cutText(msg, maxMessage)
			}
		}
	}
	return sc.oneLine(raw, 200)
}

// joinTexts scrubs each text, then trims it, and joins the non-empty ones
// with "; ".
func joinTexts(texts []string, sc scrubber) string {
	var out []string
	for _, t := range texts {
		if t = strings.TrimSpace(sc.scrub(t)); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "; ")
}
