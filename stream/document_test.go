package stream

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pushmon/pushmon/protocol"
)

func split(t *testing.T, doc string, f protocol.Format) []Event {
	t.Helper()
	evs, err := splitDocument(nil, []byte(doc), f, 7)
	if err != nil {
		t.Fatalf("splitDocument(%s): %v", doc, err)
	}
	return evs
}

var cmpEvents = cmp.Options{cmpopts.EquateEmpty(), cmp.Transformer("body", func(b []byte) string { return string(b) })}

func TestSplitJSONObjectAndArray(t *testing.T) {
	one := split(t, `{"Document":{"Msg":{"timestamp":"2012-04-17T14:14:07.028Z","topic":"1654/DeviceCore/6283/0","operation":"UPDATE","DeviceCore":{"id":{"devId":6283},"s":"a\"}b"}}}}`, protocol.FormatJSON)
	want := []Event{{Topic: "1654/DeviceCore/6283/0", Resource: "DeviceCore", Operation: "UPDATE",
		Timestamp: time.Date(2012, 4, 17, 14, 14, 7, 28e6, time.UTC), Format: protocol.FormatJSON, MonitorID: 7,
		Body: []byte(`{"id":{"devId":6283},"s":"a\"}b"}`)}}
	if d := cmp.Diff(want, one, cmpEvents); d != "" {
		t.Errorf("object Msg (-want +got):\n%s", d)
	}
	many := split(t, ` { "Document" : { "Msg" : [ {"topic":"3/DataPoint/a","operation":"insertion","timestamp":"2015-06-14T18:37:27Z","replay":true,"group":"*","DataPoint":[1, 2.5e3, null, true]} ,
		{"topic":"3/FileData/x\u002fy","operation":"CREATE","timestamp":"2015-06-14T18:37:27.123456789Z","FileData":"s"} ] } } `, protocol.FormatJSON)
	if len(many) != 2 {
		t.Fatalf("%d events", len(many))
	}
	if e := many[0]; e.Operation != "INSERTION" || !e.Replay || e.Group != "*" || string(e.Body) != `[1, 2.5e3, null, true]` || e.Resource != "DataPoint" {
		t.Errorf("first = %+v", e)
	}
	if e := many[1]; e.Topic != "3/FileData/x/y" || e.Timestamp.Nanosecond() != 123456789 || string(e.Body) != `"s"` {
		t.Errorf("second = %+v (%v)", e, e.Timestamp)
	}
}

func TestSplitJSONKeepAliveAndRaw(t *testing.T) {
	if evs := split(t, `{"Document":null}`, protocol.FormatJSON); len(evs) != 0 {
		t.Errorf("keep-alive gave %d events", len(evs))
	}
	for _, doc := range []string{
		`{"temperature": 21.5, "device": "x"}`,                     // template output
		`{"Document":{"Msg":{"topic":"1/A/1","operation":"UPDATE"`, // truncated
		`{"Document":{"Msg":{"operation":"UPDATE","A":{}}}}`,       // no topic
		`{"Document":{"Msg":{"topic":"1/A/1","A":{},"B":{}}}}`,     // two resources
		`{"Document":{"Msg":42}}`,
		`[1,2]`, ``, `{"Document":{"Msg":{}}} trailing`,
	} {
		if _, err := splitDocument(nil, []byte(doc), protocol.FormatJSON, 1); err != errNotEnvelope {
			t.Errorf("%q: err = %v, want errNotEnvelope", doc, err)
		}
	}
}

func TestSplitXML(t *testing.T) {
	doc := `<?xml version="1.0"?><Document><Msg topic="3/DeviceCore/882/7" operation="update" timestamp="2012-04-17T14:14:07Z" replay="true">
	<DeviceCore><id><devId>882</devId><devVersion>7</devVersion></id><dpConnectionStatus>1</dpConnectionStatus><devMac>a&amp;b</devMac></DeviceCore>
	</Msg><Msg topic="3/DataPoint/d/s" operation="INSERTION" timestamp="2012-04-17T14:14:08.5Z"><DataPoint><id>u-1</id><data>2.5</data><timestamp>1434307047694</timestamp></DataPoint></Msg></Document>`
	evs := split(t, doc, protocol.FormatXML)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Topic != "3/DeviceCore/882/7" || e.Operation != "UPDATE" || !e.Replay || e.Resource != "DeviceCore" || e.Format != protocol.FormatXML {
		t.Errorf("XML event = %+v", e)
	}
	if !bytes.HasPrefix(e.Body, []byte("<DeviceCore>")) || !bytes.HasSuffix(e.Body, []byte("</DeviceCore>")) {
		t.Errorf("body = %s", e.Body)
	}
	dc, err := e.DeviceCore()
	if err != nil || dc.ID.DevID != 882 || dc.ID.DevVersion != 7 || !dc.Connected() || dc.MAC != "a&b" {
		t.Errorf("DeviceCore = %+v, %v", dc, err)
	}
	dp, err := evs[1].DataPoint()
	if err != nil || dp.ID != "u-1" || dp.Data != "2.5" || dp.Timestamp != 1434307047694 {
		t.Errorf("DataPoint = %+v, %v", dp, err)
	}
	// A single <Msg> root without <Document>.
	one := split(t, `<Msg topic="3/X/1" operation="DELETE" timestamp="2012-04-17T14:14:07Z"><X a="1"/></Msg>`, protocol.FormatXML)
	if len(one) != 1 || string(one[0].Body) != `<X a="1"/>` || one[0].Operation != "DELETE" {
		t.Errorf("Msg root = %+v", one)
	}
	for _, bad := range []string{`<html><body>template</body></html>`, `<Document><Msg topic="1/X/1"><X>`, `plain text`} {
		if _, err := splitDocument(nil, []byte(bad), protocol.FormatXML, 1); err != errNotEnvelope {
			t.Errorf("%q: err = %v", bad, err)
		}
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

func TestParseTimeForms(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2012-04-17T14:14:07Z":          time.Date(2012, 4, 17, 14, 14, 7, 0, time.UTC),
		"2012-04-17T14:14:07.1Z":        time.Date(2012, 4, 17, 14, 14, 7, 1e8, time.UTC),
		"2012-04-17T14:14:07.028Z":      time.Date(2012, 4, 17, 14, 14, 7, 28e6, time.UTC),
		"2012-04-17T16:14:07.028+02:00": time.Date(2012, 4, 17, 14, 14, 7, 28e6, time.UTC),
		"garbage":                       {},
		"2012-13-17T14:14:07Z":          {},
	} {
		if got := parseTime([]byte(in)); !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestDedupWindow(t *testing.T) {
	d := newDedup(3)
	ev := func(id string) Event {
		return Event{Resource: "DataPoint", Topic: "1/DataPoint/x", Body: []byte(`{"data":1,"id":"` + id + `"}`)}
	}
	a, b := ev("a"), ev("b")
	if d.identity(&a) == d.identity(&b) {
		t.Fatal("different DataPoint ids share an identity")
	}
	a2 := ev("a")
	a2.Replay, a2.Timestamp = true, time.Now()
	if d.identity(&a) != d.identity(&a2) {
		t.Error("a replay of a DataPoint has another identity")
	}
	for _, id := range []string{"a", "b", "c"} {
		e := ev(id)
		d.add(d.identity(&e))
	}
	if !d.seen(d.identity(&a)) {
		t.Error("a forgotten within the window")
	}
	e := ev("d")
	d.add(d.identity(&e))
	if d.seen(d.identity(&a)) || !d.seen(d.identity(&b)) || d.set.len() != 3 {
		t.Errorf("window not bounded at 3: %d", d.set.len())
	}
	x1 := Event{Topic: "1/DeviceCore/1/0", Operation: "UPDATE", Body: []byte(`{"a":1}`)}
	x2 := x1
	x2.Body = []byte(`{"a":2}`)
	if d.identity(&x1) == d.identity(&x2) {
		t.Error("bodies do not count in non-DataPoint identity")
	}
}
