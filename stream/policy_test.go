package stream_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// The de-duplication policy and the envelope parser against the simulator,
// over each push transport: TCP, TLS and HTTP push.

var pushTransports = []string{"tcp", "tls", "http"}

// source is what a test reads from a transport's consumer side.
type source struct {
	events  <-chan stream.Event
	states  <-chan stream.StateChange // nil for http
	dups    func() uint64
	invalid func() uint64
	raw     func() uint64
}

// subscribe connects a Subscription to monitor id over tcp or tls.
func subscribe(t *testing.T, srv *streamtest.Server, tr string, id uint32) source {
	t.Helper()
	cfg := stream.Config{Addr: srv.PushAddr(), Plaintext: true, Username: "user",
		Password: secret.New(stream.SentinelPassword), MonitorID: id,
		NewBackOff: func() backoff.BackOff { return backoff.NewConstantBackOff(20 * time.Millisecond) }}
	if tr == "tls" {
		cfg.Addr, cfg.Plaintext, cfg.TLSConfig = srv.PushTLSAddr(), false, srv.ClientTLSConfig()
	}
	sub, err := stream.Subscribe(deadline(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return source{events: sub.Events(), states: sub.States(),
		dups:    func() uint64 { return sub.Stats().Duplicates },
		invalid: func() uint64 { return sub.Stats().Invalid },
		raw:     func() uint64 { return sub.Stats().Raw }}
}

// receive mounts an HTTPReceiver for monitor id at path of mux.
func receive(t *testing.T, mux *http.ServeMux, path string, id uint32) source {
	t.Helper()
	r, src := receiver(t, id)
	mux.Handle(path, r)
	return src
}

// receiver returns an HTTPReceiver for monitor id.
func receiver(t *testing.T, id uint32) (*stream.HTTPReceiver, source) {
	t.Helper()
	r, err := stream.NewHTTPReceiver(deadline(t), stream.HTTPConfig{MonitorID: id, Token: secret.New(hookToken)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, source{events: r.Events(),
		dups:    func() uint64 { return r.Stats().Duplicates },
		invalid: func() uint64 { return r.Stats().Invalid },
		raw:     func() uint64 { return r.Stats().Raw }}
}

// pushMonitor creates a monitor for transport tr from spec; for http it
// pushes to base+path.
func pushMonitor(srv *streamtest.Server, tr string, spec streamtest.MonitorSpec, base, path string) uint32 {
	if tr == "http" {
		spec.Transport, spec.TransportURL, spec.TransportToken = "http", base+path, streamtest.Secret(hookToken)
	}
	return srv.CreateMonitor(spec)
}

// TestDistinctEventsAllDelivered: events that differ only in their
// operation (INSERTION, UPDATE, DELETE of one DataPoint id, at one
// timestamp), DataPoints whose id is null or absent, and equal renderings
// of a template are all delivered, over every transport. Over TCP and TLS
// the DataPoints are recorded while no client is connected, so that they
// all arrive flagged replay and every one is checked against the window:
// none is found, because none repeats another; and the template's second
// rendering is the first event after a reconnect, which is checked unless
// it has no identity, as raw events have none. Over HTTP the three pushes
// of the template are equal documents, whose events are checked.
func TestDistinctEventsAllDelivered(t *testing.T) {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 890e6, time.UTC)
	dp := func(op string, body map[string]any) streamtest.Event {
		return streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: op, Timestamp: ts, Body: body}
	}
	distinct := []streamtest.Event{
		dp("INSERTION", map[string]any{"id": "x", "data": 1}),
		dp("UPDATE", map[string]any{"id": "x", "data": 1}),
		dp("DELETE", map[string]any{"id": "x", "data": 1}),
		dp("INSERTION", map[string]any{"id": nil, "data": 2}),
		dp("INSERTION", map[string]any{"id": nil, "data": 3}),
		dp("INSERTION", map[string]any{"data": 2}),
		dp("INSERTION", map[string]any{"data": 3}),
	}
	tick := func(i int) streamtest.Event {
		return streamtest.Event{Topic: "DataPoint/tpl/t", Operation: "INSERTION", Timestamp: ts.Add(time.Duration(i) * time.Second),
			Body: map[string]any{"data": i}}
	}
	for _, tr := range pushTransports {
		t.Run(tr, func(t *testing.T) {
			srv, _ := sim(t)
			mux := http.NewServeMux()
			hs := httptest.NewServer(mux)
			t.Cleanup(hs.Close)
			base := streamtest.MonitorSpec{BatchSize: 1, BatchDuration: -1, AckExplicit: tr != "http", Persistent: tr != "http"}
			dpSpec, tplSpec := base, base
			dpSpec.Topics = []string{"DataPoint/dev1"}
			tplSpec.Topics, tplSpec.SchemaType, tplSpec.SchemaData = []string{"DataPoint/tpl"}, "handlebars", `{"reading":"same"}`
			dpID := pushMonitor(srv, tr, dpSpec, hs.URL, "/dp")
			tplID := pushMonitor(srv, tr, tplSpec, hs.URL, "/tpl")

			var dpSrc, tplSrc source
			var renders []stream.Event
			if tr == "http" {
				dpSrc, tplSrc = receive(t, mux, "/dp", dpID), receive(t, mux, "/tpl", tplID)
				srv.Publish(distinct...)
				srv.Publish(tick(1), tick(2), tick(3))
				renders = collectN(t, "template", tplSrc.events, 3)
			} else {
				srv.Publish(distinct...)
				dpSrc, tplSrc = subscribe(t, srv, tr, dpID), subscribe(t, srv, tr, tplID)
				if err := srv.WaitConnected(deadline(t), tplID); err != nil {
					t.Fatal(err)
				}
				srv.Publish(tick(1))
				renders = collectN(t, "template", tplSrc.events, 1)
				if err := srv.WaitIdle(deadline(t), tplID); err != nil { // acked: not sent again
					t.Fatal(err)
				}
				srv.DropConnections(tplID)
				if err := srv.WaitConnected(deadline(t), tplID); err != nil {
					t.Fatal(err)
				}
				srv.Publish(tick(2), tick(3))
				renders = append(renders, collectN(t, "template after a reconnect", tplSrc.events, 2)...)
			}

			got := collectN(t, "DataPoint", dpSrc.events, len(distinct))
			for i, ev := range got {
				var body map[string]any
				if err := ev.Decode(&body); err != nil || ev.Err != nil || ev.Raw {
					t.Fatalf("event %d: %v %v", i, ev, err)
				}
				want := distinct[i].Body.(map[string]any)
				if ev.Operation != distinct[i].Operation || fmt.Sprint(body["id"]) != fmt.Sprint(want["id"]) || body["data"] != float64(want["data"].(int)) {
					t.Errorf("event %d: %s %v, published %s %v", i, ev.Operation, body, distinct[i].Operation, want)
				}
				if ev.Replay != (tr != "http") {
					t.Errorf("event %d: replay %t", i, ev.Replay)
				}
			}
			for i, ev := range renders {
				if !ev.Raw || string(ev.Body) != `{"reading":"same"}` || ev.Identity() != "" {
					t.Errorf("rendering %d: %+v %s", i, ev, ev.Body)
				}
			}
			if dpSrc.dups() != 0 || tplSrc.dups() != 0 || tplSrc.raw() != 3 {
				t.Errorf("duplicates %d and %d, raw %d; want none, none, 3", dpSrc.dups(), tplSrc.dups(), tplSrc.raw())
			}
		})
	}
}

// stripReplay re-encodes a PublishMessage frame of an uncompressed JSON
// monitor without the events' replay flags: a server that sends again
// what it had sent, unmarked.
func stripReplay(t *testing.T, frame []byte) []byte {
	m, err := protocol.ParsePublishMessage(frame[protocol.HeaderSize:])
	if err != nil {
		t.Error(err)
		return frame
	}
	m.Payload = bytes.ReplaceAll(m.Payload, []byte(`,"replay":true`), nil)
	out, err := protocol.AppendPublishMessage(nil, m)
	if err != nil {
		t.Error(err)
	}
	return out
}

// TestUnmarkedResendAfterReconnectRemoved: the blocks of a connection that
// dropped before their acks are sent again on the next connection without
// the replay flag; the consumer, which had their events, gets none of them
// again (they are checked, being the first events after a reconnect, and
// found), and then every new event — over TCP and TLS.
func TestUnmarkedResendAfterReconnectRemoved(t *testing.T) {
	for _, tr := range []string{"tcp", "tls"} {
		t.Run(tr, func(t *testing.T) {
			srv, _ := sim(t)
			id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 2, BatchDuration: -1,
				AckExplicit: true, Persistent: true})
			var resent atomic.Int32
			srv.SetHooks(id, streamtest.Hooks{
				OnAck: func(ai streamtest.AckInfo) streamtest.AckAction {
					return streamtest.AckAction{Ignore: ai.ConnIndex == 0} // the first connection's blocks stay un-acked
				},
				BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
					if bi.ConnIndex > 0 && bi.Replay {
						resent.Add(int32(len(bi.Events)))
						return streamtest.BlockAction{Raw: stripReplay(t, bi.Frame)}
					}
					return streamtest.BlockAction{}
				},
			})
			src := subscribe(t, srv, tr, id)
			if err := srv.WaitConnected(deadline(t), id); err != nil {
				t.Fatal(err)
			}
			publishDataPoints(srv, 0, 4)
			first := collectN(t, "first connection", src.events, 4)
			srv.DropConnections(id)
			if err := srv.WaitConnected(deadline(t), id); err != nil {
				t.Fatal(err)
			}
			publishDataPoints(srv, 4, 6)
			after := collectN(t, "after the reconnect", src.events, 2)
			var ids []string
			for _, ev := range append(first, after...) {
				dp, err := ev.DataPoint()
				if err != nil || ev.Replay {
					t.Errorf("%v: %v", ev, err)
				}
				ids = append(ids, dp.ID)
			}
			if resent.Load() != 4 || src.dups() != 4 {
				t.Errorf("%d events sent again, %d dropped; want 4 and 4", resent.Load(), src.dups())
			}
			if want := "[dp-00000 dp-00001 dp-00002 dp-00003 dp-00004 dp-00005]"; fmt.Sprint(ids) != want {
				t.Errorf("events %v, want %s", ids, want)
			}
		})
	}
}

// deliverDoc makes the first block of a monitor (tcp, tls) or its first
// push (http) carry doc instead of what the simulator would send, then
// lets a normal block follow, and returns the n events of doc and the
// event after them, with the consumer's source.
func deliverDoc(t *testing.T, tr, doc string, n int) ([]stream.Event, stream.Event, source) {
	t.Helper()
	srv, _ := sim(t)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	spec := streamtest.MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: tr != "http"}
	id := pushMonitor(srv, tr, spec, hs.URL, "/push")
	var src source
	if tr == "http" {
		var rcv *stream.HTTPReceiver
		rcv, src = receiver(t, id)
		var pushes atomic.Int32
		mux.HandleFunc("/push", func(w http.ResponseWriter, r *http.Request) {
			if pushes.Add(1) == 1 {
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(doc)), int64(len(doc))
			}
			rcv.ServeHTTP(w, r)
		})
	} else {
		srv.SetHooks(id, streamtest.Hooks{BeforeBlock: func(bi streamtest.BlockInfo) streamtest.BlockAction {
			if bi.ConnIndex != 0 || bi.Seq != 0 {
				return streamtest.BlockAction{}
			}
			raw, err := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: bi.DataBlockID, Count: uint16(n),
				Format: protocol.FormatJSON, Payload: []byte(doc)})
			if err != nil {
				t.Error(err)
			}
			return streamtest.BlockAction{Raw: raw}
		}})
		src = subscribe(t, srv, tr, id)
		if err := srv.WaitConnected(deadline(t), id); err != nil {
			t.Fatal(err)
		}
	}
	publishDataPoints(srv, 0, 2) // the first is replaced by doc
	evs := collectN(t, tr, src.events, n+1)
	return evs[:n], evs[n], src
}

// TestUnknownMsgMemberLeavesEventTyped: a Msg with a member the library
// does not know (a field the server added) beside its resource gives a
// typed event, over every transport.
func TestUnknownMsgMemberLeavesEventTyped(t *testing.T) {
	doc := `{"Document":{"Msg":[` +
		`{"topic":"1234/DataPoint/dev1/temp","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","customer_id":1,"DataPoint":{"id":"u1","data":1},"extra":{"x":[1,2]}},` +
		`{"customer_id":2,"topic":"1234/DataPoint/dev1/temp","operation":"UPDATE","timestamp":"2025-01-01T00:00:01.000Z","DataPoint":{"id":"u2","data":2}}]}}`
	for _, tr := range pushTransports {
		t.Run(tr, func(t *testing.T) {
			evs, next, src := deliverDoc(t, tr, doc, 2)
			for i, ev := range evs {
				dp, err := ev.DataPoint()
				if err != nil || ev.Raw || ev.Resource != "DataPoint" || dp.ID != fmt.Sprintf("u%d", i+1) {
					t.Errorf("event %d: %+v, %+v, %v", i, ev, dp, err)
				}
			}
			if dp, err := next.DataPoint(); err != nil || dp.ID != "dp-00001" {
				t.Errorf("the next event: %+v, %v", dp, err)
			}
			if src.raw() != 0 || src.invalid() != 0 {
				t.Errorf("raw %d, invalid %d", src.raw(), src.invalid())
			}
		})
	}
}

// TestInvalidBodyReportedNotDeliveredAsValid: a Msg whose body is not
// valid JSON is delivered with Err set (an *EventError: Decode and the
// typed accessors return it), its neighbours as they are, the connection
// goes on; the invalid event is counted in Invalid and, over TCP and TLS,
// reported on States — over every transport.
func TestInvalidBodyReportedNotDeliveredAsValid(t *testing.T) {
	msg := func(id, body string) string {
		return `{"topic":"1234/DataPoint/dev1/temp","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":` + body + `}`
	}
	doc := `{"Document":{"Msg":[` + msg("a", `{"id":"a","data":1}`) + `,` + msg("bad", `{"id":"a","data":tru,"n":01}`) + `,` +
		msg("c", `{"id":"c","data":3}`) + `]}}`
	for _, tr := range pushTransports {
		t.Run(tr, func(t *testing.T) {
			evs, next, src := deliverDoc(t, tr, doc, 3)
			for _, i := range []int{0, 2} {
				if dp, err := evs[i].DataPoint(); err != nil || evs[i].Err != nil || dp.ID == "" {
					t.Errorf("valid neighbour %d: %+v, %v", i, dp, err)
				}
			}
			bad := evs[1]
			var ee *stream.EventError
			if !errors.As(bad.Err, &ee) || ee.Field != "body" || ee.Index != 1 || !errors.Is(bad.Err, stream.ErrInvalidEvent) {
				t.Errorf("invalid event: %+v, Err %v", bad, bad.Err)
			}
			if _, err := bad.DataPoint(); err != bad.Err {
				t.Errorf("DataPoint() of the invalid event: %v", err)
			}
			if string(bad.Body) != `{"id":"a","data":tru,"n":01}` || bad.Identity() == "" || bad.Identity() == evs[0].Identity() {
				t.Errorf("invalid event's body %s, identity %q", bad.Body, bad.Identity())
			}
			if dp, err := next.DataPoint(); err != nil || dp.ID != "dp-00001" {
				t.Errorf("the next event: %+v, %v", dp, err)
			}
			if src.invalid() != 1 {
				t.Errorf("Invalid = %d, want 1", src.invalid())
			}
			if src.states != nil {
				found := false
				for !found {
					select {
					case sc := <-src.states:
						found = sc.State == stream.StateConnected && errors.As(sc.Err, &ee) && errors.Is(sc.Err, stream.ErrInvalidEvent)
					default:
						t.Fatal("no state change reports the invalid event")
					}
				}
			}
		})
	}
}

// TestHTTPDocumentOverBudget: a push whose document exceeds a parsing
// budget (depth, events) is answered 413 (the server does not take it for a consumer
// outage), counted in OverBudget and Rejected, and nothing of it is
// delivered.
func TestHTTPDocumentOverBudget(t *testing.T) {
	rcv, src := receiver(t, 1)
	for name, doc := range map[string]string{
		"JSON": `{"Document":{"Msg":{"topic":"1/X/1","X":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}`,
		"XML":  `<Document><Msg topic="1/X/1"><X>` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</X></Msg></Document>`,
		"raw":  `<html>` + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + `</html>`,
		// Over the events budget: 64 Msgs plus one per 16 bytes.
		"JSON events": `{"Document":{"Msg":[` + strings.Repeat("1,", 1000) + `1]}}`,
		"XML events":  `<Document>` + strings.Repeat("<Msg/>", 300) + `</Document>`,
	} {
		for _, zip := range []bool{false, true} {
			body := []byte(doc)
			if zip {
				var b bytes.Buffer
				w := zlib.NewWriter(&b)
				w.Write(body)
				w.Close()
				body = b.Bytes()
			}
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			user, pass, _ := strings.Cut(hookToken, ":")
			req.SetBasicAuth(user, pass)
			w := httptest.NewRecorder()
			rcv.ServeHTTP(w, req)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("%s (zlib %t): %d %s", name, zip, w.Code, w.Body)
			}
		}
	}
	if st := rcv.Stats(); st.OverBudget != 10 || st.Rejected != 10 || st.Events != 0 || src.raw() != 0 {
		t.Errorf("stats %+v", st)
	}
}
