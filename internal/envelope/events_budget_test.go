package envelope

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

// msgArray is a JSON document whose Msg array holds n copies of elem.
func msgArray(elem string, n int) string {
	return `{"Document":{"Msg":[` + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + `]}}`
}

// xmlMsgs is an XML document of n Msgs, each holding body.
func xmlMsgs(body string, n int) string {
	return `<Document>` + strings.Repeat(`<Msg topic="1/X/1">`+body+`</Msg>`, n) + `</Document>`
}

// TestEventsBudget: a document of MaxEvents Msgs is split; one with a Msg
// more is refused with a *LimitError naming the events budget, at the
// offset of the first Msg beyond it, before that Msg is emitted. An XML
// document is refused by the guard's pass, before any event.
func TestEventsBudget(t *testing.T) {
	for name, d := range map[string]struct {
		doc     func(n int) string
		f       Format
		emitted int // before the refusal
	}{
		"JSON": {func(n int) string { return msgArray(`{"topic":"1/X/1","X":{}}`, n) }, JSON, 3},
		"XML":  {func(n int) string { return xmlMsgs(`<X/>`, n) }, XML, 0},
	} {
		t.Run(name, func(t *testing.T) {
			s := Splitter{MaxEvents: 3}
			n := 0
			if _, err := s.Split(context.Background(), []byte(d.doc(3)), d.f, func(Event) { n++ }); err != nil || n != 3 {
				t.Fatalf("3 events: %d emitted, %v", n, err)
			}
			doc := d.doc(4)
			n = 0
			_, err := s.Split(context.Background(), []byte(doc), d.f, func(Event) { n++ })
			var le *xmlguard.LimitError
			if !errors.As(err, &le) || !errors.Is(err, xmlguard.ErrLimit) || le.Limit != LimitEvents || le.Max != 3 || n != d.emitted {
				t.Fatalf("4 events: %d emitted, %v", n, err)
			}
			if last := strings.LastIndex(doc, map[Format]string{JSON: `{"topic"`, XML: `<Msg`}[d.f]); le.Offset != int64(last) {
				t.Errorf("refused at byte %d, the fourth Msg is at %d", le.Offset, last)
			}
		})
	}
}

// TestDefaultEventsBudget: by default a document of n bytes may hold
// DefaultEventBase + n/DefaultBytesPerEvent events, at most
// DefaultMaxEvents. The smallest valid Msgs (19 bytes in JSON, 25 in XML)
// are never refused below DefaultMaxEvents; an array of two-byte Msgs is,
// at the budget its size gives.
func TestDefaultEventsBudget(t *testing.T) {
	var s Splitter
	split := func(doc string, f Format) (events, invalid int, le *xmlguard.LimitError) {
		invalid, err := s.Split(context.Background(), []byte(doc), f, func(Event) { events++ })
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("%.40s: %v", doc, err)
		}
		return events, invalid, le
	}
	for name, d := range map[string]struct {
		msg func(n int) string
		f   Format
	}{
		"JSON": {func(n int) string { return msgArray(`{"topic":"x","A":0}`, n) }, JSON},
		"XML": {func(n int) string {
			return `<Document>` + strings.Repeat(`<Msg topic="x"><A/></Msg>`, n) + `</Document>`
		}, XML},
	} {
		if events, invalid, le := split(d.msg(DefaultMaxEvents), d.f); events != DefaultMaxEvents || invalid != 0 || le != nil {
			t.Errorf("%s: %d of the smallest valid Msgs: %d events, %d invalid, %v", name, DefaultMaxEvents, events, invalid, le)
		}
		if _, _, le := split(d.msg(DefaultMaxEvents+1), d.f); le == nil || le.Limit != LimitEvents || le.Max != DefaultMaxEvents {
			t.Errorf("%s: %d Msgs: %v", name, DefaultMaxEvents+1, le)
		}
	}
	doc := msgArray("1", 1000)
	want := DefaultEventBase + len(doc)/DefaultBytesPerEvent
	if events, _, le := split(doc, JSON); le == nil || le.Max != want || events != want {
		t.Errorf("1000 two-byte Msgs in %d bytes: %d events, %v; want refused after %d", len(doc), events, le, want)
	}
}

// TestJSONSplitAllocatesOneErrorAnInvalidEvent: an invalid event costs
// its EventError (and, for some reasons, the reason's text), whatever
// its Msg holds: a Msg with hundreds of members that are not well-formed,
// of envelope fields of the wrong type or of timestamps that are not
// times allocates no more than one with one of them. Before, every such
// member allocated its grammar error and an EventError, and every
// timestamp a failed time.Parse: a fuzzed document of 2 KiB allocated
// 13 times its size.
func TestJSONSplitAllocatesOneErrorAnInvalidEvent(t *testing.T) {
	msg := func(member string, n int) string {
		return `{"Document":{"Msg":{"topic":"1/X/1",` + strings.Repeat(member+",", n) + `"X":{}}}}`
	}
	for _, c := range []struct {
		name   string
		doc    string
		allocs float64 // at most
		events int
	}{
		{"bad members", msg(`"a":tru`, 300), 2, 1}, // the reason is prefixed
		{"bad envelope fields", msg(`"topic":1`, 300), 1, 1},
		{"bad timestamps", msg(`"timestamp":"2026-02-31T00:00:00+01:00"`, 300), 1 + 4, 1}, // time.Parse's error, once
		{"bad resources", msg(`"X":[1,]`, 300), 1, 1},
		{"elements that are not objects", msgArray("1", 300), 300, 300},
		{"elements that are not well-formed", msgArray(`{"a":t}`, 300), 300, 300},
		{"Msgs without a topic", msgArray(`{"X":{}}`, 300), 300, 300},
	} {
		s := Splitter{MaxEvents: DefaultMaxEvents} // not the default budget: these Msgs are tiny
		doc := []byte(c.doc)
		invalid := 0
		a := testing.AllocsPerRun(20, func() {
			var err error
			if invalid, err = s.Split(context.Background(), doc, JSON, func(Event) {}); err != nil {
				t.Fatal(err)
			}
		})
		if a > c.allocs || invalid != c.events {
			t.Errorf("%s: %.0f allocations for %d invalid events, want at most %.0f for %d", c.name, a, invalid, c.allocs, c.events)
		}
	}
}

// TestOperationUpperCasesInPlace: an operation's ASCII letters are
// upper-cased, the documented ones interned whatever their case; an
// escaped one (decoded to a copy the split owns) in place, so that a long
// escaped operation of ill-formed UTF-8 (which decodes to three times its
// size) costs that one copy, not a second one of the same size.
func TestOperationUpperCasesInPlace(t *testing.T) {
	for in, want := range map[string]string{"insertion": "INSERTION", "Update": "UPDATE", "custom_op": "CUSTOM_OP", "é-op": "é-OP", "X": "X", "": ""} {
		if got := Operation(in); got != want {
			t.Errorf("Operation(%q) = %q, want %q", in, got, want)
		}
	}
	op := `a\b` + strings.Repeat("\x8d", 3000)
	doc := []byte(`{"Document":{"Msg":{"topic":"1/X/1","operation":"` + op + `","X":{}}}}`)
	var s Splitter
	var got string
	if a := testing.AllocsPerRun(10, func() {
		if _, err := s.Split(context.Background(), doc, JSON, func(ev Event) { got = ev.Operation }); err != nil {
			t.Fatal(err)
		}
	}); a != 1 || !strings.HasPrefix(got, "A\b\uFFFD") || len(got) != 2+3*3000 {
		t.Errorf("%.0f allocations, operation %.10q… of %d bytes", a, got, len(got))
	}
}

// TestXMLEventsBudgetBeforeDecoding: an XML document of more tiny Msgs
// than the events budget allows is refused by the guard's pass, at the
// first Msg beyond the budget: neither the rest of the document nor
// encoding/xml's pass (tens of times the document's size in allocations)
// is read. Before, the guard and encoding/xml read the whole document and
// only the walk refused it.
func TestXMLEventsBudgetBeforeDecoding(t *testing.T) {
	const n = 4 * DefaultMaxEvents
	doc := []byte(`<Document>` + strings.Repeat(`<Msg topic="x"/>`, n) + `</Document>`)
	var s Splitter
	_, err := s.Split(context.Background(), doc, XML, func(Event) {})
	var le *xmlguard.LimitError
	if !errors.As(err, &le) || le.Limit != LimitEvents || le.Max != DefaultMaxEvents {
		t.Fatalf("%d Msgs: %v", n, err)
	}
	if want := int64(len(`<Document>`) + DefaultMaxEvents*len(`<Msg topic="x"/>`)); le.Offset != want {
		t.Errorf("refused at byte %d, want %d", le.Offset, want)
	}
	// One token for <Document> and one for each Msg up to the refused one.
	if got, most := s.Tokens(), int64(DefaultMaxEvents+2); got > most {
		t.Errorf("the split read %d tokens before refusing the document; want at most %d", got, most)
	}
}
