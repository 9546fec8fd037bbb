package xmlguard

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestCheckAcceptsDocuments(t *testing.T) {
	for _, doc := range []string{
		``,
		`plain text`,
		`<a/>`,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<!-- c --><Document><Msg topic="3/DeviceCore/882/7" operation="update" timestamp="2012-04-17T14:14:07Z" replay='true'>
		<DeviceCore><id><devId>882</devId></id><devMac>a&amp;b</devMac><x a = "1" b="&lt;>"/></DeviceCore></Msg></Document>`,
		`<!DOCTYPE r [ <!ELEMENT r (#PCDATA)> <!-- a > in a comment --> <!ATTLIST r a CDATA "x>y"> ]><r>t<![CDATA[ <not a tag> ]]></r>`,
		`<a><?pi x="?"?><!----></a >`,
		`<a b="1"c="2"></a>`,
		`<a` + "\n\t" + `b` + "\r\n" + `=` + "\n" + `'v'` + "\n" + `/>`,
	} {
		if err := Check([]byte(doc), Limits{}); err != nil {
			t.Errorf("Check(%q) = %v", doc, err)
		}
		if err := drain([]byte(doc)); err != nil {
			t.Errorf("encoding/xml refuses test document %q: %v", doc, err)
		}
	}
}

// drain reads doc with encoding/xml's strict Token loop.
func drain(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func TestCheckBudgets(t *testing.T) {
	var attrs, xmlns strings.Builder
	for i := range 65 {
		fmt.Fprintf(&attrs, ` a%d="v"`, i)
		fmt.Fprintf(&xmlns, ` xmlns:n%d="urn:%d"`, i, i)
	}
	long := strings.Repeat("n", DefaultMaxNameLen+1)
	cases := []struct {
		name   string
		doc    string
		lim    Limits
		limit  string
		max    int
		offset int64
	}{
		{"depth 65", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), Limits{}, LimitDepth, 64, 64 * 3},
		{"empty element at depth 65", strings.Repeat("<a>", 64) + "<b/>" + strings.Repeat("</a>", 64), Limits{}, LimitDepth, 64, 64 * 3},
		{"65 attributes", `<r>` + `<a` + attrs.String() + `/></r>`, Limits{}, LimitAttrs, 64, int64(5 + len(attrs.String()) - len(` a64="v"`) + 1)},
		{"65 xmlns declarations", `<a` + xmlns.String() + `/>`, Limits{}, LimitAttrs, 64, int64(2 + len(xmlns.String()) - len(` xmlns:n64="urn:64"`) + 1)},
		{"long element name", `<` + long + `/>`, Limits{}, LimitNameLen, DefaultMaxNameLen, 1},
		{"long attribute name", `<a ` + long + `="1"/>`, Limits{}, LimitNameLen, DefaultMaxNameLen, 3},
		{"long end tag name", `<a></` + long + `>`, Limits{}, LimitNameLen, DefaultMaxNameLen, 5},
		{"tokens", `<r><a/><a/><a/></r>`, Limits{MaxTokens: 4}, LimitTokens, 4, 15},
		{"attributes count as tokens", `<r a="1" b="2"/>`, Limits{MaxTokens: 2}, LimitTokens, 2, 9},
		{"depth 3 of 2", `<a><b><c/></b></a>`, Limits{MaxDepth: 2}, LimitDepth, 2, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check([]byte(c.doc), c.lim)
			var le *LimitError
			if !errors.As(err, &le) || !errors.Is(err, ErrLimit) {
				t.Fatalf("Check = %v, want a *LimitError", err)
			}
			if le.Limit != c.limit || le.Max != c.max || le.Offset != c.offset {
				t.Errorf("Check = %+v, want %s %d at %d", le, c.limit, c.max, c.offset)
			}
			if !strings.Contains(err.Error(), c.limit) {
				t.Errorf("message %q does not name the limit", err)
			}
		})
	}
	// Exactly at the budgets is accepted.
	at := strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64)
	var a64 strings.Builder
	for i := range 64 {
		fmt.Fprintf(&a64, ` xmlns:n%d="u"`, i)
	}
	for _, doc := range []string{at, `<a` + a64.String() + `/>`, `<` + long[1:] + `/>`} {
		if err := Check([]byte(doc), Limits{}); err != nil {
			t.Errorf("Check at the budget: %v", err)
		}
	}
	if err := Check([]byte(`<r><a/><a/></r>`), Limits{MaxTokens: 4}); err != nil {
		t.Errorf("4 tokens under a budget of 4: %v", err)
	}
}

func TestDefaultTokenBudgetFollowsSize(t *testing.T) {
	// Empty elements take 4 bytes a token: within the default budget
	// whatever the size.
	doc := []byte(strings.Repeat("<a/>", 100_000))
	if err := Check(doc, Limits{}); err != nil {
		t.Errorf("400 KB of <a/>: %v", err)
	}
	for _, n := range []int{0, 1, 1000, 1 << 20} {
		if got, want := (Limits{}).resolve(n).MaxTokens, DefaultTokenBase+n/DefaultBytesPerToken; got != want {
			t.Errorf("default token budget of %d bytes = %d, want %d", n, got, want)
		}
	}
	dense := []byte("<r " + strings.Repeat("a='' ", 60) + "/>")
	if err := Check(dense, Limits{MaxTokens: 30}); !errors.Is(err, ErrLimit) {
		t.Errorf("dense attributes over MaxTokens: %v", err)
	}
}

func TestCheckSyntax(t *testing.T) {
	for _, doc := range []string{
		`<a>`, `<a><b></b>`, `</a>`, `<a></a></a>`, `<`, `<a`, `<a b`, `<a b=`, `<a b="1`, `<a b=1>`, `<a b>`,
		`<a/ >`, `<>`, `</>`, `< a>`, `<a></a x>`, `<!-- x`, `<![CDATA[ x`, `<?pi`, `<!DOCTYPE a [ <!ELEMENT x> `,
		`<!DOCTYPE a "unterminated>`,
	} {
		err := Check([]byte(doc), Limits{})
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || errors.Is(err, ErrLimit) {
			t.Errorf("Check(%q) = %v, want a *SyntaxError", doc, err)
			continue
		}
		if drain([]byte(doc)) == nil && strings.Contains(doc, "<") {
			t.Errorf("encoding/xml reads %q, which Check refuses", doc)
		}
	}
}

func TestScannerTokens(t *testing.T) {
	doc := []byte(`<?x?><r a="1" b='2'>t<c/><!--k--><![CDATA[d]]></r>`)
	s := NewScanner(doc, Limits{})
	type tk struct {
		kind  Kind
		text  string
		name  string
		depth int
		attrs int
		empty bool
	}
	var got []tk
	for {
		tok, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tk{tok.Kind, string(doc[tok.Start:tok.End]), string(doc[tok.NameStart:tok.NameEnd]), tok.Depth, tok.Attrs, tok.Empty})
	}
	want := []tk{
		{ProcInst, `<?x?>`, "", 0, 0, false},
		{StartElement, `<r a="1" b='2'>`, "r", 1, 2, false},
		{CharData, `t`, "", 1, 0, false},
		{StartElement, `<c/>`, "c", 2, 0, true},
		{Comment, `<!--k-->`, "", 1, 0, false},
		{CDATA, `<![CDATA[d]]>`, "", 1, 0, false},
		{EndElement, `</r>`, "r", 1, 0, false},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tokens\n got %v\nwant %v", got, want)
	}
	if s.Tokens() != 9 {
		t.Errorf("Tokens = %d, want 9 (7 tokens, 2 attributes)", s.Tokens())
	}
	it := Attrs(doc[5:20])
	var attrs []string
	for name, value, ok := it.Next(); ok; name, value, ok = it.Next() {
		attrs = append(attrs, string(name)+"="+string(value))
	}
	if fmt.Sprint(attrs) != "[a=1 b=2]" {
		t.Errorf("Attrs = %v", attrs)
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	doc := []byte(`<?xml version="1.0"?><Document><Msg topic="3/X/1" operation="UPDATE" timestamp="2012-04-17T14:14:07Z"><X a="1"><b>text</b><!--c--></X></Msg></Document>`)
	if n := testing.AllocsPerRun(100, func() {
		if err := Check(doc, Limits{}); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Check allocates %.0f times per document", n)
	}
}

func BenchmarkCheck(b *testing.B) {
	msg := `<Msg topic="3/DataPoint/d/s" operation="INSERTION" timestamp="2012-04-17T14:14:08.5Z"><DataPoint><id>u-1</id><data>2.5</data><timestamp>1434307047694</timestamp></DataPoint></Msg>`
	doc := []byte("<Document>" + strings.Repeat(msg, 100) + "</Document>")
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(doc, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
