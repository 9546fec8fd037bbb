package stream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

// Group call orders around a member's end: a Handoff kept by an open
// that failed, a member added again as soon as its Runner has ended, an
// Add to a group whose context was cancelled.

// endRunner is a Runner that ends with its context, or when the test
// ends it.
type endRunner struct {
	done chan struct{}
	once sync.Once
	err  error
}

func newEndRunner(ctx context.Context) *endRunner {
	r := &endRunner{done: make(chan struct{})}
	context.AfterFunc(ctx, func() { r.end(nil) })
	return r
}

func (r *endRunner) end(err error) {
	r.once.Do(func() {
		r.err = err
		close(r.done)
	})
}

func (r *endRunner) Done() <-chan struct{} { return r.done }
func (r *endRunner) Err() error            { return r.err }

// TestGroupFailedOpenHandoffIsClosed: an open that keeps its Handoff (a
// goroutine it started) and then fails — with an error or a panic —
// leaves a closed Handoff: Send returns ErrGroupClosed while a consumer
// waits (no event of a member that never was is handed over), and after
// the group has ended (no send on its closed channel).
func TestGroupFailedOpenHandoffIsClosed(t *testing.T) {
	for _, how := range []string{"error", "panic"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := NewGroup(t.Context(), GroupConfig{})
				var keep Handoff
				boom := errors.New("boom")
				open := func(_ context.Context, h Handoff) (Runner, error) {
					keep = h
					if how == "panic" {
						panic(boom)
					}
					return nil, boom
				}
				func() {
					defer func() {
						if r := recover(); how == "panic" && r != boom {
							t.Errorf("Add's panic: %v", r)
						}
					}()
					if err := g.Add(1, "x", open); !errors.Is(err, boom) {
						t.Errorf("Add: %v", err)
					}
				}()
				got := make(chan Event, 64)
				consumed := make(chan struct{})
				go func() {
					defer close(consumed)
					for ev := range g.Events() {
						got <- ev
					}
				}()
				for range 32 {
					synctest.Wait() // the consumer waits on Events
					if err := keep.Send(t.Context(), Event{Topic: "invented"}); !errors.Is(err, ErrGroupClosed) {
						t.Fatalf("Send on the Handoff of a failed open: %v", err)
					}
				}
				if err := g.Close(); err != nil {
					t.Fatal(err)
				}
				<-consumed
				for range 32 {
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("Send after the group ended panicked: %v", r)
							}
						}()
						if err := keep.Send(t.Context(), Event{Topic: "invented"}); !errors.Is(err, ErrGroupClosed) {
							t.Fatalf("Send after the group ended: %v", err)
						}
					}()
				}
				if len(got) != 0 {
					t.Errorf("the consumer got %d events of a member whose open failed", len(got))
				}
			})
		})
	}
}

// TestGroupReAddAfterMemberEnded: once a member's Runner has ended (a
// Poller closed by the caller, a member that failed), Member shows it
// stopped with the Runner's Err, and the same id can be added again at
// once: the ended member is not "a running member". The same holds for
// an id whose open panicked.
func TestGroupReAddAfterMemberEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(t.Context(), GroupConfig{})
		got := 0
		consumed := make(chan struct{})
		go func() {
			defer close(consumed)
			for range g.Events() {
				got++
			}
		}()
		failed := errors.New("member failed")
		for i := range 20 {
			var r *endRunner
			var keep Handoff
			err := g.Add(1, "x", func(ctx context.Context, h Handoff) (Runner, error) {
				r, keep = newEndRunner(ctx), h
				return r, nil
			})
			if err != nil {
				t.Fatalf("round %d: Add: %v", i, err)
			}
			synctest.Wait() // the consumer waits on Events
			r.end(failed)
			// No synctest.Wait: right after the Runner's end.
			if err := keep.Send(t.Context(), Event{}); !errors.Is(err, ErrGroupClosed) {
				t.Fatalf("round %d: Send after the Runner ended: %v", i, err)
			}
			if st, ok := g.Member(1); !ok || st.Running || st.State != StateStopped || !errors.Is(st.Err, failed) || st.Stopped.IsZero() {
				t.Fatalf("round %d: member right after its Runner ended: %+v", i, st)
			}
			if st := g.Status(); len(st) != 1 || st[0].Running {
				t.Fatalf("round %d: status right after the Runner ended: %+v", i, st)
			}
			if err := g.Add(1, "x", func(ctx context.Context, _ Handoff) (Runner, error) { return newEndRunner(ctx), nil }); err != nil {
				t.Fatalf("round %d: Add again right after the Runner ended: %v", i, err)
			}
			if err := g.Remove(1); err != nil {
				t.Fatalf("round %d: Remove: %v", i, err)
			}
		}
		for i := range 20 {
			func() {
				defer func() { recover() }()
				g.Add(2, "x", func(context.Context, Handoff) (Runner, error) { panic("open panics") })
			}()
			if err := g.Add(2, "x", func(ctx context.Context, _ Handoff) (Runner, error) { return newEndRunner(ctx), nil }); err != nil {
				t.Fatalf("round %d: Add after a panicking open: %v", i, err)
			}
			if err := g.Remove(2); err != nil {
				t.Fatalf("round %d: Remove: %v", i, err)
			}
		}
		// A member that is still running stays one.
		if err := g.Add(3, "x", func(ctx context.Context, _ Handoff) (Runner, error) { return newEndRunner(ctx), nil }); err != nil {
			t.Fatal(err)
		}
		if err := g.Add(3, "x", func(ctx context.Context, _ Handoff) (Runner, error) { return newEndRunner(ctx), nil }); !errors.Is(err, ErrDuplicateMember) {
			t.Errorf("second Add of a running member: %v", err)
		}
		g.Close()
		<-consumed
		if got != 0 {
			t.Errorf("the consumer got %d events sent after their member's Runner ended", got)
		}
	})
}

// TestGroupAddAfterContextCancelled: once the group's context is
// cancelled the group is ending: Add returns ErrGroupClosed without
// calling open, as after Close.
func TestGroupAddAfterContextCancelled(t *testing.T) {
	for i := range 20 {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			g := NewGroup(ctx, GroupConfig{})
			cancel()
			called := false
			err := g.Add(1, "x", func(ctx context.Context, _ Handoff) (Runner, error) {
				called = true
				return newEndRunner(ctx), nil
			})
			if !errors.Is(err, ErrGroupClosed) || called {
				t.Fatalf("round %d: Add after the context was cancelled: %v (open called: %v)", i, err, called)
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
