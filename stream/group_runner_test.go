package stream

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// nilDoneRunner is a Runner that cannot end: its Done is nil.
type nilDoneRunner struct{}

func (nilDoneRunner) Done() <-chan struct{} { return nil }
func (nilDoneRunner) Err() error            { return nil }

// TestGroupAddRefusesRunnerThatCannotEnd: a Runner whose Done is nil
// would leave Close, Wait and Remove waiting forever (and Events never
// closed), and a typed nil Runner would panic on the group's goroutine,
// out of the caller's reach. Add refuses the first with an error and
// lets the second panic on its caller; either way the group still closes.
func TestGroupAddRefusesRunnerThatCannotEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(t.Context(), GroupConfig{})
		err := g.Add(1, "x", func(context.Context, Handoff) (Runner, error) { return nilDoneRunner{}, nil })
		if !errors.Is(err, ErrInvalidRunner) {
			t.Fatalf("Add with a nil Done: %v", err)
		}
		if _, ok := g.Member(1); ok {
			t.Error("a refused member is listed")
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a typed nil Runner did not panic on Add's caller")
				}
			}()
			g.Add(2, "x", func(context.Context, Handoff) (Runner, error) {
				var p *Poller
				return p, nil
			})
		}()
		done := make(chan error, 1)
		go func() { done <- g.Close() }()
		synctest.Wait()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatal("Close waits for a member that cannot end")
		}
	})
}

// TestGroupAddRefusesOpenWithoutRunner: a nil open, or one returning
// neither a Runner nor an error, adds nothing, and the caller can tell why.
func TestGroupAddRefusesOpenWithoutRunner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGroup(t.Context(), GroupConfig{})
		err := g.Add(1, "x", func(context.Context, Handoff) (Runner, error) { return nil, nil })
		if !errors.Is(err, ErrInvalidRunner) {
			t.Fatalf("Add with neither a Runner nor an error: %v", err)
		}
		if err := g.Add(1, "x", nil); !errors.Is(err, ErrInvalidRunner) {
			t.Fatalf("Add with a nil open: %v", err)
		}
		if _, ok := g.Member(1); ok {
			t.Error("a refused member is listed")
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	})
}
