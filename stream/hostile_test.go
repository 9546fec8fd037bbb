package stream

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Hostile servers: whatever a server sends, the client ends with a typed
// error, never a panic, a hang or an allocation the server chose.

// allocated returns the bytes allocated on the heap while f ran (by every
// goroutine; the tests run nothing else meanwhile).
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// leanServer accepts the login and then writes script, allocating almost
// nothing itself, so that what allocated measures is the client's. With
// hold it then reads until the client closes; otherwise it closes.
func leanServer(script []byte, hold bool) func(int, net.Conn) {
	reqLen := protocol.HeaderSize + 10 + len("user") + len(SentinelPassword)
	return func(_ int, c net.Conn) {
		var buf [256]byte
		if _, err := io.ReadFull(c, buf[:reqLen]); err != nil {
			return
		}
		if _, err := c.Write(protocol.AppendConnectResponse(buf[:0], protocol.StatusOK)); err != nil {
			return
		}
		if _, err := c.Write(script); err != nil || !hold {
			return
		}
		for {
			if _, err := c.Read(buf[:]); err != nil {
				return
			}
		}
	}
}

// leanConfig is testConfig without logging (the test's log sink would
// dominate the allocations measured) and giving up after the first error.
func leanConfig(d Dialer) Config {
	cfg := testConfig(d)
	cfg.Logger = nil
	cfg.NewBackOff = func() backoff.BackOff { return stopBackOff{} }
	return cfg
}

// TestHostileFrameSizes: a declared size of 0xFFFFFFFF fails with
// ErrFrameTooLarge before any body byte is read, and a declared 16 MiB
// body cut after 1 000 bytes fails as truncated; neither costs the client
// more than 64 KiB (besides the pooled 64 KiB burst buffer a busy
// connection borrows), and the cut costs no more than the same cut under
// an honest 8 KiB header: what is allocated follows the bytes that arrive,
// not the declared size.
func TestHostileFrameSizes(t *testing.T) {
	huge := []byte{0, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0, 1, 0}
	cut := func(size uint32) []byte {
		return append(protocol.AppendHeader(nil, protocol.TypePublishMessage, size), make([]byte, 1000)...)
	}
	// cost runs a session against script and returns the least allocation
	// of three runs (TotalAlloc is process-wide, and a loaded machine may
	// run a straggler of an earlier test), not counting the pooled burst
	// buffers, which sessions share, and the session's error.
	cost := func(t *testing.T, script []byte, hold bool) (n uint64, err error) {
		n = math.MaxUint64
		for range 3 {
			bursts := burstAllocs.Load()
			a := allocated(func() {
				d := &pipeDialer{serve: leanServer(script, hold)}
				sub, _ := Subscribe(t.Context(), leanConfig(d))
				<-sub.Done()
				d.wg.Wait()
				err = sub.Err()
			})
			n = min(n, a-(burstAllocs.Load()-bursts)*burstSize)
		}
		return n, err
	}
	t.Run("size 0xFFFFFFFF", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n, err := cost(t, huge, true)
			if !errors.Is(err, protocol.ErrFrameTooLarge) {
				t.Errorf("Err = %v, want ErrFrameTooLarge", err)
			}
			t.Logf("%d bytes allocated", n)
			if n > 64<<10 {
				t.Errorf("allocated %d bytes, want ≤ 64 KiB", n)
			}
		})
	})
	t.Run("16 MiB declared, 1000 bytes sent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			honest, _ := cost(t, cut(8<<10), false)
			n, err := cost(t, cut(protocol.DefaultMaxFrameSize), false)
			if !errors.Is(err, protocol.ErrTruncated) {
				t.Errorf("Err = %v, want ErrTruncated", err)
			}
			t.Logf("%d bytes allocated; %d under an 8 KiB header", n, honest)
			if n > 64<<10 || n > honest+8<<10 {
				t.Errorf("allocated %d bytes, want ≤ 64 KiB and ≤ %d + 8 KiB", n, honest)
			}
		})
	})
}

// zlibBomb returns a zlib stream that inflates to n MiB of zeros (n ≤
// 65520), about 1 KiB per MiB: one flushed DEFLATE chunk of 1 MiB of zeros,
// repeated (each chunk refers only to zeros), then a final empty block and
// the Adler-32 of the output.
func zlibBomb(t testing.TB, mib int) []byte {
	var chunk bytes.Buffer
	fw, _ := flate.NewWriter(&chunk, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := []byte{0x78, 0xda}
	for range mib {
		out = append(out, chunk.Bytes()...)
	}
	out = append(out, 0x03, 0x00) // final fixed-Huffman block, end of block only
	// Adler-32 of zeros: a stays 1, b adds 1 per byte.
	b := uint32((uint64(mib) << 20) % 65521)
	return binary.BigEndian.AppendUint32(out, b<<16|1)
}

// TestZlibBombIsSkippedWithBoundedMemory: a 1 MiB block that inflates to
// 1 GiB is refused at MaxDecompressed with ErrDecompressedTooLarge, visible
// in States and Stats.BadBlocks; the block is acked and skipped, the next
// one delivered; the whole session allocates at most 1.25 × the cap.
func TestZlibBombIsSkippedWithBoundedMemory(t *testing.T) {
	const limit = 8 << 20
	bomb := zlibBomb(t, 1024)
	script, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 7, Count: 1, Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: bomb})
	doc, n := dpDoc("after-bomb")
	script, _ = protocol.AppendPublishMessage(script, protocol.PublishMessage{DataBlockID: 8, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	synctest.Test(t, func(t *testing.T) {
		var acks []uint16
		d := &pipeDialer{serve: func(i int, c net.Conn) {
			fc := newFakeConn(t, c)
			if _, ok := fc.login(protocol.StatusOK); !ok {
				return
			}
			go fc.readAcks()
			c.Write(script)
			for id := range fc.acks {
				acks = append(acks, id)
			}
		}}
		cfg := leanConfig(d)
		cfg.MaxDecompressed = limit
		var (
			sub   *Subscription
			ev    Event
			state StateChange
		)
		allocs := allocated(func() {
			sub, _ = Subscribe(t.Context(), cfg)
			ev = <-sub.Events()
			synctest.Wait()
		})
		for sc := range sub.States() {
			if sc.Err != nil {
				state = sc
				break
			}
		}
		st := sub.Stats()
		sub.Close()
		d.wg.Wait()
		if state.State != StateConnected || !errors.Is(state.Err, protocol.ErrDecompressedTooLarge) || !strings.Contains(state.Err.Error(), "block 7") {
			t.Errorf("state change %+v, want connected with ErrDecompressedTooLarge", state)
		}
		if dp, _ := ev.DataPoint(); dp.ID != "after-bomb" {
			t.Errorf("event after the bomb: %v", ev)
		}
		if st.BadBlocks != 1 || st.Events != 1 || fmt.Sprint(acks) != "[7 8]" {
			t.Errorf("stats %+v, acks %v", st, acks)
		}
		t.Logf("1 GiB bomb in a %d-byte block, cap %d MiB: %d bytes allocated (%.2f × cap)", len(bomb), limit>>20, allocs, float64(allocs)/limit)
		if allocs > limit*5/4 {
			t.Errorf("allocated %d bytes, want ≤ 1.25 × %d", allocs, limit)
		}
	})
}

// TestCountDoesNotDriveAllocation: blocks that claim 65 535 events but hold
// one cost what blocks that claim one cost.
func TestCountDoesNotDriveAllocation(t *testing.T) {
	measure := func(count uint16) uint64 {
		var script []byte
		for i := range 200 {
			doc, _ := dpDoc(fmt.Sprintf("c%03d", i))
			script, _ = protocol.AppendPublishMessage(script, protocol.PublishMessage{DataBlockID: uint16(i), Count: count, Format: protocol.FormatJSON, Payload: []byte(doc)})
		}
		var n uint64
		synctest.Test(t, func(t *testing.T) {
			d := &pipeDialer{serve: leanServer(script, false)}
			n = allocated(func() {
				sub, _ := Subscribe(t.Context(), leanConfig(d))
				got := 0
				for range sub.Events() {
					got++
				}
				if got != 200 {
					t.Errorf("Count %d: %d events, want 200", count, got)
				}
				d.wg.Wait()
			})
		})
		return n
	}
	honest, lying := measure(1), measure(0xFFFF)
	t.Logf("200 blocks: %d bytes with Count 1, %d with Count 65535", honest, lying)
	if lying > honest+honest/10+64<<10 {
		t.Errorf("Count 65535 cost %d bytes, Count 1 %d: Count drives allocation", lying, honest)
	}
}

// typedSessionError reports whether err is one of the errors a session
// ends with by design, so that errors.Is or errors.As can tell it apart.
func typedSessionError(err error) bool {
	for _, target := range []error{
		protocol.ErrTruncated, protocol.ErrUnknownType, protocol.ErrWrongDirection, protocol.ErrSizeMismatch,
		protocol.ErrFrameTooLarge, protocol.ErrUnknownCompression, protocol.ErrUnknownFormat,
		io.EOF, io.ErrClosedPipe, net.ErrClosed, syscall.EPIPE, syscall.ECONNRESET, ErrFrameTimeout,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// garbage returns a hostile stream for session i: random bytes, frames
// with random sub-headers, random zlib, truncated frames, frames of the
// wrong direction, or documents cut short.
func garbage(rng *rand.Rand) []byte {
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var out []byte
	for range 1 + rng.IntN(4) {
		switch rng.IntN(7) {
		case 0:
			out = append(out, randBytes(1+rng.IntN(2048))...)
		case 1: // a PublishMessage with a random sub-header and payload
			p := randBytes(10 + rng.IntN(600))
			out = append(protocol.AppendHeader(out, protocol.TypePublishMessage, uint32(len(p))), p...)
		case 2: // consistent sizes, random compression, format and payload
			p := randBytes(rng.IntN(600))
			m := protocol.PublishMessage{DataBlockID: uint16(rng.Uint32()), Count: uint16(rng.Uint32()), Payload: p,
				Compression: protocol.Compression(rng.IntN(3)), Format: protocol.Format(rng.IntN(3))}
			if rng.IntN(2) == 0 {
				m.Payload = append([]byte{0x78, 0x9c}, p...)
				m.Compression = protocol.CompressionZlib
			}
			out = append(out, frameOf(m)...)
		case 3: // a frame cut short
			p := randBytes(rng.IntN(100))
			out = append(protocol.AppendHeader(out, protocol.TypePublishMessage, uint32(len(p)+10+rng.IntN(5000))), p...)
		case 4: // frames only a client sends, or a second ConnectResponse
			switch rng.IntN(3) {
			case 0:
				out = protocol.AppendAck(out, uint16(rng.Uint32()))
			case 1:
				out = protocol.AppendConnectResponse(out, protocol.StatusOK)
			default:
				out, _ = protocol.AppendConnectRequest(out, "u", "p", 1)
			}
		case 5: // a document cut at a random byte
			doc, _ := dpDoc("a", "b", "c")
			cut := doc[:rng.IntN(len(doc))]
			out = append(out, frameOf(protocol.PublishMessage{Count: 3, Format: protocol.FormatJSON, Payload: []byte(cut)})...)
		case 6: // a header with an absurd size
			out = protocol.AppendHeader(out, protocol.Type(rng.IntN(6)), rng.Uint32())
		}
	}
	return out
}

func frameOf(m protocol.PublishMessage) []byte {
	b, _ := protocol.AppendPublishMessage(nil, m)
	return b
}

// TestGarbageSessions: 1 000 sessions whose server, after a valid
// handshake, sends garbage and closes. None panics; each ends with a typed
// error within 1 s of the server's close.
func TestGarbageSessions(t *testing.T) {
	const sessions = 1000
	rng := rand.New(rand.NewPCG(11, 13))
	kinds := map[string]int{}
	synctest.Test(t, func(t *testing.T) {
		for i := range sessions {
			script := garbage(rng)
			var closedAt time.Time
			d := &pipeDialer{serve: func(_ int, c net.Conn) {
				leanServer(script, false)(0, c)
				closedAt = time.Now()
			}}
			cfg := leanConfig(d)
			cfg.Logger = testLogger(t.Name())
			cfg.FrameTimeout = time.Second
			sub, _ := Subscribe(t.Context(), cfg)
			for range sub.Events() {
			}
			d.wg.Wait()
			ended := time.Now()
			err := sub.Err()
			if !typedSessionError(err) {
				t.Errorf("session %d (% x…): untyped error %v", i, script[:min(len(script), 32)], err)
			}
			if late := ended.Sub(closedAt); late > time.Second {
				t.Errorf("session %d ended %v after the server closed", i, late)
			}
			kinds[errKind(err)]++
		}
	})
	t.Logf("%d garbage sessions ended with: %v", sessions, kinds)
}

// errKind names the sentinel an error matches, for the test log.
func errKind(err error) string {
	for _, target := range []error{
		protocol.ErrTruncated, protocol.ErrUnknownType, protocol.ErrWrongDirection, protocol.ErrSizeMismatch,
		protocol.ErrFrameTooLarge, protocol.ErrUnknownCompression, protocol.ErrUnknownFormat, io.EOF, io.ErrClosedPipe,
	} {
		if errors.Is(err, target) {
			return strings.TrimPrefix(target.Error(), "protocol: ")
		}
	}
	return fmt.Sprintf("%T", err)
}

// TestAcceptThenCloseBacksOff: servers that drop every connection — at
// once, or right after answering 200 — get at most 30 dials in 10 minutes
// (and are still being tried: at least 10). A connection that delivers
// nothing does not count as healthy, so the backoff keeps growing.
func TestAcceptThenCloseBacksOff(t *testing.T) {
	for name, serve := range map[string]func(int, net.Conn){
		"close on accept": func(int, net.Conn) {},
		"close after 200": func(_ int, c net.Conn) { newFakeConn(t, c).login(protocol.StatusOK) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := &pipeDialer{serve: serve}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
				defer cancel()
				sub, _ := Subscribe(ctx, testConfig(d))
				<-sub.Done()
				d.wg.Wait()
				n := d.dials.Load()
				t.Logf("%s: %d dials in 10 minutes", name, n)
				if n > 30 || n < 10 || sub.Err() != nil {
					t.Errorf("%d dials in 10 minutes, Err %v", n, sub.Err())
				}
			})
		})
	}
}

// TestHTTPServerIsNamed: a push address that points at a web server, in
// plain text or over TLS, fails after one dial with an error that says it
// looks like HTTP.
func TestHTTPServerIsNamed(t *testing.T) {
	ca, err := certs.NewCA("stream hostile test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf([]string{"rm.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%t", useTLS), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newSim(t, streamtest.Options{})
				defer srv.Close()
				srv.SetHooks(0, streamtest.Hooks{OnConnect: func(streamtest.ConnInfo) streamtest.ConnectAction {
					return streamtest.ConnectAction{Raw: []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), Close: true}
				}})
				var dials atomic.Int32
				d := dialFunc(func(context.Context, string, string) (net.Conn, error) {
					dials.Add(1)
					c, s := net.Pipe()
					if useTLS {
						srv.ServeConn(tls.Server(s, &tls.Config{Certificates: []tls.Certificate{leaf}}))
					} else {
						srv.ServeConn(s)
					}
					return c, nil
				})
				cfg := simConfig(t, d, 42)
				if useTLS {
					cfg.Plaintext = false
					cfg.TLSConfig = &tls.Config{RootCAs: ca.Pool(), ServerName: "rm.test"}
				}
				sub, _ := Subscribe(t.Context(), cfg)
				<-sub.Done()
				err := sub.Err()
				if !errors.Is(err, protocol.ErrLooksLikeHTTP) || !strings.Contains(err.Error(), "looks like HTTP") || !IsPermanent(err) {
					t.Errorf("Err = %v", err)
				}
				if n := dials.Load(); n != 1 {
					t.Errorf("%d dials, want 1", n)
				}
				assertNoSecret(t, err, cfg, sub)
			})
		})
	}
}
