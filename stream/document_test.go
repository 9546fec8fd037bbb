package stream

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
)

func split(t *testing.T, doc string, f protocol.Format) []Event {
	t.Helper()
	evs, res := splitEvents(context.Background(), nil, nil, []byte(doc), formatOf(f), 7)
	if res.err != nil || res.raw {
		t.Fatalf("splitEvents(%s): %+v", doc, res)
	}
	return evs
}

var cmpEvents = cmp.Options{cmpopts.EquateEmpty(), cmp.Transformer("body", func(b []byte) string { return string(b) })}

// TestSplitEvents: the events of a block carry its format and the
// monitor; a document that is not an envelope is one Raw event of the
// whole document; one over a budget gives no event and a *LimitError.
func TestSplitEvents(t *testing.T) {
	one := split(t, `{"Document":{"Msg":{"timestamp":"2012-04-17T14:14:07.028Z","topic":"1654/DeviceCore/6283/0","operation":"UPDATE","DeviceCore":{"id":{"devId":6283}}}}}`, protocol.FormatJSON)
	want := []Event{{Topic: "1654/DeviceCore/6283/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2012, 4, 17, 14, 14, 7, 28e6, time.UTC), Format: FormatJSON, MonitorID: 7,
		Body: []byte(`{"id":{"devId":6283}}`)}}
	if d := cmp.Diff(want, one, cmpEvents); d != "" {
		t.Errorf("object Msg (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		doc  string
		wire protocol.Format
	}{
		{`{"temperature": 21.5}`, protocol.FormatJSON},
		{`{"Document":{"Msg":{"topic":"1/A/1"`, protocol.FormatJSON},
		{`<html>template</html>`, protocol.FormatXML},
	} {
		evs, res := splitEvents(context.Background(), nil, []Event{{Topic: "kept"}}, []byte(c.doc), formatOf(c.wire), 3)
		if !res.raw || res.err != nil || len(evs) != 2 || evs[0].Topic != "kept" {
			t.Fatalf("%s: %+v, %d events", c.doc, res, len(evs))
		}
		if e := evs[1]; !e.Raw || string(e.Body) != c.doc || e.Format != formatOf(c.wire) || e.MonitorID != 3 || e.Identity() != "" {
			t.Errorf("%s: raw event %+v", c.doc, e)
		}
	}
	deep := `{"Document":{"Msg":{"topic":"1/A/1","A":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}}`
	evs, res := splitEvents(context.Background(), nil, nil, []byte(deep), FormatJSON, 3)
	var le *LimitError
	if len(evs) != 0 || !errors.As(res.err, &le) || !errors.Is(res.err, ErrDocumentLimit) {
		t.Errorf("deep document: %d events, %+v", len(evs), res)
	}
}

// TestEventFormatZeroValue: a zero Format is "unknown", not XML: Decode
// and the typed accessors look at the body.
func TestEventFormatZeroValue(t *testing.T) {
	var zero Event
	if zero.Format != FormatUnknown || FormatUnknown.String() != "unknown" || FormatJSON.String() != "json" || FormatXML.String() != "xml" {
		t.Errorf("zero Format = %v", zero.Format)
	}
	if formatOf(protocol.FormatXML) != FormatXML || formatOf(protocol.FormatJSON) != FormatJSON || formatOf(7) != FormatUnknown {
		t.Error("wire formats map wrongly")
	}
	// Formats convert to and from the parser's by value.
	if FormatUnknown != Format(envelope.Unknown) || FormatJSON != Format(envelope.JSON) || FormatXML != Format(envelope.XML) {
		t.Error("Format values differ from envelope.Format's")
	}
	j := Event{Resource: "DataPoint", Body: []byte(` {"id":"j","data":1}`)}
	x := Event{Resource: "DataPoint", Body: []byte(`<DataPoint><id>x</id></DataPoint>`)}
	if dp, err := j.DataPoint(); err != nil || dp.ID != "j" {
		t.Errorf("JSON body, zero Format: %+v, %v", dp, err)
	}
	if dp, err := x.DataPoint(); err != nil || dp.ID != "x" {
		t.Errorf("XML body, zero Format: %+v, %v", dp, err)
	}
}

// TestInvalidEventIsNeverTakenForValid: Decode and the typed accessors of
// an invalid event return its *EventError.
func TestInvalidEventIsNeverTakenForValid(t *testing.T) {
	evs, res := splitEvents(context.Background(), nil, nil, []byte(`{"Document":{"Msg":[
		{"topic":"1/DataPoint/s","DataPoint":{"id":"a","data":tru,"n":01}},
		{"topic":"1/DataPoint/s","DataPoint":{"id":"b","data":1}}]}}`), FormatJSON, 1)
	if res.err != nil || res.invalid != 1 || len(evs) != 2 || !errors.Is(res.first, ErrInvalidEvent) {
		t.Fatalf("%d events, %+v", len(evs), res)
	}
	bad := evs[0]
	var ee *EventError
	if !errors.As(bad.Err, &ee) || ee.Field != "body" || !strings.Contains(bad.String(), "invalid") {
		t.Errorf("invalid event %v: %v", bad, bad.Err)
	}
	var v map[string]any
	if _, err := bad.DataPoint(); err != bad.Err {
		t.Errorf("DataPoint() of an invalid event: %v", err)
	}
	if err := bad.Decode(&v); err != bad.Err {
		t.Errorf("Decode of an invalid event: %v", err)
	}
	if dp, err := evs[1].DataPoint(); err != nil || dp.ID != "b" {
		t.Errorf("the valid neighbour: %+v, %v", dp, err)
	}
}

func TestXMLTypedAccessors(t *testing.T) {
	doc := `<?xml version="1.0"?><Document><Msg topic="3/DeviceCore/882/7" operation="update" timestamp="2012-04-17T14:14:07Z" replay="true">
	<DeviceCore><id><devId>882</devId><devVersion>7</devVersion></id><dpConnectionStatus>1</dpConnectionStatus><devMac>a&amp;b</devMac></DeviceCore>
	</Msg><Msg topic="3/DataPoint/d/s" operation="INSERTION" timestamp="2012-04-17T14:14:08.5Z"><DataPoint><id>u-1</id><data>2.5</data><timestamp>1434307047694</timestamp></DataPoint></Msg></Document>`
	evs := split(t, doc, protocol.FormatXML)
	if len(evs) != 2 || evs[0].Format != FormatXML {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	dc, err := evs[0].DeviceCore()
	if err != nil || dc.ID.DevID != 882 || dc.ID.DevVersion != 7 || !dc.Connected() || dc.MAC != "a&b" {
		t.Errorf("DeviceCore = %+v, %v", dc, err)
	}
	dp, err := evs[1].DataPoint()
	if err != nil || dp.ID != "u-1" || dp.Data != "2.5" || dp.Timestamp != 1434307047694 {
		t.Errorf("DataPoint = %+v, %v", dp, err)
	}
}

func TestCaptureDocuments(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "vectors", "publish-message-2012.bin"))
	if err != nil {
		t.Skip("capture vectors not present:", err)
	}
	r := protocol.NewReader(bytes.NewReader(b), protocol.ReaderOptions{})
	var ops []string
	for {
		f, err := r.ReadFrame()
		if err != nil {
			break
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		evs := split(t, string(m.Payload), m.Format)
		if len(evs) != int(m.Count) {
			t.Fatalf("%d events, Count %d", len(evs), m.Count)
		}
		dc, err := evs[0].DeviceCore()
		if err != nil || dc.ID.DevID != 6283 || dc.ConnectwareID != "00000000-00000000-00409DFF-FF458726" || dc.CustomerID != 1654 || dc.Terminated != "false" {
			t.Errorf("DeviceCore = %+v, %v", dc, err)
		}
		ops = append(ops, evs[0].Operation+" "+evs[0].Topic+" "+evs[0].Timestamp.Format(time.RFC3339Nano))
	}
	want := []string{"UPDATE 1654/DeviceCore/6283/0 2012-04-17T14:14:07.028Z", "DELETE 1654/DeviceCore/6283/0 2012-04-17T14:14:07.203Z"}
	if d := cmp.Diff(want, ops); d != "" {
		t.Error(d)
	}
}

func TestFileDataBase64WithNewlines(t *testing.T) {
	ev := split(t, `{"Document":{"Msg":{"topic":"4044/FileData/db/x/alert/foo.json","operation":"INSERTION","timestamp":"2015-01-01T00:00:00Z","FileData":{"id":{"fdPath":"/db/x/","fdName":"foo.json"},"fdData":"eyJhIjox\nfQ==","fdSize":7,"fdContentType":"application/json"}}}}`, protocol.FormatJSON)[0]
	fd, err := ev.FileData()
	if err != nil || string(fd.Data) != `{"a":1}` || fd.ID.Name != "foo.json" || fd.Size != 7 {
		t.Errorf("FileData = %+v, %v", fd, err)
	}
	if _, err := ev.DataPoint(); err == nil {
		t.Error("DataPoint() of a FileData event succeeded")
	}
}

// TestDedupWindow: the window remembers n identities; a replay (and a
// copy in another zone) has the identity of its event, a change to any
// field another.
func TestDedupWindow(t *testing.T) {
	d := newDedup(3)
	ev := func(id string) Event {
		return Event{Resource: "DataPoint", Topic: "1/DataPoint/x", Operation: "INSERTION", Body: []byte(`{"data":1,"id":"` + id + `"}`)}
	}
	a, b := ev("a"), ev("b")
	if d.key(&a) == d.key(&b) {
		t.Fatal("different DataPoints share an identity")
	}
	a2 := ev("a")
	a2.Replay, a2.MonitorID = true, 9
	if d.key(&a) != d.key(&a2) {
		t.Error("a replay of a DataPoint has another identity")
	}
	del := ev("a")
	del.Operation = "DELETE"
	if d.key(&a) == d.key(&del) {
		t.Error("the DELETE of a DataPoint has the identity of its INSERTION")
	}
	for _, id := range []string{"a", "b", "c"} {
		e := ev(id)
		d.add(d.key(&e))
	}
	if !d.seen(d.key(&a)) {
		t.Error("a forgotten within the window")
	}
	e := ev("d")
	d.add(d.key(&e))
	if d.seen(d.key(&a)) || !d.seen(d.key(&b)) || d.set.len() != 3 {
		t.Errorf("window not bounded at 3: %d", d.set.len())
	}
	raw := Event{Raw: true, Body: []byte("x")}
	if d.key(&raw) != 0 {
		t.Error("a raw event has a window identity")
	}
}

// wellFormed reports whether doc is one well-formed JSON value or XML
// document, as the HTTP receiver judges a document that is not an
// envelope.
func wellFormed(doc []byte, f Format) bool {
	var sp envelope.Splitter
	return sp.Wellformed(context.Background(), doc, envelope.Format(f)) == nil
}
