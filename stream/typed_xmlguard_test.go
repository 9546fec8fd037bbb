package stream

import (
	"errors"
	"strings"
	"testing"
)

// TestRawXMLBodyGuarded: a raw XML document (template output: its root is
// not Document or Msg, so the splitter does not read past its root's start
// tag) reaches Record and Decode whole. Nesting 100 000 elements deep, it
// must be refused by the XML budgets (ErrDocumentLimit) before encoding/xml
// reads it, as an envelope's body is: unguarded, encoding/xml keeps a stack
// entry per open element and allocates about 40 times the document.
func TestRawXMLBodyGuarded(t *testing.T) {
	const depth = 100_000
	doc := "<root><c>" + strings.Repeat("<a>", depth) + strings.Repeat("</a>", depth) + "</c></root>"
	evs, err := ParseDocument([]byte(doc), FormatXML)
	if err != nil || len(evs) != 1 || !evs[0].Raw {
		t.Fatalf("ParseDocument = %d events, %v; want one raw event", len(evs), err)
	}
	raw := evs[0]
	hand := Event{Resource: "DataPoint", Format: FormatXML, Body: []byte(doc)}
	for _, c := range []struct {
		name string
		f    func() error
	}{
		{"Record", func() error { _, err := raw.Record(); return err }},
		{"Decode", func() error { var v struct{}; return raw.Decode(&v) }},
		{"DataPoint", func() error { _, err := hand.DataPoint(); return err }},
	} {
		var err error
		n := allocated(func() { err = c.f() })
		if !errors.Is(err, ErrDocumentLimit) {
			t.Errorf("%s: err = %v, want ErrDocumentLimit", c.name, err)
		}
		var le *LimitError
		if errors.As(err, &le) && le.Limit != "nesting depth" {
			t.Errorf("%s: Limit = %q, want nesting depth", c.name, le.Limit)
		}
		if n > uint64(len(doc)) {
			t.Errorf("%s: allocated %d bytes for a %d-byte document, want at most its size", c.name, n, len(doc))
		}
	}
}
