package stream

import (
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestParseDocumentIsWhatTheSessionDelivers: the events ParseDocument
// gives for a document are those a Subscription delivers for a block
// holding it (MonitorID apart), for JSON and XML, compressed or not, with
// an invalid event and for template output.
func TestParseDocumentIsWhatTheSessionDelivers(t *testing.T) {
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	evs := []streamtest.Event{
		{Topic: "DataPoint/dev1/temp", Operation: "INSERTION", Timestamp: ts, Body: map[string]any{"id": "a", "data": 1}},
		{Topic: "DeviceCore/882/7", Timestamp: ts.Add(time.Second), Body: map[string]any{"devConnectwareId": "x", "dpConnectionStatus": 1}},
	}
	var docs [][]byte
	var formats []protocol.Format
	for _, f := range []protocol.Format{protocol.FormatJSON, protocol.FormatXML} {
		doc, err := streamtest.AppendDocument(nil, f, 0, evs...)
		if err != nil {
			t.Fatal(err)
		}
		docs, formats = append(docs, doc), append(formats, f)
	}
	docs = append(docs, []byte(jsonDoc(jsonMsg("1/DataPoint/x", "CREATE", "not a time", "DataPoint", `{"id":"b"}`, false))),
		[]byte(`{"reading":"template output"}`))
	formats = append(formats, protocol.FormatJSON, protocol.FormatJSON)

	for i, doc := range docs {
		for _, zip := range []bool{false, true} {
			var got []Event
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: func(_ int, c net.Conn) {
					if fc, ok := loggedIn(t, c); ok {
						fc.block(string(doc), 2, formats[i], zip)
						<-fc.done
					}
				}}
				cfg := testConfig(d)
				sub, _ := Subscribe(t.Context(), cfg)
				got = append(got, <-sub.Events())
				if !got[0].Raw && !strings.Contains(string(doc), "not a time") {
					got = append(got, <-sub.Events())
				}
				sub.Close()
				d.wg.Wait()
			})
			for j := range got {
				got[j].MonitorID = 0
			}
			for _, f := range []Format{formatOf(formats[i]), FormatUnknown} {
				want, err := ParseDocument(doc, f)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmp.Comparer(sameError)); diff != "" {
					t.Errorf("document %d (zlib %v), format %v: ParseDocument (-) and the session (+) differ:\n%s", i, zip, f, diff)
				}
			}
		}
	}
}

// TestParseDocumentLimit: a document over a parsing budget gives no event
// and an error matching ErrDocumentLimit.
func TestParseDocumentLimit(t *testing.T) {
	deep := `{"Document":{"Msg":{"topic":"1/X/1","X":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}}}`
	evs, err := ParseDocument([]byte(deep), FormatJSON)
	var le *LimitError
	if evs != nil || !errors.Is(err, ErrDocumentLimit) || !errors.As(err, &le) {
		t.Fatalf("ParseDocument of a deep document: %d events, %v", len(evs), err)
	}
}

// TestHandBuiltEventDecodes: an Event built by hand, without a Format,
// decodes its JSON or XML body.
func TestHandBuiltEventDecodes(t *testing.T) {
	ev := Event{Resource: "DataPoint", Body: []byte(`{"id":"x","streamId":"s","data":3}`)}
	dp, err := ev.DataPoint()
	if err != nil || dp.ID != "x" || string(dp.Data) != "3" {
		t.Errorf("JSON: %+v, %v", dp, err)
	}
	ev.Body = []byte(`<DataPoint><id>y</id><streamId>s</streamId><data>4</data></DataPoint>`)
	dp, err = ev.DataPoint()
	if err != nil || dp.ID != "y" || string(dp.Data) != "4" {
		t.Errorf("XML: %+v, %v", dp, err)
	}
}

// sameError compares errors by their text.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}
