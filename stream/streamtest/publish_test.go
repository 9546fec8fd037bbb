package streamtest

import (
	"testing"
	"testing/synctest"
)

// Tests of the routing of published events: the queue limit, and topic
// filters by operation, group and wildcard.

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
