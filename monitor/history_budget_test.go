package monitor

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestHistoryDuplicateListsShareTheRecordsBudget: a page that repeats its
// list's name holds more records than one list may, each list within the
// page size and the per-list budget; the budget of recordBase +
// n/bytesPerRecord records is the page's, so the lists share it. Without
// that, 255 lists of 1000 empty strings (1 MB) made the decoder build a
// quarter million records, allocating 160 times the answer's size.
func TestHistoryDuplicateListsShareTheRecordsBudget(t *testing.T) {
	list := `"list":[` + strings.TrimSuffix(strings.Repeat(`"" ,`, 1000), ",") + `]`
	body := []byte("{" + strings.TrimSuffix(strings.Repeat(list+",", 255), ",") + "}")
	if err := checkBody(body, DefaultPageSize); err != nil {
		t.Fatalf("checkBody: %v", err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decodeHistory(context.Background(), body)
	runtime.ReadMemStats(&after)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitRecords || le.Max != int64(recordBase+len(body)/bytesPerRecord) {
		t.Errorf("err = %v, want a *LimitError of %s %d", err, LimitRecords, recordBase+len(body)/bytesPerRecord)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 20*uint64(len(body)) {
		t.Errorf("allocated %d bytes for a %d-byte answer, want at most 20 times its size", n, len(body))
	}

	// Two lists within the budget: the last is the page's, as before.
	page, err := decodeHistory(context.Background(), []byte(`{"list":["a","b"],"list":["c"]}`))
	if err != nil || len(page.Records) != 1 || string(page.Records[0].Document) != "c" {
		t.Fatalf("decodeHistory = %+v, %v; want the last list's one record", page, err)
	}
}
