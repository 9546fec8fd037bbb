package streamtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestFramesMatchCapture rebuilds the two captured PublishMessages (a
// DeviceCore UPDATE and DELETE, cstId 1654, one event per block) from
// their events and compares the frames byte for byte.
func TestFramesMatchCapture(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join(vectorsDir(t), "publish-message-2012.bin"))
	if err != nil {
		t.Fatal(err)
	}
	// Take the events out of the capture.
	rd := protocol.NewReader(bytes.NewReader(capture), protocol.ReaderOptions{})
	var events []Event
	for {
		f, err := rd.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pm, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Document struct{ Msg map[string]json.RawMessage }
		}
		if err := json.Unmarshal(pm.Payload, &doc); err != nil {
			t.Fatal(err)
		}
		var topic, op, ts string
		json.Unmarshal(doc.Document.Msg["topic"], &topic)
		json.Unmarshal(doc.Document.Msg["operation"], &op)
		json.Unmarshal(doc.Document.Msg["timestamp"], &ts)
		stamp, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, Event{Topic: strings.TrimPrefix(topic, "1654/"), Operation: op, Timestamp: stamp,
			Body: doc.Document.Msg["DeviceCore"]})
	}
	if len(events) != 2 {
		t.Fatalf("%d events in the capture", len(events))
	}

	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.CustomerID = 1654
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		a, b := newPipe()
		defer b.Close()
		s.ServeConn(a)
		frame, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
		go b.Write(frame)
		got := make([]byte, protocol.ConnectResponseSize+len(capture))
		if _, err := io.ReadFull(b, got[:protocol.ConnectResponseSize]); err != nil {
			t.Fatal(err)
		}
		if want := []byte{0, 2, 0, 0, 0, 4, 0, 0xc8, 0, 1}; !bytes.Equal(got[:10], want) {
			t.Fatalf("ConnectResponse % x, want % x", got[:10], want)
		}
		s.Publish(events...)
		if _, err := io.ReadFull(b, got[protocol.ConnectResponseSize:]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[10:], capture) {
			t.Fatalf("frames differ from the capture\n got %q\nwant %q", got[10:], capture)
		}
	})
}

type structBody struct {
	XMLName  xml.Name `xml:"ignored"`
	StreamID string   `xml:"streamId" json:"streamId"`
	Data     float64  `xml:"data" json:"data"`
}

func TestXMLBodies(t *testing.T) {
	now := time.Date(2020, 1, 2, 3, 4, 5, 6e6, time.UTC)
	cases := []struct {
		body any
		want string
	}{
		{nil, "<DataPoint></DataPoint>"},
		{map[string]any{"b": nil, "a": true, "n": json.Number("12")}, "<DataPoint><a>true</a><b></b><n>12</n></DataPoint>"},
		{map[string]int{"x": 1}, "<DataPoint><x>1</x></DataPoint>"},
		{json.RawMessage(`{"id":{"fdPath":"/a/","fdName":"b&c"}}`), "<DataPoint><id><fdName>b&amp;c</fdName><fdPath>/a/</fdPath></id></DataPoint>"},
		{structBody{StreamID: "s", Data: 2.5}, "<DataPoint><streamId>s</streamId><data>2.5</data></DataPoint>"},
		{&structBody{StreamID: "p"}, "<DataPoint><streamId>p</streamId><data>0</data></DataPoint>"},
		{"plain <text>", "<DataPoint>plain &lt;text&gt;</DataPoint>"},
	}
	for _, c := range cases {
		r, err := prepare(Event{Topic: "DataPoint/x", Operation: "INSERTION", Body: c.body, Group: `"q"`}, 7, now)
		if err != nil {
			t.Fatalf("%v: %v", c.body, err)
		}
		if err := r.renderXML(); err != nil {
			t.Fatalf("%v: %v", c.body, err)
		}
		doc := appendDocument(nil, true, []qitem{{ev: r, replay: true}})
		msgs, err := decodeXMLDoc(doc)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[0]
		if m.Inner != c.want || m.Topic != "7/DataPoint/x" || m.Timestamp != "2020-01-02T03:04:05.006Z" || !m.Replay || m.Group != `"q"` {
			t.Errorf("%#v:\n got %+v\nwant inner %s", c.body, m, c.want)
		}
	}
	// Keys that are not XML names make the event unrenderable as XML.
	r, err := prepare(Event{Topic: "DataPoint/x", Body: map[string]any{"1bad": 1}}, 7, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.renderXML(); err == nil {
		t.Error("key 1bad rendered")
	}
}

func TestXMLRenderFailureDropsOnlyForXMLMonitors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		x := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Format: "xml", Persistent: true})
		j := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
		if n := s.Publish(Event{Topic: "DataPoint/a", Body: map[string]any{"a b": 1}}); n != 1 {
			t.Fatalf("queued %d, want 1 (JSON only)", n)
		}
		if sx, sj := s.Stats(x), s.Stats(j); sx.Dropped != 1 || sx.Queued != 0 || sj.Queued != 1 {
			t.Errorf("xml %+v json %+v", sx, sj)
		}
	})
}

func TestJSONDocuments(t *testing.T) {
	now := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	weird := "q\"b\\s/\n\t\x01\u2028é\xff"
	r1, err := prepare(Event{Topic: "DataPoint/" + weird, Operation: weird, Group: weird, Body: map[string]any{"html": "<a&b>"}}, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := prepare(Event{Topic: "DeviceCore/1"}, 1, now)
	doc := appendDocument(nil, false, []qitem{{ev: r1}, {ev: r2, replay: true}})
	msgs, isArray, err := decodeJSONDoc(doc)
	if err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	fixed := strings.ToValidUTF8(weird, "\uFFFD")
	if !isArray || len(msgs) != 2 || msgs[0].Operation != fixed || msgs[0].Group != fixed ||
		msgs[0].Topic != "1/DataPoint/"+fixed || msgs[0].Body["html"] != "<a&b>" || msgs[0].Replay ||
		!msgs[1].Replay || msgs[1].Resource != "DeviceCore" || len(msgs[1].Body) != 0 {
		t.Errorf("%s\n%+v", doc, msgs)
	}
}

func TestTryPublishRejectsInvalidEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs []string
		opts := offline()
		opts.Logf = func(f string, a ...any) { logs = append(logs, f) }
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
		for _, ev := range []Event{
			{Topic: ""},
			{Topic: "/"},
			{Topic: "1DataPoint/x"},
			{Topic: "Data Point/x"},
			{Topic: "DataPoint/x", Body: make(chan int)},
			{Topic: "DataPoint/x", Body: json.RawMessage(`{`)},
		} {
			n, err := s.TryPublish(dp("a", "b", 1), ev)
			if !errors.Is(err, ErrInvalidEvent) || n != 0 {
				t.Errorf("%q: %d, %v", ev.Topic, n, err)
			}
		}
		if st := s.Stats(id); st.Queued != 0 {
			t.Fatalf("TryPublish queued %d events despite errors", st.Queued)
		}
		// Publish skips the bad one and logs it.
		if n := s.Publish(dp("a", "b", 1), Event{Topic: ""}); n != 1 || len(logs) != 1 {
			t.Errorf("Publish: %d queued, %d log lines", n, len(logs))
		}
		if n, err := s.TryPublish(dp("a", "b", 1)); n != 1 || err != nil {
			t.Errorf("TryPublish: %d %v", n, err)
		}
	})
}

// AppendDocument gives exactly the document a Server pushes for the same
// events in one block, in both formats, and refuses what Publish refuses.
func TestAppendDocumentIsWhatTheServerPushes(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 123e6, time.UTC)
	evs := []Event{dp("d1", "temp", 21.5), dp("d2", "hum", 40), {Topic: "DeviceCore/7/0", Body: map[string]any{"devId": 7}}}
	for i := range evs {
		evs[i].Timestamp = at.Add(time.Duration(i) * time.Second)
	}
	for _, format := range []protocol.Format{protocol.FormatJSON, protocol.FormatXML} {
		synctest.Test(t, func(t *testing.T) {
			s := NewServer(offline())
			defer s.Close()
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint", "DeviceCore"}, Format: format.String(),
				BatchSize: len(evs), BatchDuration: time.Minute})
			rc := pipeClient(t, s)
			defer rc.Close()
			rc.mustConnect(id)
			s.Publish(evs...)
			got := rc.mustBlock()
			want, err := AppendDocument([]byte("keep"), format, 0, evs...)
			if err != nil || string(want[:4]) != "keep" {
				t.Fatalf("%v: %q, %v", format, want, err)
			}
			if string(got.Doc) != string(want[4:]) {
				t.Errorf("%v: pushed\n%s\nAppendDocument\n%s", format, got.Doc, want[4:])
			}
		})
	}
	for _, format := range []protocol.Format{protocol.FormatJSON, protocol.FormatXML} {
		if _, err := AppendDocument(nil, format, 0, Event{Topic: "1DataPoint/x"}); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%v, bad topic: %v", format, err)
		}
	}
	if _, err := AppendDocument(nil, protocol.FormatXML, 0, Event{Topic: "DataPoint/x", Body: map[string]any{"a b": 1}}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("XML of a key that is no XML name: %v", err)
	}
	if doc, err := AppendDocument(nil, protocol.FormatJSON, 7, Event{Topic: "DataPoint/x"}); err != nil || !strings.Contains(string(doc), `"topic":"7/DataPoint/x"`) {
		t.Errorf("customer 7: %s, %v", doc, err)
	}
}
