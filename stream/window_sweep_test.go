package stream_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/stream"
)

// TestWindowedServerNeverStalls: a server that keeps at most window blocks
// un-acked (window 1: stop-and-wait) and writes each frame in two writes,
// split at every byte position, gets every ack it waits for without
// waiting anywhere near FrameTimeout, in every API, with a fast consumer
// and with a slow one.
func TestWindowedServerNeverStalls(t *testing.T) {
	const blocks = 4
	frameLen := len(dpBlock(1))
	for _, api := range []string{"events", "batches", "manual", "manual-all", "manual-lag", "manual-async"} {
		for _, window := range []int{1, 2, 3} {
			for _, slow := range []bool{false, true} {
				if api == "manual-lag" && window == 1 {
					continue // it acks a Batch only once it has the next
				}
				name := fmt.Sprintf("%s/window%d/slow=%v", api, window, slow)
				t.Run(name, func(t *testing.T) {
					for split := 1; split < frameLen; split++ {
						synctest.Test(t, func(t *testing.T) {
							sweepRun(t, api, window, slow, split, blocks)
						})
					}
				})
			}
		}
	}
}

func sweepRun(t *testing.T, api string, window int, slow bool, split, blocks int) {
	const frameTimeout = time.Minute
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	d := pipeDialer{make(chan net.Conn)}
	cfg := stream.Config{Addr: "push.invalid:3200", Username: "u", MonitorID: 1, Plaintext: true, Dialer: d, FrameTimeout: frameTimeout}
	pause := func() {
		if slow {
			time.Sleep(time.Millisecond)
		}
	}
	got := make(chan struct{}, blocks)
	consumed := make(chan struct{})
	var closeSub func() error
	batches := func(mode stream.AckMode) *stream.BatchSubscription {
		sub, err := stream.SubscribeBatches(ctx, cfg, mode)
		if err != nil {
			t.Fatal(err)
		}
		closeSub = sub.Close
		return sub
	}
	switch api {
	case "events":
		sub, err := stream.Subscribe(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		closeSub = sub.Close
		go func() {
			defer close(consumed)
			for range sub.Events() {
				pause()
				got <- struct{}{}
			}
		}()
	case "batches", "manual":
		mode := stream.AckOnReceive
		if api == "manual" {
			mode = stream.AckManual
		}
		sub := batches(mode)
		go func() {
			defer close(consumed)
			for b := range sub.Batches() {
				pause()
				for range b.Events() {
					got <- struct{}{}
				}
				pause()
				b.Ack()
			}
		}()
	case "manual-lag", "manual-async":
		sub := batches(stream.AckManual)
		go func() {
			defer close(consumed)
			var wg sync.WaitGroup
			defer wg.Wait()
			var prev *stream.Batch
			n := 0
			for b := range sub.Batches() {
				for range b.Events() {
					n++
					got <- struct{}{}
				}
				if api == "manual-async" {
					wg.Go(func() { pause(); time.Sleep(time.Millisecond); b.Ack() })
					continue
				}
				if prev != nil {
					pause()
					prev.Ack()
				}
				prev = b
				if n == blocks {
					b.Ack()
				}
			}
		}()
	default:
		sub := batches(stream.AckManual)
		go func() {
			defer close(consumed)
			for _, err := range sub.All() {
				if err == nil {
					pause()
					got <- struct{}{}
				}
			}
		}()
	}
	srv := <-d.conns
	defer func() {
		cancel()
		closeSub()
		srv.Close()
		<-consumed
	}()
	acceptLogin(t, srv)

	var mu sync.Mutex
	acked := 0
	ackc := make(chan struct{}, blocks)
	go func() {
		a := make([]byte, 10)
		for {
			if _, err := io.ReadFull(srv, a); err != nil {
				return
			}
			mu.Lock()
			acked++
			mu.Unlock()
			ackc <- struct{}{}
		}
	}()
	// The whole stream, cut every split bytes across frames; before each
	// cut the server waits until at most window-1 of the frames it has
	// wholly written are un-acked (so with window 1 it may hold back the
	// rest of a frame until it has the ack of the one before).
	var all []byte
	var ends []int
	for i := range blocks {
		all = append(all, dpBlock(uint16(i+1))...)
		ends = append(ends, len(all))
	}
	start := time.Now()
	for off := 0; off < len(all); {
		whole := 0
		for whole < len(ends) && ends[whole] <= off {
			whole++
		}
		mu.Lock()
		a := acked
		mu.Unlock()
		if whole-a >= window {
			select {
			case <-ackc:
			case <-time.After(frameTimeout / 2):
				t.Fatalf("split %d: the server waited %v for the ack of block %d (acks %d, bytes sent %d)", split, frameTimeout/2, a+1, a, off)
			}
			continue
		}
		n := min(len(all)-off, split)
		if _, err := srv.Write(all[off : off+n]); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	for i := range blocks {
		select {
		case <-got:
		case <-time.After(frameTimeout / 2):
			t.Fatalf("split %d: event %d not delivered", split, i+1)
		}
	}
	for {
		mu.Lock()
		a := acked
		mu.Unlock()
		if a == blocks {
			break
		}
		select {
		case <-ackc:
		case <-time.After(frameTimeout / 2):
			t.Fatalf("split %d: the last acks never came (%d of %d)", split, a, blocks)
		}
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("split %d: took %v", split, el)
	}
}
