package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// FuzzJSONValue: the parser's grammar is encoding/json's: a value
// followed by nothing but spaces is accepted exactly when json.Valid
// accepts it (within the depth budget).
func FuzzJSONValue(f *testing.F) {
	for _, s := range []string{`{}`, `[1,2.5e-3,"a\u00e9\n",true,false,null]`, `{"a":{"b":[]}}`, `01`, `1.`, `-`, `"\x"`, "\"\t\"", `[1,]`,
		`{"a" 1}`, `tru`, `1e+`, `"\ud800"`, "\"\xff\"", ` {"a":1} `, `[[[[]]]]`, `{"a":1,}`, `"`, `{`, `-0.0e0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p := jsonParser{b: b, maxDepth: maxJSONDepth}
		err := p.value()
		if err == nil && !p.atEnd() {
			err = p.syntax(synAfterValue)
		}
		var le *xmlguard.LimitError
		if errors.As(err, &le) {
			return
		}
		if (err == nil) != json.Valid(b) {
			t.Errorf("parser says %v, json.Valid %t, for %q", err, json.Valid(b), b)
		}
		// An escaped string decodes as encoding/json decodes it; one
		// without escapes is its content as it is (ill-formed UTF-8
		// included, where encoding/json would write U+FFFD).
		if tok := bytes.TrimSpace(b); err == nil && tok[0] == '"' {
			sp := jsonParser{b: tok}
			got, escaped, serr := sp.strBytes()
			var want string
			jerr := json.Unmarshal(tok, &want)
			if !escaped {
				want = string(tok[1 : len(tok)-1])
			}
			if jerr != nil || serr != nil || string(got) != want {
				t.Errorf("string %q decoded to %q (%v), want %q (%v)", tok, got, serr, want, jerr)
			}
		}
	})
}

// inside reports whether sub is a slice of doc's memory.
func inside(sub, doc []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(doc) == 0 {
		return false
	}
	s0, d0 := &sub[0], &doc[0]
	return uintptrOf(s0) >= uintptrOf(d0) && uintptrOf(s0)+uintptr(len(sub)) <= uintptrOf(d0)+uintptr(len(doc))
}

// splitForFuzz splits doc and returns its events, the invalid count, the
// error and the bytes allocated.
func splitForFuzz(doc []byte, f Format) (evs []Event, invalid int, err error, alloc uint64) {
	evs = make([]Event, 0, 64)
	var s Splitter
	alloc = allocatedNoGC(func() {
		invalid, err = s.Split(context.Background(), doc, f, func(ev Event) {
			if len(evs) < cap(evs) {
				evs = append(evs, ev)
			}
		})
	})
	return evs, invalid, err, alloc
}

// allocatedNoGC is allocated without the collection first (which would
// make a fuzz target crawl).
func allocatedNoGC(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func checkSplitErr(t *testing.T, err error) {
	if err != nil && err != ErrNotEnvelope && !errors.Is(err, ErrMalformed) && !errors.Is(err, xmlguard.ErrLimit) {
		t.Fatalf("untyped error %v", err)
	}
}

// FuzzSplitJSON: whatever the document, the split allocates at most 3
// bytes a document byte (escaped strings decoded: a byte of ill-formed
// UTF-8 becomes U+FFFD, 3 bytes) plus 16 KiB (a document's error) plus 256
// bytes an invalid event (its EventError, its reason's text, one failed
// time.Parse);
// bodies are slices of the document; a valid event's body is valid JSON;
// a document json.Valid accepts is never malformed and none of its
// events has a grammar error; and a split with no error and no invalid
// event was of a document json.Valid accepts, or of a blank one (a
// keep-alive).
func FuzzSplitJSON(f *testing.F) {
	for _, s := range []string{
		string(benchDoc(1)), string(benchDoc(3)), `{"Document":null}`, `{"Document":{"Msg":[]}}`,
		`{"Document":{"Msg":[{"topic":"1/A/1","A":{"a":tru}},42,{"topic":"1/B/1","x":1,"B":"\u00e9"}]}}`,
		`{"Document":{"Msg":{"topic":"1/A/1","timestamp":"2026-02-31T00:00:00Z","A":{},"B":{}}}}`,
		`{"Document":{"Msg":{"topic":"1/A/1","A":[[[[]]]],"replay":"true","group":null}}}`, `{"x":1}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		evs, invalid, err, alloc := splitForFuzz(doc, JSON)
		checkSplitErr(t, err)
		if alloc > 3*uint64(len(doc))+16<<10+256*uint64(invalid) {
			t.Errorf("allocated %d bytes for %d, %d invalid events", alloc, len(doc), invalid)
		}
		valid := json.Valid(doc)
		if valid && errors.Is(err, ErrMalformed) {
			t.Errorf("json.Valid document is malformed: %v", err)
		}
		if err != nil {
			return
		}
		if !valid && invalid == 0 && !deeper(doc) && !isBlankDoc(doc) {
			t.Errorf("invalid JSON split without an invalid event: %q", doc)
		}
		for _, ev := range evs {
			if !inside(ev.Body, doc) {
				t.Fatalf("body %q is not a slice of the document", ev.Body)
			}
			var ee *EventError
			if errors.As(ev.Err, &ee) && valid && (ee.Field == FieldBody || ee.Field == FieldMsg && ee.Reason != "not an object") {
				t.Errorf("json.Valid document has an event with %v", ev.Err)
			}
			if ev.Err == nil && !json.Valid(ev.Body) {
				t.Errorf("valid event with body %q", ev.Body)
			}
		}
	})
}

// deeper reports whether doc nests beyond what json.Valid reads (it
// stops at 10 000 levels).
func deeper(doc []byte) bool {
	return bytes.Count(doc, []byte("[")) > 9000 || bytes.Count(doc, []byte("{")) > 9000
}

// FuzzSplitXML: whatever the document, the split allocates at most 64
// bytes a document byte plus 64 KiB; bodies are slices of the document;
// a valid event's body is well-formed for encoding/xml; and a document
// that encoding/xml reads without error, within the budgets, is never
// malformed and none of its events has an invalid body.
func FuzzSplitXML(f *testing.F) {
	for _, s := range []string{
		`<Document><Msg topic="1/A/1" operation="u" timestamp="2012-04-17T14:14:07Z" replay="true"><A><b>x</b></A></Msg></Document>`,
		`<Msg topic="1/A/1"><A/></Msg>`, `<Document/>`, `<Document><Msg topic="1/A/1"><A><a></b></A></Msg><Msg topic="1/B"><B/></Msg></Document>`,
		`<?xml version="1.0"?><!-- c --><Document><Msg topic="a&amp;b" group="&#65;"><X/><Y/></Msg></Document>`,
		`<Document><Msg topic="1/A/1"><A a="1" a="2"/></Msg></Documen>`, `<html/>`, `<a><a><a>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		evs, _, err, alloc := splitForFuzz(doc, XML)
		checkSplitErr(t, err)
		if alloc > 64*uint64(len(doc))+64<<10 {
			t.Errorf("allocated %d bytes for %d", alloc, len(doc))
		}
		wellFormed := xmlguard.Check(doc, Limits{}) == nil && drainXML(doc) == nil
		if wellFormed && errors.Is(err, ErrMalformed) {
			t.Errorf("encoding/xml reads the document, the split says %v", err)
		}
		if err != nil {
			return
		}
		for _, ev := range evs {
			if !inside(ev.Body, doc) {
				t.Fatalf("body %q is not a slice of the document", ev.Body)
			}
			if wellFormed && fieldOf(ev) == FieldBody {
				t.Errorf("encoding/xml reads the document, the split says %v", ev.Err)
			}
			if ev.Err == nil && drainXML(ev.Body) != nil {
				t.Errorf("valid event with body %q: %v", ev.Body, drainXML(ev.Body))
			}
		}
	})
}

func drainXML(doc []byte) error {
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
