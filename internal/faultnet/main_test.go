package faultnet_test

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pattern returns n reproducible bytes that are not a simple ramp, so a
// shifted, dropped or duplicated byte shows.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sizer returns a function yielding chunk sizes in [1, max], reproducibly.
func sizer(seed uint64, max int) func() int {
	r := rand.New(rand.NewPCG(seed, 2))
	return func() int { return 1 + r.IntN(max) }
}

// writeChunks writes data in chunks of next() bytes until it is all
// written or a Write fails. It returns the bytes accepted and the error.
func writeChunks(w io.Writer, data []byte, next func() int) (int, error) {
	total := 0
	for total < len(data) {
		k := min(next(), len(data)-total)
		n, err := w.Write(data[total : total+k])
		total += n
		if err != nil {
			return total, err
		}
		if n != k {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// readChunks reads with buffers of next() bytes until an error, returning
// everything read and the error.
func readChunks(r io.Reader, next func() int) ([]byte, error) {
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf[:min(next(), len(buf))])
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
}

// readAllAsync reads c to the end in a goroutine; wait returns what was
// read and the terminating error (nil for io.EOF, as io.ReadAll does).
func readAllAsync(c net.Conn) (wait func() ([]byte, error)) {
	var (
		got []byte
		err error
		wg  sync.WaitGroup
	)
	wg.Go(func() { got, err = io.ReadAll(c) })
	return func() ([]byte, error) { wg.Wait(); return got, err }
}

// recConn counts Close calls.
type recConn struct {
	net.Conn
	closes atomic.Int32
}

func (r *recConn) Close() error {
	r.closes.Add(1)
	return r.Conn.Close()
}

func isErr(err error, targets ...error) bool {
	for _, t := range targets {
		if !errors.Is(err, t) {
			return false
		}
	}
	return true
}
