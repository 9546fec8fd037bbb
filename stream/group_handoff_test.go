package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// TestGroupCloseAcksOnlyWhatTheConsumerTook: a persistent explicit-ack
// monitor in a Group, on a stop-and-wait server: the consumer takes k
// events and the group closes with the next one in flight. The server has
// acks for exactly the k blocks taken, and a later subscription gets the
// rest, once each.
func TestGroupCloseAcksOnlyWhatTheConsumerTook(t *testing.T) {
	for _, k := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newSim(t, streamtest.Options{InFlight: 1})
				defer srv.Close()
				id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true,
					Persistent: true, BatchSize: 1, BatchDuration: -1})
				const total = 6
				for i := range total {
					srv.Publish(dpEvent(i, i))
				}
				g := NewGroup(t.Context(), GroupConfig{})
				if err := g.Subscribe(simConfig(t, simDialer(srv, nil), id)); err != nil {
					t.Fatal(err)
				}
				taken := dpIDs(t, take(t, g.Events(), k))
				synctest.Wait() // the member offers event k (its block un-acked)
				if err := g.Close(); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if st := srv.Stats(id); st.BlocksAcked != k || st.EventsAcked != k {
					t.Errorf("took %d events; the server has %d blocks (%d events) acked", k, st.BlocksAcked, st.EventsAcked)
				}
				if st, _ := g.Member(id); st.Events != uint64(k) {
					t.Errorf("member counts %d events, took %d", st.Events, k)
				}
				// Nothing lost: the rest is replayed to the next session.
				sub, err := Subscribe(t.Context(), simConfig(t, simDialer(srv, nil), id))
				if err != nil {
					t.Fatal(err)
				}
				rest := dpIDs(t, take(t, sub.Events(), total-k))
				synctest.Wait()
				expectNoEvent(t, sub.Events())
				sub.Close()
				if all := append(taken, rest...); !slices.Equal(all, wantIDs(0, total)) {
					t.Errorf("events %v", all)
				}
			})
		})
	}
}

// handoffSource is a member for Group.Add: it sends its events through the
// Handoff and records which ones the Handoff reported handed over.
type handoffSource struct {
	done  chan struct{}
	mu    sync.Mutex
	acked []int
	err   error // the Send error that stopped it
}

func (s *handoffSource) Done() <-chan struct{} { return s.done }
func (s *handoffSource) Err() error            { return nil }

func startHandoffSource(ctx context.Context, h Handoff, n int) *handoffSource {
	s := &handoffSource{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for i := range n {
			if err := h.Send(ctx, Event{Topic: fmt.Sprintf("t/%d", i), MonitorID: 77}); err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			s.acked = append(s.acked, i)
			s.mu.Unlock()
		}
		<-ctx.Done()
	}()
	return s
}

// TestGroupAddHandsOffDirectly: a member added with Add learns that an
// event was handed over only when the group's consumer took it; at Close
// the event in flight is reported not handed over (ErrGroupClosed). Its open
// may call Status and Member without deadlocking, and sees itself as
// connecting.
func TestGroupAddHandsOffDirectly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(t.Context(), GroupConfig{})
		var src *handoffSource
		err := g.Add(77, "custom", func(ctx context.Context, h Handoff) (Runner, error) {
			st := g.Status()
			if len(st) != 1 || !st[0].Running || st[0].State != StateConnecting || st[0].Transport != "custom" {
				t.Errorf("status from open: %+v", st)
			}
			if m, ok := g.Member(77); !ok || !m.Running {
				t.Errorf("member from open: %+v", m)
			}
			src = startHandoffSource(ctx, h, 5)
			return src, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		take(t, g.Events(), 2)
		synctest.Wait()
		if st, _ := g.Member(77); st.Events != 2 || st.State != StateConnected {
			t.Errorf("member %+v", st)
		}
		g.Close()
		src.mu.Lock()
		defer src.mu.Unlock()
		if !slices.Equal(src.acked, []int{0, 1}) || !errors.Is(src.err, ErrGroupClosed) {
			t.Errorf("handed over %v, then %v", src.acked, src.err)
		}
		if err := (Handoff{}).Send(t.Context(), Event{}); !errors.Is(err, ErrGroupClosed) {
			t.Errorf("zero Handoff: %v", err)
		}
	})
}

// TestGroupAddOpenFails: a failing open adds nothing and leaves
// the group working; a member whose Runner ended cannot send.
func TestGroupAddOpenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(t.Context(), GroupConfig{})
		defer g.Close()
		boom := errors.New("boom")
		if err := g.Add(1, "x", func(context.Context, Handoff) (Runner, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("Add: %v", err)
		}
		if err := g.Add(1, "x", func(context.Context, Handoff) (Runner, error) { return nil, nil }); err == nil {
			t.Error("Add with no Runner succeeded")
		}
		if st := g.Status(); len(st) != 0 {
			t.Errorf("status %+v", st)
		}
		var keep Handoff
		ended := make(chan struct{})
		close(ended)
		err := g.Add(1, "x", func(_ context.Context, h Handoff) (Runner, error) {
			keep = h
			return &handoffSource{done: ended}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := keep.Send(t.Context(), Event{}); !errors.Is(err, ErrGroupClosed) {
			t.Errorf("Send after the member ended: %v", err)
		}
		if st, ok := g.Member(1); !ok || st.Running {
			t.Errorf("member %+v", st)
		}
	})
}
