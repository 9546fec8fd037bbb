package monitor

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// TestXMLErrorsBounded: the <error> elements of an XML answer are capped
// as a JSON "error" array is (TestCreatedIDErrorArrayBounded): at most
// maxValues texts as a list, beyond that all of them as one text. Without
// the cap, a 1 MB create answer of 125 000 <error/> elements
// (no page size bounds a create's answer) kept a []string of 4 MB and
// more, 2 to 3 times the body, for as long as the answer was held.
func TestXMLErrorsBounded(t *testing.T) {
	body := []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n<result>" +
		strings.Repeat(`<error/>`, 125000) + `<location>Monitor/5</location></result>`)
	if err := checkBody(body, 0); err != nil {
		t.Fatalf("checkBody: %v", err)
	}
	if id, ok := createdID(&response{status: 201, header: http.Header{}, body: body}); !ok || id != 5 {
		t.Errorf("createdID = %d, %v; want 5", id, ok)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err := decodeLegacy(body, -1)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if err != nil || a.location != "Monitor/5" {
		t.Fatalf("decodeLegacy: location %q, %v; want Monitor/5", a.location, err)
	}
	if len(a.errs) > maxValues {
		t.Errorf("%d error texts kept, want at most %d", len(a.errs), maxValues)
	}
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > int64(len(body))/2 {
		t.Errorf("the decoded answer holds %d bytes for a %d-byte body, want less than half its size", kept, len(body))
	}
	runtime.KeepAlive(a)
}

// TestXMLErrorsOverflowKeepsTheMessage: beyond maxValues <error>
// elements, the one text kept is the message the list would give
// (joinTexts: trimmed, blanks left out, joined with "; "); within it the
// texts are the list, as before; and the error message of a 4xx answer
// holds the first texts whichever way they are kept.
func TestXMLErrorsOverflowKeepsTheMessage(t *testing.T) {
	for _, n := range []int{2, maxValues, maxValues + 1, 3 * maxValues} {
		var b strings.Builder
		var want []string
		b.WriteString("<result>")
		for i := range n {
			text := fmt.Sprintf(" e%d ", i)
			if i%7 == 3 {
				text = "  " // blank: left out of the message
			}
			want = append(want, text)
			b.WriteString("<error>" + text + "</error>")
		}
		b.WriteString("</result>")
		a, err := decodeLegacy([]byte(b.String()), -1)
		if err != nil {
			t.Fatalf("%d errors: %v", n, err)
		}
		if n <= maxValues {
			if len(a.errs) != n || a.errs[0] != want[0] || a.errs[n-1] != want[n-1] {
				t.Errorf("%d errors: kept %d texts, want the list of %d as sent", n, len(a.errs), n)
			}
		} else if len(a.errs) != 1 {
			t.Errorf("%d errors: kept %d texts, want one", n, len(a.errs))
		}
		if got, w := joinTexts(a.errs, nil), joinTexts(want, nil); got != w {
			t.Errorf("%d errors: message %.60q…, want %.60q…", n, got, w)
		}
		w := joinTexts(want, nil)
		if msg := errorMessage([]byte(b.String()), false, nil); !strings.HasPrefix(msg, w[:min(len(w), 100)]) {
			t.Errorf("%d errors: errorMessage = %.60q…, want %.60q…", n, msg, w)
		}
	}
}
