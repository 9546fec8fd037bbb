package streamtest

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

func TestHandshakeRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		tcp := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		poll := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}, Transport: "polling"})

		cases := []struct {
			name       string
			user, pass string
			id         uint32
			want       protocol.Status
		}{
			{"wrong password", "user", "nope", tcp, protocol.StatusUnauthorized},
			{"unknown user", "who", "password", tcp, protocol.StatusUnauthorized},
			{"unknown monitor", "user", "password", 4242, protocol.StatusBadRequest},
			{"polling monitor", "user", "password", poll, protocol.StatusBadRequest},
		}
		for _, c := range cases {
			rc := pipeClient(t, s)
			st, err := rc.connect(c.user, c.pass, c.id)
			if err != nil || st != c.want {
				t.Errorf("%s: status %v, err %v; want %v", c.name, st, err, c.want)
			}
			// The server closes after a refusal.
			if _, err := rc.rd.ReadFrame(); !errors.Is(err, io.EOF) {
				t.Errorf("%s: after the refusal: %v, want EOF", c.name, err)
			}
			rc.Close()
		}
		if st := s.Stats(tcp); st.ConnectsRefused != 2 || st.ConnectsOK != 0 {
			t.Errorf("stats %+v, want 2 refused", st)
		}
		if s.Connected(tcp) {
			t.Error("Connected after refusals")
		}
	})
}

func TestHandshakeBadVersion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		rc := pipeClient(t, s)
		defer rc.Close()
		frame, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
		binary.BigEndian.PutUint16(frame[6:], 2) // ProtocolVersion
		go rc.c.Write(frame)
		f, err := rc.rd.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := protocol.ParseConnectResponse(f.Payload)
		if resp.Status != protocol.StatusBadRequest {
			t.Fatalf("status %v, want 400", resp.Status)
		}
	})
}

func TestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		rc := pipeClient(t, s)
		defer rc.Close()
		start := time.Now()
		_, err := rc.rd.ReadFrame() // the client sends nothing
		if !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want EOF", err)
		}
		if d := time.Since(start); d != DefaultHandshakeTimeout {
			t.Fatalf("closed after %v, want %v", d, DefaultHandshakeTimeout)
		}
	})
}

func TestConnectAndReceiveJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint/dev1", "DeviceCore"}})
		if info, _ := s.MonitorInfo(id); info.Status != StatusInactive {
			t.Fatalf("status %s before connecting", info.Status)
		}
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		if info, _ := s.MonitorInfo(id); info.Status != StatusActive || info.Stats.Connections != 1 {
			t.Fatalf("after connect: %s %+v", info.Status, info.Stats)
		}
		blocks := rc.pump()
		ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
		n := s.Publish(
			Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION", Timestamp: ts, Group: "*",
				Body: map[string]any{"data": 21.5, "note": "<&>"}},
			Event{Topic: "DataPoint/dev2/temp", Body: map[string]any{"data": 1}}, // no match
			Event{Topic: "/DeviceCore/882/7/", Body: map[string]any{"dpConnectionStatus": 1}},
		)
		if n != 2 {
			t.Fatalf("Publish queued %d, want 2", n)
		}
		b1, b2 := recv(t, blocks), recv(t, blocks) // BatchSize 1: one block each
		if b1.ID != 0 || b2.ID != 1 || b1.Format != protocol.FormatJSON || b1.Compression != protocol.CompressionNone {
			t.Fatalf("blocks %d %d format %v compression %v", b1.ID, b2.ID, b1.Format, b1.Compression)
		}
		if b1.MsgIsArray {
			t.Error("a one-event block must carry Msg as an object")
		}
		m := b1.Msgs[0]
		if m.Topic != "1234/DataPoint/dev1/temp" || m.Operation != "INSERTION" || m.Group != "*" ||
			m.Timestamp != "2024-05-06T06:08:09.123Z" || m.Resource != "DataPoint" || m.Replay ||
			m.Body["data"] != 21.5 || m.Body["note"] != "<&>" {
			t.Errorf("first message %+v", m)
		}
		if !strings.Contains(string(b1.Doc), `"note":"<&>"`) {
			t.Errorf("body HTML-escaped: %s", b1.Doc)
		}
		m = b2.Msgs[0]
		if m.Topic != "1234/DeviceCore/882/7" || m.Operation != "UPDATE" || m.Resource != "DeviceCore" ||
			m.Timestamp != time.Now().UTC().Format(timestampLayout) {
			t.Errorf("second message %+v", m)
		}
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		st := s.Stats(id)
		if st.BlocksSent != 2 || st.EventsSent != 2 || st.Unacked != 0 || st.Queued != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

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

func TestExplicitAckAccounting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline()) // InFlight 0: pipelining
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, BatchSize: 2, BatchDuration: -1})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		for i := range 5 {
			s.Publish(dp("d", "s", float64(i)))
			synctest.Wait()
		}
		var got []gotBlock
		for range 5 {
			got = append(got, recv(t, blocks))
		}
		if st := s.Stats(id); st.BlocksSent != 5 || st.Unacked != 5 || st.BlocksAcked != 0 {
			t.Fatalf("stats before acks %+v", st)
		}
		idle := make(chan error, 1)
		go func() { idle <- s.WaitIdle(context.Background(), id) }()
		rc.ack(got[1].ID)
		rc.ack(got[1].ID) // duplicate
		rc.ack(999)       // never sent
		rc.ack(got[0].ID)
		synctest.Wait()
		select {
		case err := <-idle:
			t.Fatalf("WaitIdle returned %v with 3 blocks un-acked", err)
		default:
		}
		for _, b := range got[2:] {
			rc.ack(b.ID)
		}
		if err := <-idle; err != nil {
			t.Fatal(err)
		}
		st := s.Stats(id)
		if st.BlocksAcked != 5 || st.EventsAcked != 5 || st.BadAcks != 2 || st.Unacked != 0 {
			t.Errorf("stats %+v", st)
		}
		acks := s.Acks(id)
		if len(acks) != 7 {
			t.Fatalf("%d ack records, want 7", len(acks))
		}
		want := []struct {
			id          uint16
			outstanding bool
		}{{1, true}, {1, false}, {999, false}, {0, true}, {2, true}, {3, true}, {4, true}}
		for i, w := range want {
			a := acks[i]
			if a.DataBlockID != w.id || a.Outstanding != w.outstanding || a.Status != 200 || a.ConnIndex != 0 || a.Legacy {
				t.Errorf("ack %d: %+v, want id %d outstanding %t", i, a, w.id, w.outstanding)
			}
			if w.outstanding && a.Events != 1 {
				t.Errorf("ack %d: Events %d", i, a.Events)
			}
		}
	})
}

func TestStopAndWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.InFlight = 1
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1), dp("d", "s", 2), dp("d", "s", 3))
		for i := range 3 {
			b := recv(t, blocks)
			if b.Msgs[0].Body["data"] != float64(i+1) {
				t.Fatalf("block %d carries %v", i, b.Msgs[0].Body["data"])
			}
			time.Sleep(time.Minute)
			synctest.Wait()
			expectNoBlock(t, blocks, "before the ack")
			if st := s.Stats(id); st.Unacked != 1 || st.Queued != 2-i {
				t.Fatalf("stats %+v", st)
			}
			rc.ack(b.ID)
		}
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPersistentReplayAfterDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.FirstBlockID = 7
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, Persistent: true, BatchSize: 10, BatchDuration: -1})
		if info, _ := s.MonitorInfo(id); info.Status != StatusSuspended {
			t.Fatalf("new persistent monitor is %s", info.Status)
		}
		rc := pipeClient(t, s)
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1))
		b1 := recv(t, blocks)
		s.Publish(dp("d", "s", 2))
		b2 := recv(t, blocks)
		rc.ack(b1.ID) // b2 stays un-acked
		synctest.Wait()
		if n := s.DropConnections(id); n != 1 {
			t.Fatalf("DropConnections = %d", n)
		}
		if _, ok := <-blocks; ok {
			t.Fatal("block after drop")
		}
		rc.Close()
		info, _ := s.MonitorInfo(id)
		if info.Status != StatusSuspended || info.Stats.Queued != 1 {
			t.Fatalf("after drop: %s %+v", info.Status, info.Stats)
		}
		if n := s.Publish(dp("d", "s", 3), dp("d", "s", 4)); n != 2 {
			t.Fatalf("recorded %d", n)
		}

		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		blocks2 := rc2.pump()
		r := recv(t, blocks2)
		if r.ID != 7 || r.Count != 3 {
			t.Fatalf("replay block id %d count %d, want id 7 (new connection) and 3 events", r.ID, r.Count)
		}
		for i, m := range r.Msgs {
			if !m.Replay || m.Body["data"] != float64(i+2) {
				t.Errorf("replayed %d: replay=%t data=%v", i, m.Replay, m.Body["data"])
			}
		}
		if b2.Msgs[0].Replay {
			t.Error("first delivery marked replay")
		}
		rc2.ack(r.ID)
		s.Publish(dp("d", "s", 5))
		n := recv(t, blocks2)
		if n.ID != 8 || n.Msgs[0].Replay {
			t.Fatalf("new event: id %d replay %t", n.ID, n.Msgs[0].Replay)
		}
		rc2.ack(n.ID)
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		st := s.Stats(id)
		if st.Replayed != 3 || st.ConnectsOK != 2 || st.EventsAcked != 5 || st.Dropped != 0 {
			t.Errorf("stats %+v", st)
		}
		if acks := s.Acks(id); acks[len(acks)-1].ConnIndex != 1 {
			t.Errorf("last ack %+v, want ConnIndex 1", acks[len(acks)-1])
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

func TestNonPersistentDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
		if n := s.Publish(dp("d", "s", 0)); n != 0 {
			t.Fatalf("queued %d with nobody connected", n)
		}
		rc := pipeClient(t, s)
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1), dp("d", "s", 2))
		recv(t, blocks) // both sent (pipelined), neither acked
		recv(t, blocks)
		s.DropConnections(id)
		rc.Close()
		if n := s.Publish(dp("d", "s", 3)); n != 0 {
			t.Fatalf("queued %d while disconnected", n)
		}
		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		blocks2 := rc2.pump()
		time.Sleep(time.Hour)
		synctest.Wait()
		expectNoBlock(t, blocks2, "non-persistent monitor after reconnect")
		st := s.Stats(id)
		if st.Dropped != 2 || st.Replayed != 0 || st.Queued != 0 {
			t.Errorf("stats %+v", st)
		}
		if info, _ := s.MonitorInfo(id); info.Status != StatusActive {
			t.Errorf("status %s", info.Status)
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

func TestLegacyAck(t *testing.T) {
	for _, accept := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			opts := offline()
			opts.AcceptLegacyAck = accept
			s := NewServer(opts)
			defer s.Close()
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
			rc := pipeClient(t, s)
			defer rc.Close()
			rc.mustConnect(id)
			blocks := rc.pump()
			s.Publish(dp("d", "s", 1), dp("d", "s", 2))
			b1 := recv(t, blocks)
			b2 := recv(t, blocks)
			rc.c.Write(protocol.AppendLegacyAck(nil, b1.ID))
			synctest.Wait()
			if !accept {
				if _, ok := <-blocks; ok {
					t.Fatal("connection still open")
				}
				st := s.Stats(id)
				if st.ProtocolErrors != 1 || st.BlocksAcked != 0 || s.Connected(id) {
					t.Fatalf("without the option: %+v", st)
				}
				return
			}
			rc.ack(b2.ID) // the documented form still works, after a legacy one
			if err := s.WaitIdle(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			acks := s.Acks(id)
			if len(acks) != 2 || !acks[0].Legacy || acks[1].Legacy || !acks[0].Outstanding {
				t.Fatalf("acks %+v", acks)
			}
			if st := s.Stats(id); st.LegacyAcks != 1 || st.BlocksAcked != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestNewConnectionReplacesOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		rc1 := pipeClient(t, s)
		defer rc1.Close()
		rc1.mustConnect(id)
		old := rc1.pump()
		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		if _, ok := <-old; ok {
			t.Fatal("old connection got a block")
		}
		blocks := rc2.pump()
		s.Publish(dp("d", "s", 1))
		if b := recv(t, blocks); b.Count != 1 {
			t.Fatal(b)
		}
		if st := s.Stats(id); st.ConnectsOK != 2 || st.Connections != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestProtocolErrorAfterHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		frame, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
		rc.c.Write(frame) // a second ConnectRequest
		if _, ok := <-blocks; ok {
			t.Fatal("connection still open")
		}
		if st := s.Stats(id); st.ProtocolErrors != 1 || st.Connections != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestWaitErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		if err := s.WaitConnected(t.Context(), 77); !errors.Is(err, ErrUnknownMonitor) {
			t.Errorf("unknown id: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := s.WaitConnected(ctx, id); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout: %v", err)
		}
		done := make(chan error)
		go func() { done <- s.WaitConnected(t.Context(), id) }()
		synctest.Wait()
		s.DeleteMonitor(id)
		if err := <-done; !errors.Is(err, ErrUnknownMonitor) {
			t.Errorf("deleted: %v", err)
		}
		id2 := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		go func() { done <- s.WaitConnected(t.Context(), id2) }()
		synctest.Wait()
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("closed: %v", err)
		}
		s.Close() // idempotent
		if _, err := s.TryCreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}}); !errors.Is(err, ErrServerClosed) {
			t.Errorf("create after close: %v", err)
		}
		rc := pipeClient(t, s) // ServeConn on a closed server closes the conn
		if _, err := rc.connect("user", "password", id2); err == nil {
			t.Error("connect to a closed server succeeded")
		}
		rc.Close()
	})
}

func TestDeleteClosesConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		if !s.DeleteMonitor(id) {
			t.Fatal("DeleteMonitor = false")
		}
		if _, ok := <-blocks; ok {
			t.Fatal("block after delete")
		}
		if s.DeleteMonitor(id) {
			t.Error("second DeleteMonitor = true")
		}
		if _, ok := s.MonitorInfo(id); ok {
			t.Error("MonitorInfo of a deleted monitor")
		}
	})
}

func TestQueueLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.MaxQueuedEvents = 3
		var logged []string
		opts.Logf = func(f string, a ...any) { logged = append(logged, f) }
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Persistent: true})
		if n := s.Publish(dp("a", "b", 1), dp("a", "b", 2), dp("a", "b", 3), dp("a", "b", 4), dp("a", "b", 5)); n != 3 {
			t.Fatalf("queued %d, want 3", n)
		}
		if st := s.Stats(id); st.Queued != 3 || st.Dropped != 2 {
			t.Fatalf("stats %+v", st)
		}
		if len(logged) != 1 {
			t.Errorf("logged %d lines, want one", len(logged))
		}
	})
}

func TestOperationAndGroupFilters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		upd := s.CreateMonitor(MonitorSpec{Topics: []string{"[operation=U]DeviceCore"}, Persistent: true})
		del := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore[D]"}, Persistent: true})
		grp := s.CreateMonitor(MonitorSpec{Topics: []string{"[group=A,B]devices"}, Persistent: true})
		glob := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint/*/temp", "FileData/*.json"}, Persistent: true})
		s.Publish(
			Event{Topic: "DeviceCore/1/0"}, // UPDATE
			Event{Topic: "DeviceCore/1/0", Operation: "DELETE"},
			Event{Topic: "DeviceCore/1/0", Operation: "create"},
			Event{Topic: "devices/x", Group: "B"},
			Event{Topic: "devices/y", Group: "C"},
			Event{Topic: "DataPoint/d1/temp"},
			Event{Topic: "DataPoint/d1/hum"},
			Event{Topic: "DataPoint/temp"},
			Event{Topic: "FileData/a.json"},
			Event{Topic: "FileData/a.txt"},
		)
		for _, c := range []struct {
			id   uint32
			want int
		}{{upd, 1}, {del, 1}, {grp, 1}, {glob, 2}} {
			if got := s.Stats(c.id).Queued; got != c.want {
				t.Errorf("monitor %d: %d events, want %d", c.id, got, c.want)
			}
		}
	})
}

func TestServeConnTLS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		a, b := newPipe()
		s.ServeConn(tlsServer(a, s))
		c := tlsClient(b, s.ClientTLSConfig())
		rc := newRawClient(t, c)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1))
		if b := recv(t, blocks); b.Count != 1 {
			t.Fatal(b)
		}
	})
}
