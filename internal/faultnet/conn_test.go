package faultnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/pushmon/pushmon/internal/faultnet"
)

// cutErrs are the errors a cut of the given mode produces on the wrapped
// end for reads and for writes.
func wantCutErr(t *testing.T, op string, mode faultnet.CutMode, err error) {
	t.Helper()
	switch {
	case mode == faultnet.FIN && op == "read":
		if err != io.EOF {
			t.Fatalf("%s after FIN cut: err = %v, want io.EOF", op, err)
		}
	case mode == faultnet.FIN:
		if !isErr(err, syscall.EPIPE, faultnet.ErrInjected) {
			t.Fatalf("%s after FIN cut: err = %v, want EPIPE and ErrInjected", op, err)
		}
	default:
		if !isErr(err, syscall.ECONNRESET, faultnet.ErrInjected) {
			t.Fatalf("%s after RST cut: err = %v, want ECONNRESET and ErrInjected", op, err)
		}
		var fe *faultnet.FaultError
		if !errors.As(err, &fe) || fe.Op != op {
			t.Fatalf("%s: err = %#v, want *FaultError with Op %q", op, err, op)
		}
	}
}

// wrap is faultnet.Wrap of a valid script.
func wrap(t *testing.T, c net.Conn, s faultnet.Script) *faultnet.Conn {
	t.Helper()
	fc, err := faultnet.Wrap(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

var chunkings = []struct {
	name string
	next func() func() int
}{
	{"one write", func() func() int { return func() int { return 1 << 20 } }},
	{"bytewise", func() func() int { return func() int { return 1 } }},
	{"random small", func() func() int { return sizer(7, 9) }},
	{"random large", func() func() int { return sizer(8, 300) }},
}

var cutOffsets = []int64{0, 1, 2, 63, 64, 65, 255, 999}

// TestCutWriteExactOffset: a Write-side cut at n lets exactly n bytes reach
// the peer, whatever the write sizes, and the peer then sees end of stream.
func TestCutWriteExactOffset(t *testing.T) {
	data := pattern(1200, 1)
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		for _, ch := range chunkings {
			for _, n := range cutOffsets {
				t.Run(fmt.Sprintf("%v/%s/%d", mode, ch.name, n), func(t *testing.T) {
					a, b := net.Pipe()
					defer b.Close()
					var events []faultnet.Event
					c := wrap(t, a, faultnet.Script{
						Write:   []faultnet.Fault{faultnet.Cut(n, mode)},
						OnFault: func(ev faultnet.Event) { events = append(events, ev) },
					})
					defer c.Close()
					wait := readAllAsync(b)
					wrote, err := writeChunks(c, data, ch.next())
					wantCutErr(t, "write", mode, err)
					if int64(wrote) != n {
						t.Fatalf("Write accepted %d bytes in total, want %d", wrote, n)
					}
					got, rerr := wait()
					if rerr != nil {
						t.Fatalf("peer read error %v, want clean EOF", rerr)
					}
					if !bytes.Equal(got, data[:n]) {
						t.Fatalf("peer got %d bytes, want exactly the first %d", len(got), n)
					}
					_, rerr = c.Read(make([]byte, 1))
					wantCutErr(t, "read", mode, rerr)
					want := []faultnet.Event{{Dir: faultnet.Write, Offset: n, Fault: faultnet.Cut(n, mode)}}
					if !slices.Equal(events, want) {
						t.Fatalf("OnFault saw %v, want %v", events, want)
					}
				})
			}
		}
	}
}

// TestCutReadExactOffset: a Read-side cut at n returns exactly n bytes,
// whatever the peer's write sizes and the reader's buffer sizes.
func TestCutReadExactOffset(t *testing.T) {
	data := pattern(1200, 2)
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		for _, ch := range chunkings {
			for _, n := range cutOffsets {
				t.Run(fmt.Sprintf("%v/%s/%d", mode, ch.name, n), func(t *testing.T) {
					a, b := net.Pipe()
					defer b.Close()
					c := wrap(t, a, faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(n, mode)}})
					defer c.Close()
					var wg sync.WaitGroup
					defer wg.Wait()
					wg.Go(func() {
						writeChunks(b, data, ch.next()) // fails once the cut closes the pipe
					})
					got, err := readChunks(c, sizer(uint64(n), 50))
					wantCutErr(t, "read", mode, err)
					if !bytes.Equal(got, data[:n]) {
						t.Fatalf("read %d bytes, want exactly the first %d", len(got), n)
					}
					_, werr := c.Write([]byte{1})
					wantCutErr(t, "write", mode, werr)
				})
			}
		}
	}
}

// TestCutIsEager: once byte n−1 has passed, the cut happens at once: the
// Write that ends at n succeeds and the peer sees EOF with no further
// traffic.
func TestCutIsEager(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := wrap(t, a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(10, faultnet.FIN)}})
	defer c.Close()
	wait := readAllAsync(b)
	if n, err := c.Write(pattern(10, 3)); n != 10 || err != nil {
		t.Fatalf("Write(10 bytes) = %d, %v; want 10, nil", n, err)
	}
	got, err := wait() // would block forever if the cut waited for another Write
	if err != nil || len(got) != 10 {
		t.Fatalf("peer read %d bytes, err %v; want 10, EOF", len(got), err)
	}
}

// TestCutEndsBothDirections: a cut in one direction fails a Read blocked in
// the other.
func TestCutEndsBothDirections(t *testing.T) {
	for _, mode := range []faultnet.CutMode{faultnet.FIN, faultnet.RST} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			c := wrap(t, a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(4, mode)}})
			defer c.Close()
			wait := readAllAsync(b)
			rerr := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8)) // blocks: the peer never writes
				rerr <- err
			}()
			if _, err := c.Write(pattern(8, 4)); err == nil {
				t.Fatal("Write across the cut succeeded")
			}
			wantCutErr(t, "read", mode, <-rerr)
			wait()
		})
	}
}

func TestCloseIdempotentAndConcurrent(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	rec := &recConn{Conn: a}
	c := wrap(t, rec, faultnet.Script{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- c.Close() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	}
	if n := rec.closes.Load(); n != 1 {
		t.Fatalf("inner Close called %d times, want 1", n)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// TestCloseAfterCut: the cut already closed the inner conn; Close does not
// close it again and reports nil, and operations then report net.ErrClosed.
func TestCloseAfterCut(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	rec := &recConn{Conn: a}
	c := wrap(t, rec, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(0, faultnet.RST)}})
	if _, err := c.Write([]byte{1}); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write = %v, want ECONNRESET", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after cut = %v", err)
	}
	if n := rec.closes.Load(); n != 1 {
		t.Fatalf("inner Close called %d times, want 1", n)
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

func TestInvalidScripts(t *testing.T) {
	bad := []faultnet.Script{
		{Read: []faultnet.Fault{faultnet.Cut(-1, faultnet.FIN)}},
		{Read: []faultnet.Fault{faultnet.Cut(5, 0)}},
		{Write: []faultnet.Fault{faultnet.Cut(5, 9)}},
		{Read: []faultnet.Fault{{}}},
		{Write: []faultnet.Fault{faultnet.Cut(3, faultnet.FIN), faultnet.Cut(9, faultnet.RST)}},
	}
	for i, s := range bad {
		if err := s.Validate(); !errors.Is(err, faultnet.ErrInvalidScript) {
			t.Errorf("script %d %v: Validate = %v, want ErrInvalidScript", i, s, err)
		}
		a, b := net.Pipe()
		if c, err := faultnet.Wrap(a, s); !errors.Is(err, faultnet.ErrInvalidScript) || c != nil {
			t.Errorf("script %d: Wrap = %v, %v; want ErrInvalidScript", i, c, err)
		}
		a.Close()
		b.Close()
	}
	good := faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(9, faultnet.RST)}, Write: []faultnet.Fault{faultnet.Cut(0, faultnet.FIN)}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%v) = %v", good, err)
	}
}

func TestStrings(t *testing.T) {
	s := faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(120, faultnet.RST)}}
	if want := "read[—] write[cut@120/rst]"; s.String() != want {
		t.Fatalf("String() = %q\nwant       %q", s.String(), want)
	}
	ev := faultnet.Event{Dir: faultnet.Read, Offset: 9, Fault: faultnet.Cut(9, faultnet.FIN)}
	if got := ev.String(); got != "read cut@9/fin" {
		t.Fatalf("Event.String() = %q", got)
	}
	a, b := net.Pipe()
	defer b.Close()
	c := wrap(t, a, faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(0, faultnet.RST)}})
	defer c.Close()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read = %v, want ECONNRESET", err)
	}
	_, err := c.Write([]byte{1})
	var fe *faultnet.FaultError
	if !errors.As(err, &fe) || fe.Timeout() || fe.Temporary() {
		t.Fatalf("Write = %#v, want a non-timeout *FaultError", err)
	}
	if want := "faultnet: write: injected cut@0/rst on read side at byte 0: connection reset by peer"; err.Error() != want {
		t.Fatalf("error text %q\nwant       %q", err.Error(), want)
	}
}
