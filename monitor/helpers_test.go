package monitor

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pushmon/pushmon/secret"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sec is secret.New, short for test tables.
func sec(s string) secret.String { return secret.New(s) }

// headers makes a Spec's Headers from plain lines.
func headers(lines ...string) []secret.String {
	out := make([]secret.String, len(lines))
	for i, l := range lines {
		out[i] = secret.New(l)
	}
	return out
}

// recorded is one request as the fake server saw it.
type recorded struct {
	Method   string
	Path     string
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
}

// fakeServer is an httptest.Server whose handler is a plain function; it
// records every request.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFakeServer(t *testing.T, h http.HandlerFunc) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake server: reading body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		fs.mu.Lock()
		fs.reqs = append(fs.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.URL.Query(), r.Header.Clone(), body})
		fs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeServer) requests() []recorded {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

// client returns a Client for fs with test credentials and no retry
// unless opts say otherwise.
func (fs *fakeServer) client(opts ...Option) *Client {
	base := []Option{WithHTTPClient(fs.Client()), WithBasicAuth("tester", "test-password"), WithRetry(0, 0)}
	return NewClient(fs.URL, append(base, opts...)...)
}

// writeXML writes an XML answer with the server's ISO-8859-1 declaration;
// body must be ASCII or already Latin-1 encoded.
func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/xml;charset=ISO-8859-1")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="ISO-8859-1"?>`+"\n"+body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// item is one monitor as the server lists it: element name → text.
type item map[string]string

// writeList answers a list or get in JSON (all values strings) or XML.
func writeList(w http.ResponseWriter, items []item, start, requested, total int, asXML bool) {
	remaining := max(total-start-len(items), 0)
	if !asXML {
		list := make([]map[string]string, len(items))
		for i, it := range items {
			list[i] = it
		}
		writeJSON(w, 200, map[string]any{
			"resultTotalRows":   strconv.Itoa(total),
			"requestedStartRow": strconv.Itoa(start),
			"resultSize":        strconv.Itoa(len(items)),
			"requestedSize":     strconv.Itoa(requested),
			"remainingSize":     strconv.Itoa(remaining),
			"items":             list,
		})
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<result>\n  <resultTotalRows>%d</resultTotalRows>\n  <requestedStartRow>%d</requestedStartRow>\n"+
		"  <resultSize>%d</resultSize>\n  <requestedSize>%d</requestedSize>\n  <remainingSize>%d</remainingSize>\n",
		total, start, len(items), requested, remaining)
	for _, it := range items {
		b.WriteString("  <Monitor>\n")
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b.WriteString("    <" + k + ">")
			_ = xml.EscapeText(&b, []byte(it[k]))
			b.WriteString("</" + k + ">\n")
		}
		b.WriteString("  </Monitor>\n")
	}
	b.WriteString("</result>")
	writeXML(w, 200, b.String())
}

// listServer serves GET /ws/Monitor like Remote Manager: condition (only
// "monTopic='…' [or monTopic='…']…" understood, else 400), start, size
// (capped at capSize when > 0), in JSON or XML.
type listServer struct {
	items           []item
	asXML           bool
	capSize         int
	ignoreCondition bool // a sloppy server: return everything
	noOr            bool // a limited server: 400 for conditions with "or"
}

func (ls *listServer) serve(t *testing.T, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err1 := strconv.Atoi(q.Get("start"))
	size, err2 := strconv.Atoi(q.Get("size"))
	if err1 != nil || err2 != nil || start < 0 || size <= 0 {
		t.Errorf("list request without valid start/size: %q", r.URL.RawQuery)
		writeXML(w, 400, "<result><error>bad paging</error></result>")
		return
	}
	matched := ls.items
	if cond := q.Get("condition"); ls.noOr && strings.Contains(cond, " or ") {
		writeXML(w, 400, "<result><error>GET Monitor error. Invalid request. Unsupported condition</error></result>")
		return
	}
	if cond := q.Get("condition"); cond != "" && !ls.ignoreCondition {
		want, ok := parseTopicCondition(cond)
		if !ok {
			writeXML(w, 400, "<result><error>GET Monitor error. Invalid condition</error></result>")
			return
		}
		matched = nil
		for _, it := range ls.items {
			if slices.Contains(want, it["monTopic"]) {
				matched = append(matched, it)
			}
		}
	}
	if ls.capSize > 0 {
		size = min(size, ls.capSize)
	}
	end := min(start+size, len(matched))
	pageItems := []item{}
	if start < end {
		pageItems = matched[start:end]
	}
	writeList(w, pageItems, start, size, len(matched), ls.asXML)
}

// parseTopicCondition understands "monTopic='a' or monTopic='b”c'".
func parseTopicCondition(cond string) ([]string, bool) {
	var out []string
	for _, term := range strings.Split(cond, " or ") {
		v, ok := strings.CutPrefix(term, "monTopic='")
		if !ok || !strings.HasSuffix(v, "'") {
			return nil, false
		}
		v = strings.TrimSuffix(v, "'")
		if strings.Count(v, "'")%2 != 0 {
			return nil, false
		}
		out = append(out, strings.ReplaceAll(v, "''", "'"))
	}
	return out, true
}

// xmlElement is one child of a parsed request body.
type xmlElement struct{ Name, Text string }

// parseBody parses a <Monitor> request body back into its ordered children,
// failing on anything unexpected (attributes, nesting, another root).
func parseBody(t *testing.T, body []byte) []xmlElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	var out []xmlElement
	depth := 0
	var cur *xmlElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("request body is not XML: %v\n%s", err, body)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			if len(tk.Attr) > 0 {
				t.Fatalf("unexpected attributes on <%s>", tk.Name.Local)
			}
			switch depth {
			case 1:
				if tk.Name.Local != "Monitor" {
					t.Fatalf("root is <%s>, want <Monitor>", tk.Name.Local)
				}
			case 2:
				out = append(out, xmlElement{Name: tk.Name.Local})
				cur = &out[len(out)-1]
			default:
				t.Fatalf("unexpected nested element <%s>", tk.Name.Local)
			}
		case xml.EndElement:
			depth--
			cur = nil
		case xml.CharData:
			if cur != nil {
				cur.Text += string(tk)
			} else if strings.TrimSpace(string(tk)) != "" {
				t.Fatalf("stray text %q in body", tk)
			}
		}
	}
	return out
}
