package stream

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// recordingConn serves src and records the size of every read asked of it.
type recordingConn struct {
	net.Conn
	src   *bytes.Reader
	asked []int
	err   error // returned once src is drained
}

func (c *recordingConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	n, _ := c.src.Read(p)
	if c.src.Len() == 0 && c.err != nil {
		return n, c.err
	}
	return n, nil
}

// TestBurstConn: small reads while frames flow go through one pooled burst
// read; large reads and the idle read go straight to the connection; a
// drained buffer goes back to the pool when the reader goes idle, and
// whatever it holds when the connection ends; an error of the burst read
// comes after the bytes it brought.
func TestBurstConn(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 000 bytes
	boom := errors.New("boom")
	rc := &recordingConn{src: bytes.NewReader(data), err: boom}
	c := newBurstConn(rc)
	var got []byte
	read := func(n int) {
		t.Helper()
		p := make([]byte, n)
		k, err := c.Read(p)
		if err != nil {
			t.Fatalf("Read(%d): %v", n, err)
		}
		got = append(got, p[:k]...)
	}

	read(4096) // idle: straight into p
	if len(rc.asked) != 1 || rc.asked[0] != 4096 || c.buf != nil {
		t.Fatalf("idle read asked %v, burst buffer %v", rc.asked, c.buf != nil)
	}
	c.setIdle(false)
	read(4096) // one burst of 64 KiB serves this read and the next 15
	for range 15 {
		read(4096)
	}
	if len(rc.asked) != 2 || rc.asked[1] != burstSize || c.Buffered() != 0 {
		t.Fatalf("16 small reads asked %v of the connection, %d left buffered", rc.asked, c.Buffered())
	}
	read(40_000) // 32 KiB or more: straight into p
	if len(rc.asked) != 3 || rc.asked[2] != 40_000 {
		t.Fatalf("a large read asked %v", rc.asked)
	}
	read(100) // a new burst
	c.setIdle(true)
	if c.buf == nil || c.Buffered() != burstSize-100 {
		t.Fatal("going idle dropped a burst buffer that still held data")
	}
	for c.Buffered() > 0 {
		read(4096)
	}
	c.setIdle(true)
	if c.buf != nil {
		t.Fatal("a drained burst buffer was kept while idle")
	}
	c.setIdle(false)
	// The rest of data is less than a burst: the burst read brings it with
	// the connection's error, which comes once the bytes are drained.
	for {
		p := make([]byte, 4096)
		k, err := c.Read(p)
		got = append(got, p[:k]...)
		if err != nil {
			if err != boom || k != 0 {
				t.Fatalf("Read = %d, %v; want 0, boom after the data", k, err)
			}
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(data))
	}
	rc.src.Reset(data)
	rc.err = nil
	read(10)
	c.drop()
	if c.buf != nil || c.Buffered() != 0 {
		t.Fatal("drop kept the burst buffer")
	}
	var nilConn *burstConn
	nilConn.setIdle(true)
	nilConn.drop()
	if nilConn.Buffered() != 0 {
		t.Fatal("a nil burstConn has bytes buffered")
	}
}
