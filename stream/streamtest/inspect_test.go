package streamtest

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// Tests of the waits for a monitor's state, and of a closed Server.

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
