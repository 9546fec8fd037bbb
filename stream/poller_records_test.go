package stream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/monitor"
)

// recordMsgs are Msgs as a history stores them and a push carries them:
// an unknown member, a lower-case operation and epoch milliseconds, group
// and replay, and Msgs that are invalid (a timestamp time.Parse refuses,
// a topic that is not a string, a resource that cannot be told).
var recordMsgs = []string{
	`{"topic":"1/DataPoint/d/t","operation":"insertion","timestamp":1735689600000,"customer_id":1,"DataPoint":{"id":"a","data":1}}`,
	`{"topic":"1/DeviceCore/7","operation":"UPDATE","timestamp":"2025-01-01T00:00:01Z","group":"*","replay":true,"DeviceCore":{ "id" : {"devId":7} }}`,
	`{"topic":"1/DataPoint/e/t","operation":"INSERTION","timestamp":"2025-02-30T00:00:02Z","DataPoint":{"id":"b"}}`,
	`{"topic":7,"operation":"DELETE","Alarm":{"id":3}}`,
	`{"topic":"1/X/y","timestamp":"2025-01-01T00:00:03Z","a":{},"b":{}}`,
	`{"topic":"1/FileData/f","timestamp":"2025-01-01T00:00:04.123456Z","FileData":{"id":{"fdName":"f"},"fdData":"AA=="}}`,
}

// TestPollerEventsAreAPushs: a poller delivers, for each history record,
// the Event the same Msg gives in a push document — every field, the body
// byte for byte, the identity of a valid event, the invalid field of an
// invalid one — whether the record is a Msg beside the record's id, a
// {"Msg": …} wrapper or a whole stored document.
func TestPollerEventsAreAPushs(t *testing.T) {
	doc := []byte(`{"Document":{"Msg":[` + strings.Join(recordMsgs, ",") + `]}}`)
	push, res := splitEvents(context.Background(), nil, nil, doc, FormatJSON, 5)
	if res.err != nil || res.raw || len(push) != len(recordMsgs) || res.invalid != 3 {
		t.Fatalf("push: %d events, %+v", len(push), res)
	}
	shapes := map[string]func(i int, msg string) string{
		"msg":     func(i int, msg string) string { return fmt.Sprintf(`{"id":"r%d",`, i) + msg[1:] },
		"wrapper": func(i int, msg string) string { return fmt.Sprintf(`{"id":"r%d","Msg":%s}`, i, msg) },
		"stored":  func(i int, msg string) string { return fmt.Sprintf(`{"id":"r%d","Document":{"Msg":[%s]}}`, i, msg) },
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			var list []string
			for i, m := range recordMsgs {
				list = append(list, shape(i, m))
			}
			body := `{"list":[` + strings.Join(list, ",") + `]}`
			synctest.Test(t, func(t *testing.T) {
				api := monitor.NewClient("http://rm.test", monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{
					http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })}}))
				p, err := NewPoller(t.Context(), PollerConfig{Client: api, MonitorID: 5, Interval: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				for i, ev := range take(t, p.Events(), len(push)) {
					want := push[i]
					if name == "msg" && want.Resource == "" {
						// No resource could be told: the body is the whole
						// Msg, and here the record's id is part of it.
						want.Body = []byte(list[i])
					}
					checkSameEvent(t, i, ev, want)
				}
			})
		})
	}
}

func checkSameEvent(t *testing.T, i int, got, want Event) {
	t.Helper()
	if got.Topic != want.Topic || got.Resource != want.Resource || got.Operation != want.Operation ||
		!got.Timestamp.Equal(want.Timestamp) || got.Group != want.Group || got.Replay != want.Replay ||
		got.Format != want.Format || got.Raw != want.Raw || got.MonitorID != want.MonitorID ||
		string(got.Body) != string(want.Body) || (got.Err == nil) != (want.Err == nil) {
		t.Errorf("event %d:\n got %+v %s\nwant %+v %s", i, got, got.Body, want, want.Body)
		return
	}
	if want.Err == nil {
		if got.Identity() != want.Identity() {
			t.Errorf("event %d: identity %s, a push's %s", i, got.Identity(), want.Identity())
		}
		return
	}
	// An invalid event's error says where in its document: the field is
	// what both must agree on.
	var g, w *EventError
	if !errors.As(got.Err, &g) || !errors.As(want.Err, &w) || g.Field != w.Field || g.Reason != w.Reason {
		t.Errorf("event %d: error %v, a push's %v", i, got.Err, want.Err)
	}
}
