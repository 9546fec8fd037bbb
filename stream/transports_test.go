package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

const hookToken = "hook:" + stream.SentinelPassword

// sim starts a simulator whose user has the sentinel password, with a
// fast HTTP retry schedule, and a REST client for it.
func sim(t *testing.T) (*streamtest.Server, *monitor.Client) {
	t.Helper()
	srv := streamtest.NewServer(streamtest.Options{
		Users:             map[string]string{"user": stream.SentinelPassword},
		HTTPRetryInterval: 50 * time.Millisecond,
		Logf:              t.Logf,
	})
	t.Cleanup(srv.Close)
	api := monitor.NewClient(srv.URL(), monitor.WithBasicAuth("user", stream.SentinelPassword), monitor.WithRetry(0, 0))
	t.Cleanup(api.CloseIdleConnections)
	return srv, api
}

// swappable serves the current receiver, or 503 when there is none: a
// consumer process that is down.
type swappable struct {
	cur atomic.Pointer[stream.HTTPReceiver]
}

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rcv := s.cur.Load(); rcv != nil {
		rcv.ServeHTTP(w, r)
		return
	}
	http.Error(w, "down", http.StatusServiceUnavailable)
}

func hookServer(t *testing.T) (*swappable, string) {
	t.Helper()
	sw := &swappable{}
	hs := httptest.NewServer(sw)
	t.Cleanup(hs.Close)
	return sw, hs.URL + "/rm/push"
}

func transportEvents() []streamtest.Event {
	base := time.Date(2025, 2, 3, 4, 5, 6, 789e6, time.UTC)
	var evs []streamtest.Event
	for i := range 12 {
		ev := streamtest.Event{
			Topic: fmt.Sprintf("DataPoint/dev%d/metrics/temp", i%3), Operation: "INSERTION",
			Timestamp: base.Add(time.Duration(i) * time.Second),
			Body:      map[string]any{"id": fmt.Sprintf("6845%04d-12c4-11e5-8507-fa163ed4cf14", i), "data": 20.5 + float64(i), "streamUnits": "C <&>"},
		}
		if i%4 == 3 {
			ev = streamtest.Event{Topic: fmt.Sprintf("DeviceCore/88%d/7", i), Operation: "UPDATE", Group: "*",
				Timestamp: base.Add(time.Duration(i) * time.Second),
				Body:      map[string]any{"devConnectwareId": fmt.Sprintf("00000000-00000000-0040FFFF-FF0000%02d", i), "dpConnectionStatus": i % 2}}
		}
		evs = append(evs, ev)
	}
	return evs
}

func collectN(t *testing.T, name string, ch <-chan stream.Event, n int) []stream.Event {
	t.Helper()
	var out []stream.Event
	timeout := time.After(2 * time.Minute) // only turns a hang into a failure
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("%s: closed after %d events", name, len(out))
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatalf("%s: %d events, want %d", name, len(out), n)
		}
	}
	return out
}

// TestTransportsDeliverIdenticalEvents publishes the same events to a tcp,
// an http and a polling monitor and checks that the three transports give
// the same Events, field by field and byte by byte. The tcp monitor is
// persistent: a poller reading its history afterwards gives the very
// events its push gave, identities included (what a consumer that moves
// from one transport to the other de-duplicates by).
func TestTransportsDeliverIdenticalEvents(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	sw, hookURL := hookServer(t)
	topics := []string{"DataPoint", "DeviceCore"}

	tcpID, err := api.Create(ctx, monitor.Spec{Topics: topics, Transport: monitor.TransportTCP, Compression: monitor.Zlib,
		BatchSize: 5, BatchDuration: time.Second, Ack: monitor.AckExplicit, Persistent: true})
	if err != nil {
		t.Fatal(err)
	}
	httpMon, err := api.V1().Create(ctx, monitor.Spec{Topics: topics, Transport: monitor.TransportHTTP, Compression: monitor.Zlib,
		BatchSize: 5, BatchDuration: time.Second, URL: hookURL, Token: secret.New(hookToken), Method: "POST",
		Headers: []secret.String{secret.New("X-Api-Key: " + stream.SentinelPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	pollMon, err := api.V1().Create(ctx, monitor.Spec{Topics: topics, Transport: monitor.TransportPolling})
	if err != nil {
		t.Fatal(err)
	}

	sub, err := stream.Subscribe(ctx, stream.Config{Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: tcpID})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{MonitorID: httpMon.ID, Token: secret.New(hookToken),
		Headers: []secret.String{secret.New("X-Api-Key: " + stream.SentinelPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	sw.cur.Store(rcv)
	poll, err := stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: pollMon.ID, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer poll.Close()
	if err := srv.WaitConnected(ctx, tcpID); err != nil {
		t.Fatal(err)
	}

	pub := transportEvents()
	if n := srv.Publish(pub...); n != 3*len(pub) {
		t.Fatalf("published %d deliveries", n)
	}
	got := map[string][]stream.Event{
		"tcp":     collectN(t, "tcp", sub.Events(), len(pub)),
		"http":    collectN(t, "http", rcv.Events(), len(pub)),
		"polling": collectN(t, "polling", poll.Events(), len(pub)),
	}
	tcpHistory, err := stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: tcpID, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer tcpHistory.Close()
	got["tcp history"] = collectN(t, "tcp history", tcpHistory.Events(), len(pub))
	ids := map[string]uint32{"tcp": tcpID, "http": httpMon.ID, "polling": pollMon.ID, "tcp history": tcpID}
	ref := got["tcp"]
	for i, ev := range ref {
		if ev.Raw || ev.Topic != "1234/"+pub[i].Topic || !ev.Timestamp.Equal(pub[i].Timestamp) {
			t.Fatalf("tcp event %d = %+v, published %+v", i, ev, pub[i])
		}
	}
	for name, evs := range got {
		for i, ev := range evs {
			if ev.MonitorID != ids[name] {
				t.Errorf("%s event %d: MonitorID %d", name, i, ev.MonitorID)
			}
			r := ref[i]
			if ev.Err != nil || ev.Resource == "" {
				t.Errorf("%s event %d: %+v", name, i, ev)
			}
			if ev.Topic != r.Topic || ev.Resource != r.Resource || ev.Operation != r.Operation ||
				!ev.Timestamp.Equal(r.Timestamp) || ev.Group != r.Group || ev.Replay != r.Replay ||
				ev.Format != r.Format || ev.Raw != r.Raw || !bytes.Equal(ev.Body, r.Body) || ev.Identity() != r.Identity() {
				t.Errorf("%s event %d differs from tcp:\n%+v %s\n%+v %s", name, i, ev, ev.Body, r, r.Body)
			}
		}
		if dp, err := evs[0].DataPoint(); err != nil || dp.StreamUnits != "C <&>" {
			t.Errorf("%s: DataPoint %+v, %v", name, dp, err)
		}
	}
}

// TestHTTPReceiverConsumerStoppedThenRetried: while the consumer is down
// the simulator's pushes are answered 503; it retries on its schedule and
// the restarted consumer gets every event once.
func TestHTTPReceiverConsumerStoppedThenRetried(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	sw, hookURL := hookServer(t)
	m, err := api.V1().Create(ctx, monitor.Spec{Topics: []string{"DataPoint"}, Transport: monitor.TransportHTTP,
		URL: hookURL, Token: secret.New(hookToken), BatchSize: 1, BatchDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	newReceiver := func() *stream.HTTPReceiver {
		r, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{MonitorID: m.ID, Token: secret.New(hookToken)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var pub []streamtest.Event // the DataPoint events only
	for _, ev := range transportEvents() {
		if ev.Topic[:9] == "DataPoint" && len(pub) < 6 {
			pub = append(pub, ev)
		}
	}
	first := newReceiver()
	sw.cur.Store(first)
	srv.Publish(pub[:3]...)
	got := collectN(t, "first", first.Events(), 3)

	// The consumer stops: the receiver answers 503 from now on.
	first.Close()
	srv.Publish(pub[3:]...)
	waitAttempt(t, srv, m.ID, func(a streamtest.HTTPAttempt) bool { return a.Status == http.StatusServiceUnavailable })
	if err := srv.WaitStatus(ctx, m.ID, streamtest.StatusConnecting); err != nil {
		t.Fatal(err)
	}
	// A new consumer process: the retries reach it.
	second := newReceiver()
	defer second.Close()
	sw.cur.Store(second)
	got = append(got, collectN(t, "second", second.Events(), 3)...)
	if err := srv.WaitIdle(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	for i, ev := range got {
		if !ev.Timestamp.Equal(pub[i].Timestamp) || ev.Topic != "1234/"+pub[i].Topic {
			t.Errorf("event %d = %v, want %v", i, ev, pub[i].Topic)
		}
	}
	if st := first.Stats(); st.Unavailable == 0 {
		t.Errorf("first receiver stats %+v", st)
	}
	if info, _ := srv.MonitorInfo(m.ID); info.Status != streamtest.StatusActive {
		t.Errorf("status %s", info.Status)
	}
}

// TestHTTPReceiverWrongTokenFromServer: a monitor registered with another
// token is refused with 401 and nothing reaches the consumer.
func TestHTTPReceiverWrongTokenFromServer(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	sw, hookURL := hookServer(t)
	m, err := api.Create(ctx, monitor.Spec{Topics: []string{"DataPoint"}, Transport: monitor.TransportHTTP,
		URL: hookURL, Token: secret.New("hook:not-the-token"), BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{MonitorID: m, Token: secret.New(hookToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	sw.cur.Store(rcv)
	srv.Publish(transportEvents()[0])
	waitAttempt(t, srv, m, func(a streamtest.HTTPAttempt) bool { return a.Status == http.StatusUnauthorized })
	select {
	case ev := <-rcv.Events():
		t.Fatalf("delivered %v", ev)
	default:
	}
	if st := rcv.Stats(); st.Unauthorized == 0 || st.Events != 0 {
		t.Errorf("stats %+v", st)
	}
}

func waitAttempt(t *testing.T, srv *streamtest.Server, id uint32, ok func(streamtest.HTTPAttempt) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only turns a hang into a failure
	defer cancel()
	for {
		for _, a := range srv.HTTPAttempts(id) {
			if ok(a) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no such attempt among %+v", srv.HTTPAttempts(id))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestTemplatedMonitorDeliversRaw creates a monitor with a handlebars
// template through the v1 API: its events arrive raw over TCP and over
// HTTP, and decode into the user's own type.
func TestTemplatedMonitorDeliversRaw(t *testing.T) {
	srv, api := sim(t)
	ctx := deadline(t)
	sw, hookURL := hookServer(t)
	const tmpl = `{"readings":[{{#each this}}{"stream":"{{DataPoint.streamId}}","value":{{DataPoint.data}}}{{#unless @last}},{{/unless}}{{/each}}]}`
	type reading struct {
		Stream string  `json:"stream"`
		Value  float64 `json:"value"`
	}
	type readings struct{ Readings []reading }
	spec := monitor.Spec{Topics: []string{"DataPoint"}, BatchSize: 2, BatchDuration: time.Minute, SchemaType: "handlebars", Schema: tmpl}
	tcpMon, err := api.V1().Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Transport, spec.URL, spec.Token = monitor.TransportHTTP, hookURL, secret.New(hookToken)
	httpMon, err := api.Create(ctx, spec) // the legacy API: monSchemaType/monSchemaData
	if err != nil {
		t.Fatal(err)
	}
	sub, err := stream.Subscribe(ctx, stream.Config{Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New(stream.SentinelPassword), MonitorID: tcpMon.ID})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{MonitorID: httpMon, Token: secret.New(hookToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	sw.cur.Store(rcv)
	if err := srv.WaitConnected(ctx, tcpMon.ID); err != nil {
		t.Fatal(err)
	}
	srv.Publish(
		streamtest.Event{Topic: "DataPoint/d1/temp", Operation: "INSERTION", Body: map[string]any{"streamId": "d1/temp", "data": 21.5}},
		streamtest.Event{Topic: "DataPoint/d2/temp", Operation: "INSERTION", Body: map[string]any{"streamId": "d2/temp", "data": 19}},
	)
	for name, ch := range map[string]<-chan stream.Event{"tcp": sub.Events(), "http": rcv.Events()} {
		ev := collectN(t, name, ch, 1)[0]
		var got readings
		if !ev.Raw || ev.Decode(&got) != nil || len(got.Readings) != 2 ||
			got.Readings[0] != (reading{"d1/temp", 21.5}) || got.Readings[1] != (reading{"d2/temp", 19}) {
			t.Errorf("%s: event %+v %s → %+v", name, ev, ev.Body, got)
		}
	}
}
