package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

// IdleResult is the memory of idle subscriptions after traffic.
type IdleResult struct {
	Name      string    `json:"name"`
	Transport Transport `json:"transport"`
	Sessions  int       `json:"sessions"`
	// EventsPerSession were delivered to each subscription (one zlib
	// block) before the measurement.
	EventsPerSession int `json:"events_per_session"`
	// BytesPerSession is Go heap + goroutine stacks per subscription,
	// without its consumer goroutine (ConsumerBytes, measured alone in the
	// same run): HeapPerSession + StackPerSession - ConsumerBytes.
	BytesPerSession float64 `json:"bytes_per_session"`
	// HeapPerSession and StackPerSession include the consumer goroutine.
	HeapPerSession  float64 `json:"heap_per_session"`
	StackPerSession float64 `json:"stack_per_session"`
	ConsumerBytes   float64 `json:"consumer_bytes"`
	// GoroutinesPerSession counts the library's goroutines (the consumer
	// excluded).
	GoroutinesPerSession float64 `json:"goroutines_per_session"`
	ConnectSeconds       float64 `json:"connect_seconds"`
	Skipped              string  `json:"skipped,omitempty"`
}

// IdleHeapProfile, when set, makes Idle write a heap profile of the idle
// sessions to IdleHeapProfile.TRANSPORT-N.
var IdleHeapProfile string

// ErrSkipped reports a measurement that cannot run here (file limits).
var ErrSkipped = errors.New("skipped")

type memSample struct{ heap, stack uint64 }

// total is heap + stacks, signed so that differences may be negative (a
// GC can shrink the heap between two samples).
func (m memSample) total() int64 { return int64(m.heap) + int64(m.stack) }

func memNow() memSample {
	for range 3 { // the second cycle frees what the first found dead; stacks shrink during GC
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapAlloc, stack: m.StackInuse}
}

// raiseFileLimit makes room for n more descriptors, or says why not.
func raiseFileLimit(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	need := uint64(n) + 256
	if lim.Cur >= need {
		return nil
	}
	if lim.Max < need {
		return fmt.Errorf("%w: RLIMIT_NOFILE hard limit %d < %d", ErrSkipped, lim.Max, need)
	}
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("%w: raising RLIMIT_NOFILE: %v", ErrSkipped, err)
	}
	return nil
}

// consume is every idle subscription's consumer.
func consume(ch <-chan stream.Event, got *atomic.Int64) {
	for range ch {
		got.Add(1)
	}
}

// Idle subscribes n times (each to its own monitor of a streamtest
// simulator in a child process), delivers eventsPer events to each in one
// zlib block, lets the sessions go idle and measures this process's Go
// heap and stacks per subscription.
func Idle(ctx context.Context, t Transport, n, eventsPer int) (IdleResult, error) {
	res := IdleResult{Name: idleName(t, n), Transport: t, Sessions: n, EventsPerSession: eventsPer}
	if err := raiseFileLimit(n); err != nil {
		res.Skipped = err.Error()
		return res, err
	}
	child, err := pushserver.Start(pushserver.ChildSpec{Role: pushserver.RoleSim, Sessions: n, Zlib: true})
	if err != nil {
		return res, err
	}
	defer child.Close()

	g0 := runtime.NumGoroutine()

	// The consumers' own cost, measured alone: n goroutines blocked in the
	// same receive loop (their channels are made before the first sample:
	// the library makes those).
	chans := make([]chan stream.Event, n)
	for i := range chans {
		chans[i] = make(chan stream.Event)
	}
	before := memNow()
	var dummy atomic.Int64
	var cwg sync.WaitGroup
	for i := range chans {
		cwg.Add(1)
		go func() { defer cwg.Done(); consume(chans[i], &dummy) }()
	}
	withConsumers := memNow()
	// At small n the difference is noise and may be negative (the
	// goroutines reuse the descriptors and stacks of goroutines that have
	// ended); it is not subtracted then.
	res.ConsumerBytes = max(0, float64(withConsumers.total()-before.total())/float64(n))
	for _, c := range chans {
		close(c)
	}
	cwg.Wait()
	chans = nil
	before = memNow()

	env := &Env{Child: child, tls: child.ClientTLS()}
	cfg := stream.Config{Addr: env.addr(t), Username: "user", Password: secret.New("password"),
		Plaintext: t == TCP, TLSConfig: env.tlsConfig(t)}
	subs := make([]*stream.Subscription, n)
	var got atomic.Int64
	var wg sync.WaitGroup
	defer func() {
		// Close in parallel: each Close waits for its goroutines.
		var cw sync.WaitGroup
		for i := 0; i < len(subs); i += 256 {
			cw.Add(1)
			go func(part []*stream.Subscription) {
				defer cw.Done()
				for _, s := range part {
					if s != nil {
						s.Close()
					}
				}
			}(subs[i:min(i+256, len(subs))])
		}
		cw.Wait()
		wg.Wait()
	}()
	start := time.Now()
	// Connect in waves, so that the listener's backlog is never overrun.
	const wave = 500
	for i := range n {
		c := cfg
		c.MonitorID = child.Hello.FirstMonitor + uint32(i)
		s, err := stream.Subscribe(ctx, c)
		if err != nil {
			return res, err
		}
		subs[i] = s
		wg.Add(1)
		go func() { defer wg.Done(); consume(s.Events(), &got) }()
		if (i+1)%wave == 0 || i == n-1 {
			for _, s := range subs[max(0, i+1-wave) : i+1] {
				if err := waitConnected(ctx, s); err != nil {
					return res, err
				}
			}
		}
	}
	var ans pushserver.SimAnswer
	if err := child.Command(ctx, "connected 300", &ans); err != nil {
		return res, err
	}
	if ans.Connected != n {
		return res, fmt.Errorf("%d of %d monitors connected", ans.Connected, n)
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	if err := child.Command(ctx, fmt.Sprintf("publish %d", eventsPer), &ans); err != nil {
		return res, err
	}
	for want := int64(n * eventsPer); got.Load() < want; {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let every reader go back to waiting
	after := memNow()
	if f := IdleHeapProfile; f != "" {
		if w, err := os.Create(fmt.Sprintf("%s.%s-%d", f, t, n)); err == nil {
			pprof.Lookup("heap").WriteTo(w, 0)
			w.Close()
		}
	}
	goroutines := runtime.NumGoroutine() - g0 - n // minus the consumers
	res.HeapPerSession = float64(int64(after.heap)-int64(before.heap)) / float64(n)
	res.StackPerSession = float64(int64(after.stack)-int64(before.stack)) / float64(n)
	res.BytesPerSession = res.HeapPerSession + res.StackPerSession - res.ConsumerBytes
	res.GoroutinesPerSession = float64(goroutines) / float64(n)
	return res, nil
}

// idleName names the idle measurement of n sessions over t, e.g.
// "tcp/idle/1000".
func idleName(t Transport, n int) string { return fmt.Sprintf("%s/idle/%d", t, n) }

func waitConnected(ctx context.Context, s *stream.Subscription) error {
	deadline := time.Now().Add(2 * time.Minute)
	for s.State() != stream.StateConnected {
		select {
		case <-s.Done():
			return fmt.Errorf("subscription ended: %v", s.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("not connected within 2 minutes")
		}
	}
	return nil
}
