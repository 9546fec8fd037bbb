package stream

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/monitor"
)

// TestPollerTopiclessInvalidEventsAreDistinct: two invalid events without
// a topic (so without an Identity), with different timestamps and bodies,
// are two events. The poller must deliver both, once each over several
// polls; its seen-set must not treat the empty identity as one key shared
// by every such event.
func TestPollerTopiclessInvalidEventsAreDistinct(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"list":[`+
				`"{\"Document\":{\"Msg\":{\"operation\":\"INSERTION\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"DataPoint\":{\"id\":\"a\"}}}}",`+
				`"{\"Document\":{\"Msg\":{\"operation\":\"INSERTION\",\"timestamp\":\"2025-01-01T00:00:01Z\",\"DataPoint\":{\"id\":\"b\"}}}}"]}`)
		})
		api := monitor.NewClient("http://rm.test", monitor.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		p, err := NewPoller(ctx, PollerConfig{Client: api, MonitorID: 5, Interval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var got []Event
		done := false
		for !done {
			select {
			case ev := <-p.Events():
				got = append(got, ev)
			case <-time.After(5 * time.Minute): // fake clock: five polls
				done = true
			}
		}
		p.Close()
		if len(got) != 2 {
			t.Fatalf("got %d events, want 2 (two distinct topic-less invalid events, each once); stats %+v", len(got), p.Stats())
		}
		for _, ev := range got {
			if ev.Err == nil || ev.Topic != "" {
				t.Errorf("event %+v: want an invalid event without a topic", ev)
			}
		}
		if string(got[0].Body) == string(got[1].Body) {
			t.Errorf("both events have body %s", got[0].Body)
		}
	})
}
