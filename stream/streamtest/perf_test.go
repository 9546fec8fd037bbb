package streamtest

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestPublishManyEvents publishes 20 000 events to one monitor in one call
// and drains them, in blocks of 1 000, in order. With PUSHMON_LONG=1 it
// publishes 100 000, which a quadratic queue or matcher would not finish
// within the package's timeout; BenchmarkPublish measures the speed.
func TestPublishManyEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	s := NewServer(offline())
	defer s.Close()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true, BatchSize: 1000, Compression: "zlib"})
	n := 20_000
	if os.Getenv("PUSHMON_LONG") == "1" {
		n = 100_000
	}
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Topic: "DataPoint/dev/s", Body: map[string]any{"i": i}}
	}
	start := time.Now()
	if got := s.Publish(evs...); got != n {
		t.Fatalf("queued %d", got)
	}
	t.Logf("Publish of %d events: %v", n, time.Since(start))
	rc := pipeClient(t, s)
	defer rc.Close()
	rc.mustConnect(id)
	got := 0
	for blk := 0; got < n; blk++ {
		f, err := rc.rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		pm, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if pm.Count != 1000 {
			t.Fatalf("block of %d", pm.Count)
		}
		if blk%20 == 0 { // decode a sample: order is kept
			doc, err := rc.inf.Inflate(pm.Payload)
			if err != nil {
				t.Fatal(err)
			}
			msgs, _, err := decodeJSONDoc(doc)
			if err != nil || len(msgs) != 1000 || int(msgs[0].Body["i"].(float64)) != got {
				t.Fatalf("block %d: %d messages, err %v", blk, len(msgs), err)
			}
		}
		got += int(pm.Count)
	}
	t.Logf("Publish and drain of %d events: %v", n, time.Since(start))
}

func BenchmarkPublish(b *testing.B) {
	s := NewServer(offline())
	defer s.Close()
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
	evs := make([]Event, 1000)
	for i := range evs {
		evs[i] = Event{Topic: "DataPoint/dev/s" + strconv.Itoa(i%10), Body: map[string]any{"data": float64(i)}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Stats(id).Queued > 500_000 {
			b.StopTimer()
			s.DeleteMonitor(id)
			id = s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
			b.StartTimer()
		}
		s.Publish(evs...)
	}
}
