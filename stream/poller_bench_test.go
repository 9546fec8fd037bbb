package stream

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/monitor"
)

// BenchmarkHistoryPageEvents measures what a poller spends on one page of
// 1000 stored DataPoint events, from the answer's bytes to the Events:
// the REST client's reading of the page (over an in-memory transport) and
// the turning of each record into its Event.
func BenchmarkHistoryPageEvents(b *testing.B) {
	var list []string
	for i := range 1000 {
		list = append(list, fmt.Sprintf(`{"id":"%d","timestamp":"2025-06-01T00:%02d:%02d.000Z","topic":"1234/DataPoint/dev%d/temp","operation":"INSERTION",`+
			`"DataPoint":{"id":"6845%04d-12c4-11e5-8507-fa163ed4cf14","cstId":1234,"streamId":"dev%d/temp","timestamp":1748736000000,"serverTimestamp":1748736000001,"data":"%d.5","description":"","quality":0,"streamUnits":"C"}}`,
			i, i/60%60, i%60, i%4, i, i%4, i))
	}
	body := `{"count":1000,"size":1000,"list":[` + strings.Join(list, ",") + `]}`
	api := monitor.NewClient("http://rm.test", monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) })}}))
	p := &Poller{cfg: PollerConfig{MonitorID: 5}}
	var evs []Event
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := api.HistoryPage(context.Background(), 5, monitor.HistoryQuery{Size: 1000})
		if err != nil || len(page.Records) != 1000 {
			b.Fatal(len(page.Records), err)
		}
		for i := range page.Records {
			evs = p.recordEvents(evs[:0], &page.Records[i])
			if len(evs) != 1 || evs[0].Err != nil || evs[0].Resource != "DataPoint" {
				b.Fatal(evs)
			}
		}
	}
}
