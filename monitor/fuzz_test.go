package monitor

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// FuzzAnswer runs an answer body through what the client does with a 2xx
// and an error answer: the budget check, then (if it passes) every
// decoder, and the error-message extraction. Whatever the bytes, nothing
// panics and the allocation stays linear in the body's size: the budgets
// leave encoding/json and encoding/xml nothing that grows faster.
func FuzzAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"resultTotalRows":"1","remainingSize":"0","items":[{"monId":"178007","cstId":"7603","monTopic":"DeviceCore,DataPoint","monTransportType":"tcp"}]}`,
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<result>\n  <remainingSize>0</remainingSize>\n  <Monitor><monId>5</monId><monDescription>caf\xe9</monDescription></Monitor>\n</result>",
		`<result><location>Monitor/1234</location></result>`,
		`<result><error>POST Monitor error. Invalid request.</error></result>`,
		`{"count":1,"cursor":"c1","list":[{"id":12,"topics":["A"],"type":"tcp","headers":{"X-A":"1"}}]}`,
		`{"list":[{"id":"r1","topic":"1/DataPoint/d/t","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"id":"x"}},"raw",{"Document":{"Msg":[{"topic":"1/DeviceCore/1","DeviceCore":{}}]}}]}`,
		`{"items":[{"id":1,"Msg":[{"topic":"1/A/b","A":{},"x":[1]},7,{"topic":2}]},{"id":"r","Document":"<Document/>","timestamp":"x"},{"Document":{"Msg":"s"}}],"next_uri":"/h?cursor=c"}`,
		`{"error_status":400,"error_message":"Monitor not found"}`,
		`<result>` + strings.Repeat(`<a>`, 80),
		`[` + strings.Repeat(`[`, 80),
		`<Monitor a="1" b="2" xmlns:x="u"><x:monId>1</x:monId></Monitor>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n := allocated(func() {
			var sc scrubber
			sc.addBasic("tester", "Pw-fuzz")
			_ = errorMessage(body, false, sc)
			if checkBody(body, 100) != nil {
				return
			}
			_, _ = decodeList(body, 100)
			_, _ = decodeV1List(body, 100)
			_, _, _ = decodeV1One(body, 0, 100)
			_, _ = decodeHistory(context.Background(), body)
			_, _ = createdID(&response{status: 201, header: http.Header{}, body: body})
		})
		// A history page may hold recordBase records whatever its size, and
		// a record costs up to 1 KiB of allocations while the page's slice
		// of them grows: a 2 KiB list of "{}" elements allocates 520 KiB.
		if limit := 128*uint64(len(body)) + recordBase<<10; n > limit {
			t.Errorf("%d bytes allocated %d bytes (%.0f×)", len(body), n, float64(n)/float64(max(len(body), 1)))
		}
	})
}
