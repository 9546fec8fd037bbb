package main

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestOnDoneWaitsForItsLine: once the context is done, finish returns
// only after f has: the client's "signal received" line is on stderr
// before run returns, even when its goroutine runs after the clean-up
// (which once let the process exit without it). Before the context is
// done, finish stops f, which then never runs.
func TestOnDoneWaitsForItsLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		var wrote atomic.Bool
		finish := onDone(ctx, func() {
			<-release // a write held up (a slow stderr, a late goroutine)
			wrote.Store(true)
		})
		cancel()
		synctest.Wait() // f has started and waits
		var finished atomic.Bool
		go func() {
			finish()
			finished.Store(true)
		}()
		synctest.Wait()
		if finished.Load() {
			t.Fatal("finish returned while f was still writing")
		}
		close(release)
		synctest.Wait()
		if !finished.Load() || !wrote.Load() {
			t.Fatalf("after f returned: finished %v, wrote %v", finished.Load(), wrote.Load())
		}
		finish() // a second call returns at once
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var ran atomic.Bool
		finish := onDone(ctx, func() { ran.Store(true) })
		finish()
		finish()
		cancel()
		synctest.Wait()
		if ran.Load() {
			t.Error("f ran after finish, with the context done later")
		}
	})
}
