package faultnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// TestConcurrentUse runs a reader and a writer through one Conn over an
// echoing TCP peer while other goroutines call every other method, for the
// race detector; the echoed bytes must be the stream with the Write faults
// and then the Read faults applied.
func TestConcurrentUse(t *testing.T) {
	cl, sv := tcpPair(t)
	go io.Copy(sv, sv)
	s := faultnet.Script{
		Read:  []faultnet.Fault{faultnet.Slice(13), faultnet.Corrupt(1000, 0x55), faultnet.Drop(5000, 6000)},
		Write: []faultnet.Fault{faultnet.Slice(7), faultnet.Corrupt(10, 0xaa), faultnet.Drop(100, 200), faultnet.Stall(30000)},
	}
	c := faultnet.Wrap(cl, s)
	defer c.Close()
	data := pattern(20000, 70)
	// Expected: write faults (corrupt 10, drop [100,200)), then read faults
	// on the echoed stream (corrupt 1000, drop [5000,6000)).
	echoed := slices.Concat(data[:100], data[200:])
	echoed[10] ^= 0xaa
	want := slices.Concat(echoed[:5000], echoed[6000:])
	want[1000] ^= 0x55

	stop := make(chan struct{})
	var busy sync.WaitGroup
	var calls atomic.Int64
	for range 3 {
		busy.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Stats()
				c.Events()
				c.Release() // no stall is reached in this test
				c.SetDeadline(time.Now().Add(tcpTimeout))
				c.Script()
				c.LocalAddr()
				calls.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { _, werr = writeChunks(c, data, sizer(71, 500)) })
	got := make([]byte, 0, len(want))
	buf := make([]byte, 700)
	for len(got) < len(want) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(got), err)
		}
	}
	wg.Wait()
	close(stop)
	busy.Wait()
	if werr != nil {
		t.Fatal(werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo through the faults differs (got %d bytes, want %d)", len(got), len(want))
	}
	if calls.Load() == 0 {
		t.Fatal("the concurrent callers never ran")
	}
	if st := c.Stats(); st.Read != int64(len(want)) || st.ReadDropped != 1000 || st.Written != int64(len(echoed)) || st.WriteDropped != 100 {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestCloseDuringTraffic: Close while a reader and a writer are busy ends
// both with net.ErrClosed.
func TestCloseDuringTraffic(t *testing.T) {
	for _, name := range []string{"pipe", "tcp"} {
		t.Run(name, func(t *testing.T) {
			var a, b net.Conn
			if name == "pipe" {
				a, b = net.Pipe()
				defer b.Close()
			} else {
				a, b = tcpPair(t)
			}
			go io.Copy(b, b)
			c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Slice(3)}, Read: []faultnet.Fault{faultnet.Slice(5)}})
			var wg sync.WaitGroup
			var rerr, werr error
			var read atomic.Int64
			wg.Go(func() {
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					read.Add(int64(n))
					if err != nil {
						rerr = err
						return
					}
				}
			})
			wg.Go(func() {
				for {
					if _, err := c.Write(pattern(100, 72)); err != nil {
						werr = err
						return
					}
				}
			})
			for read.Load() < 1000 {
				time.Sleep(time.Millisecond)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if !errors.Is(rerr, net.ErrClosed) || !errors.Is(werr, net.ErrClosed) {
				t.Fatalf("after Close: Read %v, Write %v; want net.ErrClosed", rerr, werr)
			}
		})
	}
}
