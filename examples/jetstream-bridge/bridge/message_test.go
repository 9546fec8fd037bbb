package bridge

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

func TestMessageHeaders(t *testing.T) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	ev := &stream.Event{Topic: "7/DeviceCore/1 %\r\n/0", Resource: "DeviceCore", Operation: "UPDATE", Timestamp: ts,
		Group: "g1", Replay: true, Format: stream.FormatXML, Body: []byte("<DeviceCore/>"), MonitorID: 42}
	m := Message("p", ev)
	want := nats.Header{
		HeaderMsgID:     {ev.Identity()},
		HeaderTopic:     {"7/DeviceCore/1%20%25%0D%0A/0"},
		HeaderOperation: {"UPDATE"},
		HeaderTimestamp: {"2024-05-06T07:08:09.123Z"},
		HeaderReplay:    {"true"},
		HeaderGroup:     {"g1"},
		HeaderMonitor:   {"42"},
		HeaderFormat:    {"xml"},
	}
	if d := cmp.Diff(want, m.Header); d != "" {
		t.Errorf("headers (-want +got):\n%s", d)
	}
	if topic, err := url.PathUnescape(m.Header.Get(HeaderTopic)); err != nil || topic != ev.Topic {
		t.Errorf("Rm-Topic unescapes to %q, %v", topic, err)
	}
	if m.Subject != Subject("p", ev) || &m.Data[0] != &ev.Body[0] {
		t.Errorf("subject %q, data %q (must alias the body)", m.Subject, m.Data)
	}

	live := &stream.Event{Topic: "7/DataPoint/s", Resource: "DataPoint", Operation: "INSERTION", Format: stream.FormatJSON, Body: []byte(`{"id":"x"}`)}
	m = Message("p", live)
	if m.Header.Get(HeaderReplay) != "false" || m.Header.Get(HeaderFormat) != "json" || m.Header.Get(HeaderMsgID) != live.Identity() {
		t.Errorf("live JSON event headers %v", m.Header)
	}
	for _, absent := range []string{HeaderTimestamp, HeaderGroup, HeaderRaw} {
		if _, ok := m.Header[absent]; ok {
			t.Errorf("%s present on %v", absent, m.Header)
		}
	}

	raw := &stream.Event{Raw: true, Format: stream.FormatJSON, Body: []byte(`"template output"`), MonitorID: 3}
	m = Message("p", raw)
	want = nats.Header{HeaderMonitor: {"3"}, HeaderFormat: {"json"}, HeaderRaw: {"true"}} // no identity: no Nats-Msg-Id
	if d := cmp.Diff(want, m.Header); d != "" || m.Subject != "p._raw.3" {
		t.Errorf("raw: subject %q, headers (-want +got):\n%s", m.Subject, d)
	}
}

// Topics with dots, wildcards, spaces and non-ASCII, from an XML monitor,
// arrive under safe subjects with the topic, body and headers intact.
func TestUnusualTopicsThroughTheBridge(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, "ODD", "acme.rm")
	sim, err := streamtest.Start(streamtest.Options{HTTPAddr: "-", PushTLSAddr: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	mon := sim.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"FileData", "DataPoint"}, Format: "xml",
		BatchSize: 10, BatchDuration: -1, AckExplicit: true, Persistent: true})
	topics := []string{"FileData/~/a.b c/*>", "FileData/é%/x", "DataPoint/dev/s.1", "FileData//double"}
	for i, topic := range topics {
		sim.Publish(streamtest.Event{Topic: topic, Operation: "CREATE", Group: "g",
			Timestamp: time.Unix(1_700_000_000+int64(i), 0), Body: map[string]any{"n": i}})
	}
	b, err := New(Config{Conn: nc, Stream: "ODD", SubjectPrefix: "acme.rm", Push: pushConfig(sim),
		Monitors: []uint32{mon}, NewBackOff: fastBackOff})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "ODD")
	if err != nil {
		t.Fatal(err)
	}
	for i, topic := range topics {
		full := fmt.Sprint(sim.CustomerID()) + "/" + topic
		msg, err := s.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if want := Subject("acme.rm", &stream.Event{Topic: full}); msg.Subject != want {
			t.Errorf("event %d on %q, want %q", i, msg.Subject, want)
		}
		if got, _ := url.PathUnescape(msg.Header.Get(HeaderTopic)); got != full {
			t.Errorf("event %d: Rm-Topic %q, want %q", i, msg.Header.Get(HeaderTopic), full)
		}
		if msg.Header.Get(HeaderFormat) != "xml" || msg.Header.Get(HeaderGroup) != "g" || msg.Header.Get(HeaderOperation) != "CREATE" {
			t.Errorf("event %d headers %v", i, msg.Header)
		}
		if want := fmt.Sprintf("<FileData><n>%d</n></FileData>", i); topic[0] == 'F' && string(msg.Data) != want {
			t.Errorf("event %d data %q, want %q", i, msg.Data, want)
		}
	}
	// Consumers can select by wildcard.
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("acme.rm.*.FileData.>"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.State.Subjects) != 3 {
		t.Errorf("FileData subjects %v, want 3", info.State.Subjects)
	}
}

func BenchmarkMessage(b *testing.B) {
	ev := &stream.Event{Topic: "1234/DataPoint/dev1/temp", Resource: "DataPoint", Operation: "INSERTION",
		Timestamp: time.Now(), Body: []byte(`{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","data":21.5}`)}
	b.ReportAllocs()
	for b.Loop() {
		_ = Message("rm", ev)
	}
}
