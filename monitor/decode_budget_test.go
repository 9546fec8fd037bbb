package monitor

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestLegacyJSONItemsBudgetIsThePage: a legacy JSON answer that repeats
// its "items" member (the name is matched without regard to case) holds
// more monitors than the page size asked for, each array within it; the
// budget is the page's. Without that, 255 arrays of 1000 monitors (3 MB)
// gave 255 000 monitors and allocated 225 times the answer's size (here
// three arrays, to keep the test short).
func TestLegacyJSONItemsBudgetIsThePage(t *testing.T) {
	items := `"items":[` + strings.TrimSuffix(strings.Repeat(`{"monId":1},`, 1000), ",") + `]`
	body := []byte("{" + strings.TrimSuffix(strings.Repeat(items+",", 3), ",") + "}")
	if err := checkBody(body, DefaultPageSize); err != nil {
		t.Fatalf("checkBody: %v", err)
	}
	p, err := decodeList(body, DefaultPageSize)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitItems || le.Max != DefaultPageSize {
		t.Errorf("decodeList = %d monitors, %v; want a *LimitError of %s %d", len(p.items), err, LimitItems, DefaultPageSize)
	}
	p, err = decodeList([]byte(`{"items":[{"monId":1}],"Items":[{"monId":2}]}`), 1)
	if !errors.As(err, &le) || le.Limit != LimitItems {
		t.Errorf("two arrays of one monitor, page size 1: %d monitors, %v; want a *LimitError", len(p.items), err)
	}
}

// TestLegacyJSONNegativeMaxItemsSkipsItems: decodeLegacy's negative
// maxItems skips the monitors unread in JSON as in XML (the create answer
// and error bodies are read for their location and messages only): a
// monitor that would not decode does not hide the location, and a 2 MB
// answer of monitors costs no more than a few times its size.
func TestLegacyJSONNegativeMaxItemsSkipsItems(t *testing.T) {
	a, err := decodeLegacy([]byte(`{"items":[{"monId":"x"}],"location":"Monitor/5"}`), -1)
	if err != nil || a.location != "Monitor/5" || len(a.items) != 0 {
		t.Errorf("decodeLegacy = %+v, %v; want location Monitor/5 and no monitor", a, err)
	}
	body := []byte(`{"items":[` + strings.TrimSuffix(strings.Repeat(`{"monId":1},`, 1<<14), ",") + `],"location":"Monitor/5"}`)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a, err = decodeLegacy(body, -1)
	runtime.ReadMemStats(&after)
	if err != nil || a.location != "Monitor/5" || len(a.items) != 0 {
		t.Errorf("decodeLegacy = %d monitors, location %q, %v; want location Monitor/5 and no monitor", len(a.items), a.location, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4*uint64(len(body)) {
		t.Errorf("allocated %d bytes for a %d-byte answer, want at most 4 times its size", n, len(body))
	}
}

// TestCreatedIDErrorArrayBounded: the answer to a create (a 2xx body of
// up to maxBodySize, with no page size to bound its arrays) is read for
// its location; an "error" array of a quarter million one-letter strings
// (1 MB) must not cost 25 to 50 times its size as a []string: beyond maxValues
// texts the array is kept as its JSON text, one string.
func TestCreatedIDErrorArrayBounded(t *testing.T) {
	body := []byte(`{"error":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 250000), ",") + `],"location":"Monitor/5"}`)
	if err := checkBody(body, 0); err != nil {
		t.Fatalf("checkBody: %v", err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	id, ok := createdID(&response{status: 201, body: body})
	runtime.ReadMemStats(&after)
	if !ok || id != 5 {
		t.Errorf("createdID = %d, %v; want 5", id, ok)
	}
	// Reading any member through walkObject costs about 3 times its size
	// (the json.Decoder's buffer and the member's RawMessage).
	if n := after.TotalAlloc - before.TotalAlloc; n > 5*uint64(len(body)) {
		t.Errorf("allocated %d bytes for a %d-byte answer, want at most 5 times its size", n, len(body))
	}
	// Within maxValues, the texts are the array's strings, as before.
	if got := jsonErrorTexts([]byte(`["a","b"]`)); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("jsonErrorTexts = %q", got)
	}
}
