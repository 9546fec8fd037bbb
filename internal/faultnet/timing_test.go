package faultnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// The tests in this file run under testing/synctest: time is fake, so every
// duration is asserted exactly and no test sleeps for real.

func TestRateWrite(t *testing.T) {
	for _, slice := range []int{0, 1, 7, 100} {
		t.Run("slice"+strconv.Itoa(slice), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs := []faultnet.Fault{faultnet.Rate(100)}
				if slice > 0 {
					fs = append(fs, faultnet.Slice(slice))
				}
				a, b := net.Pipe()
				c := faultnet.Wrap(a, faultnet.Script{Write: fs})
				data := pattern(1000, 20)
				wait := readAllAsync(b)
				start := time.Now()
				if _, err := writeChunks(c, data, sizer(21, 64)); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d != 10*time.Second {
					t.Fatalf("1000 bytes at 100 B/s took %v, want exactly 10s", d)
				}
				c.Close()
				if got, _ := wait(); !bytes.Equal(got, data) {
					t.Fatal("rate limiting changed the bytes")
				}
			})
		})
	}
}

// TestRateWriteProgress: the bytes arrive at the peer progressively, each
// piece after its own share of the time.
func TestRateWriteProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Rate(100), faultnet.Slice(10)}})
		defer c.Close()
		start := time.Now()
		go c.Write(pattern(50, 22))
		buf := make([]byte, 64)
		for i := 1; i <= 5; i++ {
			n, err := b.Read(buf)
			if err != nil || n != 10 {
				t.Fatalf("piece %d: %d bytes, %v", i, n, err)
			}
			if d, want := time.Since(start), time.Duration(i)*100*time.Millisecond; d != want {
				t.Fatalf("piece %d arrived after %v, want %v", i, d, want)
			}
		}
	})
}

func TestRateRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Rate(100)}})
		defer c.Close()
		data := pattern(1000, 23)
		go func() {
			writeChunks(b, data, sizer(24, 90))
			b.Close()
		}()
		start := time.Now()
		got, err := readChunks(c, sizer(25, 200))
		if err != io.EOF || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Fatalf("1000 bytes at 100 B/s took %v, want exactly 10s", d)
		}
	})
}

// TestRateOdd: a rate that does not divide a second still adds up exactly,
// to the nanosecond, however the bytes are split.
func TestRateOdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Rate(3)}})
		wait := readAllAsync(b)
		start := time.Now()
		if _, err := writeChunks(c, pattern(10, 26), func() int { return 1 }); err != nil {
			t.Fatal(err)
		}
		// 10 bytes at 3 B/s: 3.333333333s, floor of the exact total.
		if d := time.Since(start); d != 3333333333*time.Nanosecond {
			t.Fatalf("took %v, want 3.333333333s", d)
		}
		c.Close()
		wait()
	})
}

func TestDelayWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Delay(50 * time.Millisecond), faultnet.Slice(10)}})
		wait := readAllAsync(b)
		start := time.Now()
		if _, err := c.Write(pattern(100, 27)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Fatalf("10 pieces delayed 50ms each took %v, want 500ms", d)
		}
		c.Close()
		if got, _ := wait(); len(got) != 100 {
			t.Fatalf("peer got %d bytes, want 100", len(got))
		}
	})
}

// TestDelayRead: bytes come out of Read D after they arrived, not D after
// Read was called.
func TestDelayRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Delay(time.Second)}})
		defer c.Close()
		go func() {
			time.Sleep(5 * time.Second)
			b.Write([]byte("hello"))
		}()
		start := time.Now()
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		if d := time.Since(start); d != 6*time.Second {
			t.Fatalf("Read returned after %v, want 6s (5s arrival + 1s delay)", d)
		}
	})
}

// TestDelayReadDeadline: a deadline cuts a delay short without losing the
// bytes, which come out once their delay is over.
func TestDelayReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Delay(time.Second), faultnet.Slice(2)}})
		defer c.Close()
		go b.Write([]byte("abc"))
		start := time.Now()
		c.SetReadDeadline(start.Add(300 * time.Millisecond))
		buf := make([]byte, 16)
		if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Fatalf("deadline fired after %v, want 300ms", d)
		}
		c.SetReadDeadline(time.Time{})
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "ab" {
			t.Fatalf("Read = %q, %v; want \"ab\"", buf[:n], err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("bytes came out after %v, want 1s", d)
		}
		n, err = c.Read(buf)
		if err != nil || string(buf[:n]) != "c" {
			t.Fatalf("Read = %q, %v; want \"c\"", buf[:n], err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("last byte came out after %v, want 2s", d)
		}
	})
}

func TestDelayWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Delay(time.Second), faultnet.Slice(4)}})
		wait := readAllAsync(b)
		start := time.Now()
		c.SetWriteDeadline(start.Add(1500 * time.Millisecond))
		n, err := c.Write(pattern(10, 28))
		if n != 4 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write = %d, %v; want 4 (one piece), os.ErrDeadlineExceeded", n, err)
		}
		if d := time.Since(start); d != 1500*time.Millisecond {
			t.Fatalf("deadline fired after %v, want 1.5s", d)
		}
		c.Close()
		if got, _ := wait(); len(got) != 4 {
			t.Fatalf("peer got %d bytes, want 4", len(got))
		}
	})
}

func TestStallWriteDeadlineThenRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Stall(10)}})
		wait := readAllAsync(b)
		data := pattern(20, 29)
		start := time.Now()
		c.SetWriteDeadline(start.Add(time.Second))
		n, err := c.Write(data)
		if n != 10 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write = %d, %v; want 10, os.ErrDeadlineExceeded", n, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("stalled Write returned after %v, want 1s", d)
		}
		// Still stalled: another short deadline fires again.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if n, err := c.Write(data[10:]); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("second Write = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		c.SetWriteDeadline(time.Time{})
		c.Release()
		if n, err := c.Write(data[10:]); n != 10 || err != nil {
			t.Fatalf("Write after Release = %d, %v", n, err)
		}
		c.Close()
		if got, _ := wait(); !bytes.Equal(got, data) {
			t.Fatalf("peer got %d bytes, want all 20", len(got))
		}
		ev := c.Events()
		if len(ev) != 2 || ev[0].Released || !ev[1].Released || ev[0].Offset != 10 || ev[1].Dir != faultnet.Write {
			t.Fatalf("Events() = %v, want the stall at 10 then its release", ev)
		}
	})
}

func TestStallReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Stall(10)}})
		defer c.Close()
		data := pattern(20, 30)
		go b.Write(data)
		got := make([]byte, 0, 20)
		buf := make([]byte, 64)
		for len(got) < 10 {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, data[:10]) {
			t.Fatalf("read %d bytes before the stall, want exactly 10", len(got))
		}
		start := time.Now()
		c.SetReadDeadline(start.Add(2 * time.Second))
		if n, err := c.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("stalled Read = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("stalled Read returned after %v, want 2s", d)
		}
		// A deadline moved while the Read waits takes effect.
		c.SetReadDeadline(time.Now().Add(time.Hour))
		done := make(chan error, 1)
		start = time.Now()
		go func() {
			_, err := c.Read(buf)
			done <- err
		}()
		synctest.Wait()
		c.SetReadDeadline(time.Now().Add(time.Second))
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Read returned after %v, want 1s (the moved deadline)", d)
		}
		// Released, the rest of the stream flows.
		c.SetReadDeadline(time.Time{})
		c.Release()
		for len(got) < 20 {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("bytes after the stall differ")
		}
	})
}

// TestStallCloseUnblocks: Close ends stalls in both directions; goleak
// (TestMain) and synctest check no goroutine is left.
func TestStallCloseUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Stall(0)}, Write: []faultnet.Fault{faultnet.Stall(3)}})
		go b.Write([]byte("xyz"))
		go io.Copy(io.Discard, b)
		var wg sync.WaitGroup
		var rerr, werr error
		var wn int
		wg.Go(func() { _, rerr = c.Read(make([]byte, 8)) })
		wg.Go(func() { wn, werr = c.Write([]byte("123456")) })
		synctest.Wait()
		if ev := c.Events(); len(ev) != 2 {
			t.Fatalf("Events() = %v, want both stalls reached", ev)
		}
		c.Close()
		wg.Wait()
		if !errors.Is(rerr, net.ErrClosed) || !errors.Is(werr, net.ErrClosed) || wn != 3 {
			t.Fatalf("after Close: Read %v, Write %d, %v; want net.ErrClosed both, 3 written", rerr, wn, werr)
		}
	})
}

// TestStallCutUnblocks: a cut fired by the other direction ends a stall.
func TestStallCutUnblocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Stall(0)}, Write: []faultnet.Fault{faultnet.Cut(2, faultnet.RST)}})
		defer c.Close()
		go io.Copy(io.Discard, b)
		rerr := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 8))
			rerr <- err
		}()
		synctest.Wait()
		c.Write([]byte("abc"))
		if err := <-rerr; !isErr(err, faultnet.ErrInjected) {
			t.Fatalf("stalled Read = %v, want the injected reset", err)
		}
	})
}

// TestReleaseOnlyReachedStalls: Release before a stall is reached does not
// disarm it, and each stall needs its own Release.
func TestReleaseOnlyReachedStalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		wait := readAllAsync(b)
		c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Stall(3), faultnet.Stall(6)}})
		c.Release() // nothing reached yet: no effect
		done := make(chan int, 1)
		go func() {
			n, _ := c.Write(pattern(9, 31))
			done <- n
		}()
		for i, want := range []int64{3, 6} {
			synctest.Wait()
			select {
			case n := <-done:
				t.Fatalf("Write returned %d before stall %d was released", n, i)
			default:
			}
			if st := c.Stats(); st.Written != want {
				t.Fatalf("stall %d: Written = %d, want %d", i, st.Written, want)
			}
			c.Release()
		}
		if n := <-done; n != 9 {
			t.Fatalf("Write = %d, want 9", n)
		}
		c.Close()
		if got, _ := wait(); len(got) != 9 {
			t.Fatalf("peer got %d bytes", len(got))
		}
	})
}

// TestOnFault: the hook sees every event as it fires, and may release a
// stall from inside.
func TestOnFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		wait := readAllAsync(b)
		var (
			c    *faultnet.Conn
			mu   sync.Mutex
			seen []faultnet.Event
		)
		s := faultnet.Script{
			Write: []faultnet.Fault{faultnet.Stall(2), faultnet.Corrupt(3, 1), faultnet.Cut(5, faultnet.FIN)},
			OnFault: func(ev faultnet.Event) {
				mu.Lock()
				seen = append(seen, ev)
				mu.Unlock()
				if ev.Fault.Kind == faultnet.KindStall && !ev.Released {
					c.Release()
				}
			},
		}
		c = faultnet.Wrap(a, s)
		n, err := c.Write(pattern(8, 32))
		if n != 5 || err == nil {
			t.Fatalf("Write = %d, %v; want 5 and the cut", n, err)
		}
		wait()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 4 {
			t.Fatalf("OnFault saw %v, want stall, release, corrupt, cut", seen)
		}
		if ev := c.Events(); len(ev) != len(seen) {
			t.Fatalf("Events() = %v, OnFault saw %v", ev, seen)
		}
		for i, k := range []faultnet.Kind{faultnet.KindStall, faultnet.KindStall, faultnet.KindCorrupt, faultnet.KindCut} {
			if seen[i].Fault.Kind != k {
				t.Fatalf("event %d = %v, want kind %v", i, seen[i], k)
			}
		}
	})
}
