package streamtest

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// PushSessions counts a session from the accepted handshake to the
// simulator's close: sequential clients never overlap, a takeover does for
// an instant, refused handshakes do not count, and each monitor has its
// own count.
func TestPushSessionsCountsOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		other := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}})
		want := func(step string, mon uint32, open, peak int) {
			t.Helper()
			synctest.Wait() // the simulator has handled every close
			if o, p := s.PushSessions(mon); o != open || p != peak {
				t.Errorf("%s: monitor %d has %d open, peak %d; want %d, %d", step, mon, o, p, open, peak)
			}
		}
		want("before any connection", id, 0, 0)

		rc1 := pipeClient(t, s)
		defer rc1.Close()
		rc1.mustConnect(id)
		want("one client", id, 1, 1)
		rc1.Close()
		want("after its close", id, 0, 1)

		rc2 := pipeClient(t, s)
		defer rc2.Close()
		rc2.mustConnect(id)
		want("a second client after the first closed", id, 1, 1)

		rc3 := pipeClient(t, s)
		defer rc3.Close()
		rc3.mustConnect(id) // takes the monitor from rc2
		want("a takeover", id, 1, 2)
		s.ResetPushSessionsPeak(id)
		want("after the reset", id, 1, 1)

		bad := pipeClient(t, s)
		defer bad.Close()
		if st, err := bad.connect("user", "wrong", id); err != nil || st != protocol.StatusUnauthorized {
			t.Fatalf("bad password: %v, %v", st, err)
		}
		want("a refused handshake", id, 1, 1)

		rc4 := pipeClient(t, s)
		defer rc4.Close()
		rc4.mustConnect(other)
		want("the other monitor", other, 1, 1)
		want("the first monitor is unaffected", id, 1, 1)

		s.DeleteMonitor(id)
		want("after the monitor's deletion", id, 0, 1)
		s.DropConnections(other)
		want("after a drop", other, 0, 1)
		s.ResetPushSessionsPeak(other)
		want("reset while closed", other, 0, 0)
		s.ResetPushSessionsPeak(12345) // unknown: no effect, no panic
		want("an unknown monitor", 12345, 0, 0)
	})
}

// Many clients connecting to one monitor at once, and the Server closing
// under them: the counts stay consistent (run with -race) and end at 0.
func TestPushSessionsConcurrentClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}})
		const n = 20
		var wg sync.WaitGroup
		clients := make([]*rawClient, n)
		for i := range clients {
			clients[i] = pipeClient(t, s)
			wg.Go(func() { _, _ = clients[i].connect("user", "password", id) })
		}
		wg.Wait()
		synctest.Wait()
		if open, peak := s.PushSessions(id); open != 1 || peak < 1 || peak > n {
			t.Errorf("after %d racing clients: %d open, peak %d; want 1 open", n, open, peak)
		}
		s.Close()
		for _, c := range clients {
			c.Close()
		}
		if open, _ := s.PushSessions(id); open != 0 {
			t.Errorf("after Close: %d open", open)
		}
	})
}
