package streamtest

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestAtLeastOnceUnderDrops publishes from several goroutines while the
// connection is dropped again and again, and checks that a persistent
// explicit-ack monitor delivers every event at least once, blocks lost to
// a drop before their ack included (EventsSent > EventsAcked).
func TestAtLeastOnceUnderDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := offline()
		opts.InFlight = 4
		s := NewServer(opts)
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, Persistent: true,
			BatchSize: 7, BatchDuration: 10 * time.Millisecond})

		var mu sync.Mutex
		seen := map[int]int{}
		replays := 0
		clientDone := make(chan struct{})
		go func() { // the client: connect, read and ack until dropped, reconnect
			defer close(clientDone)
			for {
				rc := pipeClient(t, s)
				if _, err := rc.connect("user", "password", id); err != nil {
					rc.Close()
					return // the server is closed
				}
				for {
					b, err := rc.readBlock()
					if err != nil {
						break
					}
					mu.Lock()
					for _, m := range b.Msgs {
						seen[int(m.Body["data"].(float64))]++
						if m.Replay {
							replays++
						}
					}
					mu.Unlock()
					time.Sleep(3 * time.Millisecond) // leave room for a drop before the ack
					if _, err := rc.c.Write(ackFrame(b.ID)); err != nil {
						break
					}
				}
				rc.Close()
			}
		}()

		const publishers, each = 3, 300
		var pubs sync.WaitGroup
		for p := range publishers {
			pubs.Go(func() {
				for i := range each {
					s.Publish(dp("d", "s", float64(p*each+i)))
					time.Sleep(time.Millisecond)
				}
			})
		}
		stop := make(chan struct{})
		dropped := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					dropped <- n
					return
				case <-time.After(25 * time.Millisecond):
					n += s.DropConnections(id)
				}
			}
		}()
		pubs.Wait()
		close(stop)
		drops := <-dropped
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		st := s.Stats(id)
		s.Close()
		<-clientDone

		for i := range publishers * each {
			if seen[i] == 0 {
				t.Errorf("event %d never delivered", i)
			}
		}
		if drops < 5 || replays == 0 || st.Replayed != replays {
			t.Errorf("%d drops, %d replays received, stats %+v", drops, replays, st)
		}
		if st.EventsSent <= st.EventsAcked || st.EventsAcked < publishers*each || st.Dropped != 0 || st.BadAcks != 0 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("%d drops, %d replayed events, stats %+v", drops, replays, st)
	})
}
