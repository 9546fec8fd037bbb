package faultnet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
					c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(n, mode)}})
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
					if st := c.Stats(); st.Written != n {
						t.Fatalf("Stats().Written = %d, want %d", st.Written, n)
					}
					want := []faultnet.Event{{Dir: faultnet.Write, Offset: n, Fault: faultnet.Cut(n, mode)}}
					if ev := c.Events(); !slices.Equal(ev, want) {
						t.Fatalf("Events() = %v, want %v", ev, want)
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
					c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(n, mode)}})
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
					if st := c.Stats(); st.Read != n {
						t.Fatalf("Stats().Read = %d, want %d", st.Read, n)
					}
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
	c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(10, faultnet.FIN)}})
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
			c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(4, mode)}})
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

func TestSliceWrite(t *testing.T) {
	data := pattern(1000, 5)
	a, b := net.Pipe()
	defer b.Close()
	rec := &recConn{Conn: a}
	c := faultnet.Wrap(rec, faultnet.Script{Write: []faultnet.Fault{faultnet.Slice(7)}})
	wait := readAllAsync(b)
	if _, err := writeChunks(c, data, sizer(9, 40)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, err := wait()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("peer got %d bytes (err %v), want the %d written, unchanged", len(got), err, len(data))
	}
	sizes := rec.sizes()
	for _, s := range sizes {
		if s < 1 || s > 7 {
			t.Fatalf("inner Write of %d bytes, want 1..7", s)
		}
	}
	if len(sizes) < (len(data)+6)/7 {
		t.Fatalf("%d inner Writes, want at least %d", len(sizes), (len(data)+6)/7)
	}
}

func TestSliceRead(t *testing.T) {
	data := pattern(1000, 6)
	a, b := net.Pipe()
	c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Slice(5)}})
	defer c.Close()
	go func() {
		b.Write(data) // one big write
		b.Close()
	}()
	var got []byte
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		if n > 5 {
			t.Fatalf("Read returned %d bytes, want at most 5", n)
		}
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
}

func TestDropWrite(t *testing.T) {
	data := pattern(300, 7)
	drops := []faultnet.Fault{faultnet.Drop(10, 20), faultnet.Drop(100, 250)}
	want := slices.Concat(data[:10], data[20:100], data[250:])
	for _, ch := range chunkings {
		t.Run(ch.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			c := faultnet.Wrap(a, faultnet.Script{Write: drops})
			wait := readAllAsync(b)
			n, err := writeChunks(c, data, ch.next())
			if err != nil || n != len(data) {
				t.Fatalf("writes accepted %d bytes, err %v; want all %d, nil", n, err, len(data))
			}
			c.Close()
			got, _ := wait()
			if !bytes.Equal(got, want) {
				t.Fatalf("peer got %d bytes, want %d: the stream minus the drop ranges", len(got), len(want))
			}
			st := c.Stats()
			if st.Written != int64(len(want)) || st.WriteDropped != int64(len(data)-len(want)) {
				t.Fatalf("Stats = %+v, want Written %d WriteDropped %d", st, len(want), len(data)-len(want))
			}
			wantEv := []faultnet.Event{{Dir: faultnet.Write, Offset: 10, Fault: drops[0]}, {Dir: faultnet.Write, Offset: 100, Fault: drops[1]}}
			if ev := c.Events(); !slices.Equal(ev, wantEv) {
				t.Fatalf("Events() = %v, want %v", ev, wantEv)
			}
		})
	}
}

func TestDropRead(t *testing.T) {
	data := pattern(10000, 8)
	drops := []faultnet.Fault{faultnet.Drop(0, 3), faultnet.Drop(500, 9000)} // spans several discards
	want := slices.Concat(data[3:500], data[9000:])
	for _, ch := range chunkings {
		t.Run(ch.name, func(t *testing.T) {
			a, b := net.Pipe()
			c := faultnet.Wrap(a, faultnet.Script{Read: drops})
			defer c.Close()
			go func() {
				writeChunks(b, data, ch.next())
				b.Close()
			}()
			got, err := readChunks(c, sizer(10, 700))
			if err != io.EOF {
				t.Fatalf("read ended with %v, want io.EOF", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, want %d: the stream minus the drop ranges", len(got), len(want))
			}
			st := c.Stats()
			if st.Read != int64(len(want)) || st.ReadDropped != int64(len(data)-len(want)) {
				t.Fatalf("Stats = %+v, want Read %d ReadDropped %d", st, len(want), len(data)-len(want))
			}
		})
	}
}

// TestDropThenCut: offsets count the sender's stream, so a cut at 50 after
// a drop of [10, 20) delivers 40 bytes.
func TestDropThenCut(t *testing.T) {
	data := pattern(100, 9)
	a, b := net.Pipe()
	defer b.Close()
	c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(50, faultnet.FIN), faultnet.Drop(10, 20)}})
	defer c.Close()
	wait := readAllAsync(b)
	n, err := c.Write(data)
	if n != 50 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write = %d, %v; want 50 accepted and EPIPE", n, err)
	}
	got, _ := wait()
	if want := slices.Concat(data[:10], data[20:50]); !bytes.Equal(got, want) {
		t.Fatalf("peer got %d bytes, want %d", len(got), len(want))
	}
}

func TestCorruptWrite(t *testing.T) {
	data := pattern(100, 10)
	orig := bytes.Clone(data)
	a, b := net.Pipe()
	defer b.Close()
	c := faultnet.Wrap(a, faultnet.Script{Write: []faultnet.Fault{
		faultnet.Corrupt(0, 0xff), faultnet.Corrupt(37, 0x01), faultnet.Corrupt(99, 0x80),
	}})
	wait := readAllAsync(b)
	if _, err := writeChunks(c, data, sizer(11, 20)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, _ := wait()
	if !bytes.Equal(data, orig) {
		t.Fatal("Write modified the caller's buffer")
	}
	want := bytes.Clone(data)
	want[0] ^= 0xff
	want[37] ^= 0x01
	want[99] ^= 0x80
	if !bytes.Equal(got, want) {
		t.Fatalf("peer got %x\nwant %x", got, want)
	}
	if len(c.Events()) != 3 {
		t.Fatalf("Events() = %v, want 3 corruptions", c.Events())
	}
}

func TestCorruptRead(t *testing.T) {
	data := pattern(100, 12)
	a, b := net.Pipe()
	c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Corrupt(5, 0x0f), faultnet.Drop(40, 50), faultnet.Corrupt(45, 0xff), faultnet.Corrupt(60, 0x10)}})
	defer c.Close()
	go func() {
		writeChunks(b, data, sizer(13, 15))
		b.Close()
	}()
	got, err := readChunks(c, sizer(14, 30))
	if err != io.EOF {
		t.Fatal(err)
	}
	want := slices.Concat(data[:40], data[50:])
	want[5] ^= 0x0f
	want[60-10] ^= 0x10 // byte 45 was dropped, so its corruption never shows
	if !bytes.Equal(got, want) {
		t.Fatalf("read %x\nwant %x", got, want)
	}
}

func TestCloseIdempotentAndConcurrent(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	rec := &recConn{Conn: a}
	c := faultnet.Wrap(rec, faultnet.Script{})
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
	c := faultnet.Wrap(rec, faultnet.Script{Write: []faultnet.Fault{faultnet.Cut(0, faultnet.RST)}})
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
		{Write: []faultnet.Fault{faultnet.Stall(-2)}},
		{Write: []faultnet.Fault{faultnet.Slice(0)}},
		{Write: []faultnet.Fault{faultnet.Slice(2), faultnet.Slice(3)}},
		{Read: []faultnet.Fault{faultnet.Delay(-1)}},
		{Read: []faultnet.Fault{faultnet.Delay(1), faultnet.Delay(2)}},
		{Read: []faultnet.Fault{faultnet.Rate(0)}},
		{Read: []faultnet.Fault{faultnet.Rate(5), faultnet.Rate(6)}},
		{Read: []faultnet.Fault{faultnet.Drop(5, 5)}},
		{Read: []faultnet.Fault{faultnet.Drop(-1, 5)}},
		{Read: []faultnet.Fault{faultnet.Drop(0, 10), faultnet.Drop(9, 12)}},
		{Read: []faultnet.Fault{faultnet.Corrupt(3, 0)}},
		{Read: []faultnet.Fault{faultnet.Corrupt(-3, 1)}},
		{Read: []faultnet.Fault{{}}},
		{Read: []faultnet.Fault{{Kind: 99}}},
		{Read: []faultnet.Fault{{Kind: faultnet.KindStall, Offset: 3, Size: 4}}},
		{Write: []faultnet.Fault{{Kind: faultnet.KindCut, Offset: 3, Mode: faultnet.FIN, Mask: 1}}},
		faultnet.Random(1, faultnet.RandomOptions{Min: 5, Max: 5}),
	}
	for i, s := range bad {
		err := s.Validate()
		var se *faultnet.ScriptError
		if !errors.Is(err, faultnet.ErrInvalidScript) || !errors.As(err, &se) {
			t.Errorf("script %d %v: Validate = %v, want a *ScriptError", i, s, err)
			continue
		}
		a, b := net.Pipe()
		c := faultnet.Wrap(a, s)
		if _, err := c.Write([]byte{1}); !errors.Is(err, faultnet.ErrInvalidScript) {
			t.Errorf("script %d: Write = %v, want ErrInvalidScript", i, err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, faultnet.ErrInvalidScript) {
			t.Errorf("script %d: Read = %v, want ErrInvalidScript", i, err)
		}
		c.Close()
		b.Close()
	}
	good := faultnet.Script{
		Read:  []faultnet.Fault{faultnet.Cut(9, faultnet.RST), faultnet.Cut(3, faultnet.FIN), faultnet.Stall(1), faultnet.Stall(1), faultnet.Drop(4, 6), faultnet.Drop(0, 1)},
		Write: []faultnet.Fault{faultnet.Slice(1), faultnet.Delay(1), faultnet.Rate(1), faultnet.Corrupt(0, 1), faultnet.Corrupt(0, 2)},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%v) = %v", good, err)
	}
}

func TestNilConn(t *testing.T) {
	c := faultnet.Wrap(nil, faultnet.Script{})
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, faultnet.ErrNilConn) {
		t.Fatalf("Read = %v, want ErrNilConn", err)
	}
	if _, err := c.Write([]byte{1}); !errors.Is(err, faultnet.ErrNilConn) {
		t.Fatalf("Write = %v, want ErrNilConn", err)
	}
	if err := c.SetDeadline(time.Time{}); !errors.Is(err, faultnet.ErrNilConn) {
		t.Fatalf("SetDeadline = %v, want ErrNilConn", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if c.LocalAddr() != nil || c.RemoteAddr() != nil {
		t.Fatal("addresses of a nil conn are not nil")
	}
}

func TestStrings(t *testing.T) {
	s := faultnet.Script{
		Read:  []faultnet.Fault{faultnet.Slice(3), faultnet.Cut(120, faultnet.RST)},
		Write: []faultnet.Fault{faultnet.Stall(7), faultnet.Delay(10 * time.Millisecond), faultnet.Rate(100), faultnet.Drop(10, 20), faultnet.Corrupt(5, 1)},
	}
	want := "read[slice≤3 cut@120/rst] write[stall@7 delay 10ms rate 100B/s drop[10:20) corrupt@5^0x01]"
	if got := s.String(); got != want {
		t.Fatalf("String() = %q\nwant       %q", got, want)
	}
	if got := (faultnet.Script{}).String(); got != "read[—] write[—]" {
		t.Fatalf("empty Script String() = %q", got)
	}
	ev := faultnet.Event{Dir: faultnet.Read, Offset: 9, Fault: faultnet.Stall(9), Released: true}
	if got := ev.String(); got != "read stall@9 released at 9" {
		t.Fatalf("Event.String() = %q", got)
	}
	a, b := net.Pipe()
	defer b.Close()
	c := faultnet.Wrap(a, faultnet.Script{Read: []faultnet.Fault{faultnet.Cut(0, faultnet.RST)}})
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
	inv := faultnet.Random(1, faultnet.RandomOptions{Min: 3, Max: 1}).String()
	if !strings.HasPrefix(inv, "invalid(") {
		t.Fatalf("invalid Random script String() = %q, want it marked invalid", inv)
	}
}
