package streamtest

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

func TestHookConnectOverrides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		var mu sync.Mutex
		var seen []ConnInfo
		var action ConnectAction
		s.SetHooks(id, Hooks{OnConnect: func(ci ConnInfo) ConnectAction {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, ci)
			return action
		}})

		// A status override refuses a login the server would accept.
		action = ConnectAction{Status: protocol.StatusUnauthorized}
		rc := pipeClient(t, s)
		if st, err := rc.connect("user", "password", id); err != nil || st != protocol.StatusUnauthorized {
			t.Errorf("override: status %v, err %v", st, err)
		}
		if _, err := rc.rd.ReadFrame(); !errors.Is(err, io.EOF) {
			t.Errorf("after the refusal: %v, want EOF", err)
		}
		rc.Close()

		// Raw bytes instead of a ConnectResponse, then close.
		action = ConnectAction{Raw: []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), Close: true}
		rc = pipeClient(t, s)
		frame, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
		go rc.c.Write(frame)
		got, _ := io.ReadAll(rc.c)
		if string(got) != "HTTP/1.1 400 Bad Request\r\n\r\n" {
			t.Errorf("raw answer %q", got)
		}
		rc.Close()

		// Hang: no answer, ever, until the client gives up.
		action = ConnectAction{Hang: true}
		rc = pipeClient(t, s)
		answered := make(chan error, 1)
		go func() {
			_, err := rc.connect("user", "password", id)
			answered <- err
		}()
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case err := <-answered:
			t.Fatalf("a hanging server answered: %v", err)
		default:
		}
		rc.Close()
		<-answered

		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 3 || seen[0].Username != "user" || seen[0].MonitorID != id || seen[0].Version != 1 ||
			seen[0].Conn.Seq() != 0 || seen[2].Conn.Seq() != 2 {
			t.Errorf("hook saw %+v", seen)
		}
		if st := s.Stats(id); st.ConnectsOK != 0 || st.ConnectsRefused != 1 {
			t.Errorf("stats %+v", st)
		}

		// Zero Hooks removes them: the login is accepted.
		s.SetHooks(id, Hooks{})
		rc = pipeClient(t, s)
		rc.mustConnect(id)
		rc.Close()
	})
}

func TestHookMonitorZeroIsTheDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		a := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		b := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		s.SetHooks(0, Hooks{OnConnect: func(ConnInfo) ConnectAction { return ConnectAction{Status: protocol.StatusBadRequest} }})
		s.SetHooks(b, Hooks{OnConnect: func(ConnInfo) ConnectAction { return ConnectAction{} }})
		for id, want := range map[uint32]protocol.Status{a: protocol.StatusBadRequest, b: protocol.StatusOK} {
			rc := pipeClient(t, s)
			if st, err := rc.connect("user", "password", id); err != nil || st != want {
				t.Errorf("monitor %d: status %v, err %v; want %v", id, st, err, want)
			}
			rc.Close()
		}
	})
}

// hookFixture connects a raw client to a persistent explicit-ack monitor
// with one event per block.
func hookFixture(t *testing.T, h Hooks) (*Server, uint32, *rawClient) {
	s := NewServer(offline())
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 1, BatchDuration: -1, AckExplicit: true, Persistent: true})
	s.SetHooks(id, h)
	rc := pipeClient(t, s)
	rc.mustConnect(id)
	return s, id, rc
}

func TestHookBlockCutAtEveryRegion(t *testing.T) {
	for _, at := range []int{0, 3, 6, 11, 16, 40, -1} {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			var frame []byte
			var infos []BlockInfo
			s, id, rc := hookFixture(t, Hooks{BeforeBlock: func(bi BlockInfo) BlockAction {
				mu.Lock()
				defer mu.Unlock()
				infos = append(infos, bi)
				if bi.Conn.Seq() > 0 {
					return BlockAction{}
				}
				frame = bytes.Clone(bi.Frame)
				n := at
				if n < 0 {
					n = len(frame)
				}
				return BlockAction{Verb: BlockReset, At: n}
			}})
			defer s.Close()
			s.Publish(dp("dev1", "temp", 1))
			got, _ := io.ReadAll(rc.c)
			mu.Lock()
			want := frame
			mu.Unlock()
			if at >= 0 {
				want = frame[:at]
			}
			if !bytes.Equal(got, want) {
				t.Errorf("cut at %d: read %d bytes, want %d", at, len(got), len(want))
			}
			rc.Close()
			// The persistent monitor replays the event on the next
			// connection, in a new block.
			rc = pipeClient(t, s)
			defer rc.Close()
			rc.mustConnect(id)
			b := rc.mustBlock()
			if len(b.Msgs) != 1 || !b.Msgs[0].Replay {
				t.Errorf("after a cut at %d: block %+v", at, b)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(infos) != 2 || infos[0].Seq != 0 || infos[0].ConnIndex != 0 || infos[1].ConnIndex != 1 ||
				!infos[1].Replay || !infos[0].Explicit || len(infos[0].Events) != 1 || infos[0].Events[0].Topic != "DataPoint/dev1/temp" {
				t.Errorf("hook saw %+v", infos)
			}
		})
	}
}

func TestHookBlockStallAndTrickle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var full []byte
		s, id, rc := hookFixture(t, Hooks{BeforeBlock: func(bi BlockInfo) BlockAction {
			full = bytes.Clone(bi.Frame)
			if bi.Seq == 0 {
				return BlockAction{Verb: BlockTrickle, Piece: 2, Every: 10 * time.Millisecond}
			}
			return BlockAction{Verb: BlockStall, At: 7}
		}})
		defer s.Close()
		s.Publish(dp("dev1", "temp", 1))
		start := time.Now()
		b := rc.mustBlock()
		if el, want := time.Since(start), time.Duration((len(full)+1)/2)*10*time.Millisecond; el != want {
			t.Errorf("trickled block took %v, want %v", el, want)
		}
		rc.ack(b.ID)
		s.Publish(dp("dev1", "temp", 2))
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(rc.c, buf, 7)
		if n != 7 || err != nil || !bytes.Equal(buf[:7], full[:7]) {
			t.Fatalf("stalled block: %d bytes, %v", n, err)
		}
		go func() { time.Sleep(time.Hour); rc.Close() }()
		if n, err := rc.c.Read(buf); err == nil {
			t.Errorf("read %d more bytes from a stalled block", n)
		}
		synctest.Wait()
		if s.Connected(id) {
			t.Error("still connected after the client closed")
		}
	})
}

func TestHookBlockRawAndReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, rc := hookFixture(t, Hooks{BeforeBlock: func(bi BlockInfo) BlockAction {
			switch bi.Seq {
			case 0:
				return BlockAction{Replay: true}
			case 2:
				// A hand-made frame in place of the block.
				raw, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: bi.DataBlockID, Count: 1, Payload: []byte(`{"x":1}`), Format: protocol.FormatJSON})
				return BlockAction{Raw: raw}
			}
			return BlockAction{}
		}})
		defer s.Close()
		defer rc.Close()
		s.Publish(dp("dev1", "temp", 1))
		b0 := rc.mustBlock()
		b1 := rc.mustBlock()
		if b0.ID != 0 || b1.ID != 1 || b0.Msgs[0].Replay || !b1.Msgs[0].Replay || b0.Msgs[0].Body["data"] != b1.Msgs[0].Body["data"] {
			t.Errorf("replayed block: %+v then %+v", b0, b1)
		}
		s.Publish(dp("dev1", "temp", 2))
		f, err := rc.rd.ReadFrame()
		if err != nil || !bytes.Contains(f.Payload, []byte(`{"x":1}`)) {
			t.Errorf("raw block: %v %v", f, err)
		}
	})
}

func TestHookAckIgnoreAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var infos []AckInfo
		s, id, rc := hookFixture(t, Hooks{OnAck: func(ai AckInfo) AckAction {
			mu.Lock()
			defer mu.Unlock()
			infos = append(infos, ai)
			switch len(infos) {
			case 1:
				return AckAction{Ignore: true}
			case 3:
				return AckAction{Close: true}
			}
			return AckAction{}
		}})
		defer s.Close()
		s.Publish(dp("dev1", "temp", 1), dp("dev1", "temp", 2))
		b0, b1 := rc.mustBlock(), rc.mustBlock()
		rc.ack(b0.ID) // ignored
		rc.ack(b1.ID)
		synctest.Wait()
		if st := s.Stats(id); st.BlocksAcked != 1 || st.Unacked != 1 || len(s.Acks(id)) != 1 {
			t.Errorf("after an ignored ack: %+v, %d records", st, len(s.Acks(id)))
		}
		rc.ack(b0.ID) // applied, then the connection is closed
		if _, err := rc.rd.ReadFrame(); !errors.Is(err, io.EOF) {
			t.Errorf("after the closing ack: %v", err)
		}
		rc.Close()
		synctest.Wait()
		if st := s.Stats(id); st.BlocksAcked != 2 || st.Queued != 0 {
			t.Errorf("stats %+v", st)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(infos) != 3 || !infos[0].Outstanding || len(infos[0].Events) != 1 || infos[0].DataBlockID != b0.ID ||
			infos[2].DataBlockID != b0.ID || !infos[2].Outstanding || infos[1].Status != protocol.StatusOK {
			t.Errorf("hook saw %+v", infos)
		}
	})
}

func TestHookWriteRaw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		garbage := []byte{0xde, 0xad, 0xbe, 0xef}
		s.SetHooks(id, Hooks{OnConnect: func(ci ConnInfo) ConnectAction {
			resp := protocol.AppendConnectResponse(nil, protocol.StatusOK)
			if err := ci.Conn.WriteRaw(resp); err != nil {
				t.Error(err)
			}
			return ConnectAction{Raw: garbage, Close: true}
		}})
		rc := pipeClient(t, s)
		defer rc.Close()
		if st, err := rc.connect("user", "password", id); err != nil || st != protocol.StatusOK {
			t.Fatalf("status %v, %v", st, err)
		}
		rest, _ := io.ReadAll(rc.c)
		if !bytes.Equal(rest, garbage) {
			t.Errorf("after the response: % x", rest)
		}
		if s.Connected(id) {
			t.Error("a taken-over connection was attached")
		}
	})
}
