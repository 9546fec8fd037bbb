package stream

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestHTTPRetryKeepsEqualEventsOfTheDocument: a document may hold two
// equal events (the same update sent twice), and a push of it delivers
// both. When the consumer stalls after the first event of such a push,
// the server's retry of the document must deliver what the consumer has
// not taken: the event handed over before is dropped as a redelivery,
// its equal twin after it is not — nor is a second twin dropped as a
// repeat of the first, which the retry itself has just handed over.
func TestHTTPRetryKeepsEqualEventsOfTheDocument(t *testing.T) {
	msg := func(op string) string {
		return jsonMsg("7603/DeviceCore/882/7", op, "2025-01-01T00:00:00.000Z", "DeviceCore", `{"devConnectwareId":"00000000-00000000-00409DFF-FF000001","dpConnectionStatus":1}`, false)
	}
	for _, c := range []struct {
		name string
		doc  string
		want []string // the operations the retry delivers
	}{
		// The consumer took the first UPDATE; the retry owes the second.
		{"twins", jsonDoc(msg("UPDATE"), msg("UPDATE")), []string{"UPDATE"}},
		// The consumer took the CREATE only; the retry owes both UPDATEs.
		{"twins after", jsonDoc(msg("CREATE"), msg("UPDATE"), msg("UPDATE")), []string{"UPDATE", "UPDATE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newTestReceiver(t, HTTPConfig{HandoffTimeout: 3 * time.Second})
				done := pushAsync(r, "PUT", c.doc)
				take(t, r.Events(), 1) // then the consumer stalls
				if w := <-done; w.Code != 503 {
					t.Fatalf("stalled consumer: %d", w.Code)
				}
				done = pushAsync(r, "PUT", c.doc) // the server's retry
				var got []string
				for {
					select {
					case ev := <-r.Events():
						got = append(got, ev.Operation)
						continue
					case w := <-done:
						if w.Code != 200 {
							t.Fatalf("retry: %d", w.Code)
						}
					}
					break
				}
				if len(got) != len(c.want) {
					t.Errorf("the retry delivered %v, want %v", got, c.want)
				}
				total := 1 + len(c.want) // what one push that did not fail delivers
				if st := r.Stats(); st.Events != uint64(total) {
					t.Errorf("stats %+v, want %d events", st, total)
				}
			})
		})
	}
}
