package streamtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// logLines collects formatted log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// A refused 6-byte ack is reported on Warnf in one line that names the
// fix, and not on Logf; without Warnf the line goes to Logf.
func TestRefusedLegacyAckIsReported(t *testing.T) {
	for _, withWarnf := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			var warn, logs logLines
			opts := offline()
			opts.Logf = logs.logf
			if withWarnf {
				opts.Warnf = warn.logf
			}
			s := NewServer(opts)
			defer s.Close()
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true})
			rc := pipeClient(t, s)
			defer rc.Close()
			rc.mustConnect(id)
			blocks := rc.pump()
			s.Publish(dp("d", "s", 1))
			b := recv(t, blocks)
			rc.c.Write(protocol.AppendLegacyAck(nil, b.ID))
			synctest.Wait()
			if _, ok := <-blocks; ok {
				t.Fatal("connection still open")
			}
			got := warn.get()
			if !withWarnf {
				got = nil
				for _, l := range logs.get() {
					if strings.Contains(l, "refused") {
						got = append(got, l)
					}
				}
			}
			if len(got) != 1 || !strings.Contains(got[0], "6-byte ack") || !strings.Contains(got[0], "AcceptLegacyAck") ||
				!strings.Contains(got[0], "-strict-ack") || !strings.Contains(got[0], "00 04 00 00 00 04") {
				t.Fatalf("warnings %q", got)
			}
			if withWarnf {
				for _, l := range logs.get() {
					if strings.Contains(l, "AcceptLegacyAck") {
						t.Errorf("the fix was also logged on Logf: %q", l)
					}
				}
			}
		})
	}
}

// Acks that name no outstanding block or carry a status other than 200
// are reported once per connection, naming the fix; other malformed acks
// once, as they close the connection.
func TestBadAcksAreReportedOncePerConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var warn logLines
		opts := offline()
		opts.Warnf = warn.logf
		s := NewServer(opts)
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, Persistent: true})
		rc := pipeClient(t, s)
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("d", "s", 1))
		b := recv(t, blocks)
		rc.ack(b.ID + 100)
		rc.ack(b.ID + 101)
		rc.c.Write(ack500(b.ID))
		synctest.Wait()
		if st := s.Stats(id); st.BadAcks != 3 {
			t.Fatalf("stats %+v", st)
		}
		got := warn.get()
		if len(got) != 1 || !strings.Contains(got[0], "names no block") || !strings.Contains(got[0], "own DataBlockId") {
			t.Fatalf("warnings after bad acks %q", got)
		}
		rc.Close()

		// A new connection reports again: status 500.
		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		blocks2 := rc2.pump()
		b = recv(t, blocks2) // the un-acked block, replayed
		rc2.c.Write(ack500(b.ID))
		// An ack of the wrong size closes the connection and is reported too.
		rc2.c.Write(append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 5), 0, 0, 0, 200, 0))
		synctest.Wait()
		got = warn.get()
		if len(got) != 3 || !strings.Contains(got[1], "status 500") || !strings.Contains(got[1], "only documented status is 200") ||
			!strings.Contains(got[2], "Size field is 5") {
			t.Fatalf("warnings %q", got)
		}
	})
}

// ack500 is an ack of block id with status 500.
func ack500(id uint16) []byte {
	return append(protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 4), byte(id>>8), byte(id), 0x01, 0xf4)
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
