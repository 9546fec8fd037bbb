package xmlguard

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches every budget.
var fuzzLimits = Limits{MaxDepth: 4, MaxAttrs: 3, MaxNameLen: 8, MaxTokens: 1 << 30}

// observed is what encoding/xml reads of a document: whether it reads all
// of it without error, and the largest depth, attribute count and name
// length among the tokens it read before stopping.
type observed struct {
	ok                       bool
	depth, attrs, nameLength int
}

func observe(doc []byte) observed {
	var o observed
	// Token checks nesting; RawToken keeps names as written (prefix:local)
	// and attributes, xmlns declarations included, as written.
	strict := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := strict.Token()
		if err == io.EOF {
			o.ok = true
			break
		}
		if err != nil {
			break
		}
	}
	raw := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0
	nameLen := func(n xml.Name) int {
		if n.Space != "" {
			return len(n.Space) + 1 + len(n.Local)
		}
		return len(n.Local)
	}
	for {
		tok, err := raw.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			o.depth = max(o.depth, depth)
			o.attrs = max(o.attrs, len(t.Attr))
			o.nameLength = max(o.nameLength, nameLen(t.Name))
			for _, a := range t.Attr {
				o.nameLength = max(o.nameLength, nameLen(a.Name))
			}
		case xml.EndElement:
			depth--
			o.nameLength = max(o.nameLength, nameLen(t.Name))
		}
	}
	return o
}

// FuzzCheck: Check never panics, allocates at most its error, and agrees
// with encoding/xml in the direction that matters: a document that
// encoding/xml reads without error and within the budgets passes, and a
// document that passes never takes encoding/xml beyond a budget.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		``, `<a/>`, `<a><b><c><d><e/></d></c></b></a>`, `<a b="1" c='2' d="3" e="4"/>`,
		`<a xmlns="u" xmlns:p="v"><p:b/></a>`, `<?xml version="1.0"?><!-- c --><r>t<![CDATA[x]]></r>`,
		`<!DOCTYPE r [<!ENTITY e "<>"> <!-- > -->]><r/>`, `<longname1/>`, `<a a="&lt;"/>`, `</a>`, `<a`, `<a b=>`,
		`<Document><Msg topic="3/X/1" operation="UPDATE" timestamp="2012-04-17T14:14:07Z"><X/></Msg></Document>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var err error
		allocs := testing.AllocsPerRun(1, func() { err = Check(doc, fuzzLimits) })
		if err == nil && allocs != 0 || allocs > 1 {
			t.Errorf("Check allocated %.0f times (error %v)", allocs, err)
		}
		if err != nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrSyntax) {
			t.Fatalf("untyped error %v", err)
		}
		o := observe(doc)
		within := o.depth <= fuzzLimits.MaxDepth && o.attrs <= fuzzLimits.MaxAttrs && o.nameLength <= fuzzLimits.MaxNameLen
		if o.ok && within && err != nil {
			t.Errorf("encoding/xml reads %q within the budgets, Check refuses it: %v", doc, err)
		}
		if err == nil && !within {
			t.Errorf("Check accepts %q, which takes encoding/xml beyond a budget: %+v", doc, o)
		}
		var le *LimitError
		if errors.As(err, &le) && (le.Offset < 0 || le.Offset > int64(len(doc))) {
			t.Errorf("limit offset %d outside the document", le.Offset)
		}
	})
}
