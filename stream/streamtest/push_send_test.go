package streamtest

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Tests of a push connection's sender: batching by size and duration, XML
// and zlib encoding, replays kept apart from new events, the DataBlockId
// wrap.

func TestBatchBySizeAndDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 3, BatchDuration: 5 * time.Second})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		start := time.Now()
		evs := make([]Event, 7)
		for i := range evs {
			evs[i] = dp("d", "s", float64(i))
		}
		s.Publish(evs...)
		synctest.Wait()
		for i := range 2 {
			b := recv(t, blocks)
			if b.Count != 3 || !b.MsgIsArray || time.Since(start) != 0 {
				t.Fatalf("block %d: %d events after %v", i, b.Count, time.Since(start))
			}
		}
		// The seventh waits for the batch duration.
		time.Sleep(5*time.Second - time.Nanosecond)
		synctest.Wait()
		expectNoBlock(t, blocks, "before BatchDuration")
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		b := recv(t, blocks)
		if b.Count != 1 || b.MsgIsArray || time.Since(start) != 5*time.Second || b.Msgs[0].Body["data"] != 6.0 {
			t.Fatalf("last block: %d events after %v: %+v", b.Count, time.Since(start), b.Msgs)
		}
		// The timer starts with the oldest pending event: two events 2 s
		// apart go out together 5 s after the first.
		t0 := time.Now()
		s.Publish(dp("d", "s", 7))
		time.Sleep(2 * time.Second)
		s.Publish(dp("d", "s", 8))
		b = recv(t, blocks)
		if b.Count != 2 || time.Since(t0) != 5*time.Second {
			t.Fatalf("got %d events after %v", b.Count, time.Since(t0))
		}
	})
}

func TestImmediateBatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 100, BatchDuration: -1})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("a", "x", 1), dp("a", "x", 2), dp("a", "x", 3))
		b := recv(t, blocks)
		if b.Count != 3 {
			t.Fatalf("got %d events, want the 3 of one Publish in one block", b.Count)
		}
	})
}

func TestXMLAndZlib(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		for _, comp := range []string{"none", "zlib", "gzip"} {
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Format: "xml", Compression: comp, BatchSize: 2, BatchDuration: time.Hour})
			rc := pipeClient(t, s)
			rc.mustConnect(id)
			blocks := rc.pump()
			s.Publish(Event{Topic: "DataPoint/dev1/t", Group: "g&1", Body: map[string]any{
				"streamId": "dev1/t", "data": 1.25, "tags": []any{"a", "b"}, "loc": map[string]any{"lat": 1, "text": "<x>"}}},
				dp("dev2", "t", 2))
			b := recv(t, blocks)
			wantComp := protocol.CompressionZlib
			if comp == "none" {
				wantComp = protocol.CompressionNone
			}
			if b.Format != protocol.FormatXML || b.Compression != wantComp || b.Count != 2 {
				t.Fatalf("%s: format %v compression %v count %d", comp, b.Format, b.Compression, b.Count)
			}
			m := b.Msgs[0]
			if m.Topic != "1234/DataPoint/dev1/t" || m.Operation != "UPDATE" || m.Group != "g&1" || m.Resource != "DataPoint" {
				t.Errorf("%s: %+v", comp, m)
			}
			want := "<DataPoint><data>1.25</data><loc><lat>1</lat><text>&lt;x&gt;</text></loc><streamId>dev1/t</streamId><tags>a</tags><tags>b</tags></DataPoint>"
			if m.Inner != want {
				t.Errorf("%s: resource\n got %s\nwant %s", comp, m.Inner, want)
			}
			rc.Close()
		}
	})
}

func TestReplayNeverMixesWithNewEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true, BatchSize: 10, BatchDuration: time.Second})
		s.Publish(dp("d", "s", 1), dp("d", "s", 2)) // recorded while suspended
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		s.Publish(dp("d", "s", 3))
		blocks := rc.pump()
		r := recv(t, blocks)
		n := recv(t, blocks)
		if r.Count != 2 || !r.Msgs[0].Replay || !r.Msgs[1].Replay || n.Count != 1 || n.Msgs[0].Replay {
			t.Fatalf("got %+v then %+v", r.Msgs, n.Msgs)
		}
	})
}

func TestDataBlockIDWrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.FirstBlockID = 0xFFFE
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1), dp("d", "s", 2), dp("d", "s", 3))
		var ids []uint16
		for range 3 {
			b := recv(t, blocks)
			ids = append(ids, b.ID)
			rc.ack(b.ID)
		}
		if ids[0] != 0xFFFE || ids[1] != 0xFFFF || ids[2] != 0 {
			t.Fatalf("ids %x", ids)
		}
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(id); st.BlocksAcked != 3 || st.BadAcks != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}
