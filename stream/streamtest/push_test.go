package streamtest

import (
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
