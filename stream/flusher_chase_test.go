package stream_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/stream"
)

// TestFlusherDoesNotChaseTheReader: a flusher writes the acks the reader
// cannot write while it blocks on the rest of a frame, and then ends once
// the reader runs again; the acks the reader queues after that go with
// its own next flush, in one write. A flusher that went on writing
// whatever was pending chased a busy reader with a system call every few
// blocks (about one write per 14 events in the Events API's load runs).
//
// The script: blocks 1 and 2 and the start of block 3 arrive; the reader
// blocks on block 3's rest, so a flusher writes acks 1 and 2, and its
// write waits (net.Pipe) until the server reads it. The rest of block 3
// and blocks 4 to 7 arrive; the consumer receives 3, 4 and 5 and then
// waits, so the reader, with block 7 still buffered, waits to hand over
// 6 with acks 3 to 5 pending. Only then does the server read the
// flusher's write.
func TestFlusherDoesNotChaseTheReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := newAckScript(t)
		third := dpBlock(3)
		go sc.srv.Write(slices.Concat(dpBlock(1), dpBlock(2), third[:5]))
		sc.next("1")
		sc.next("2")
		synctest.Wait() // the reader blocks on block 3; a flusher writes acks 1 and 2

		go sc.srv.Write(slices.Concat(third[5:], dpBlock(4), dpBlock(5), dpBlock(6), dpBlock(7)))
		sc.next("3")
		sc.next("4")
		synctest.Wait() // the consumer holds block 5; the reader waits to hand over 6

		sc.readAcks()
		if w := sc.writes(); w != `["1 2"]` {
			t.Fatalf("ack writes while the reader waits on the consumer with a block buffered: %s, want [\"1 2\"] (the flusher's only)", w)
		}
		// The reader writes the rest itself: when it waits to hand over
		// block 7 with nothing more buffered, and when it waits for a frame.
		sc.next("5")
		if w := sc.writes(); w != `["1 2" "3 4 5 6"]` {
			t.Fatalf("ack writes once the reader waits to hand over block 7: %s, want [\"1 2\" \"3 4 5 6\"]", w)
		}
		sc.next("6")
		if w := sc.writes(); w != `["1 2" "3 4 5 6" "7"]` {
			t.Errorf("ack writes once the reader waits: %s, want [\"1 2\" \"3 4 5 6\" \"7\"]", w)
		}
	})
}

// TestFlusherStaysWhileTheReaderBlocks: a flusher still writing when the
// reader blocks again on the rest of a frame (so that the reader's own
// request for a flusher finds one running) writes the acks queued
// meanwhile too: the server may send that frame's rest only once it has
// them.
func TestFlusherStaysWhileTheReaderBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc := newAckScript(t)
		third, fifth := dpBlock(3), dpBlock(5)
		go sc.srv.Write(slices.Concat(dpBlock(1), dpBlock(2), third[:5]))
		sc.next("1")
		sc.next("2")
		synctest.Wait() // the reader blocks on block 3; a flusher writes acks 1 and 2

		go sc.srv.Write(slices.Concat(third[5:], dpBlock(4), fifth[:5]))
		sc.next("3")
		sc.next("4")
		synctest.Wait() // the reader blocks on block 5, acks 3 and 4 pending

		sc.readAcks()
		if w := sc.writes(); w != `["1 2" "3 4"]` {
			t.Fatalf("ack writes while the reader blocks on block 5: %s, want [\"1 2\" \"3 4\"]", w)
		}
		go sc.srv.Write(fifth[5:])
		sc.next("5")
		if w := sc.writes(); w != `["1 2" "3 4" "5"]` {
			t.Errorf("ack writes: %s, want [\"1 2\" \"3 4\" \"5\"]", w)
		}
	})
}

// ackScript is a push connection to an Events subscription whose server
// end a test scripts, with a consumer that takes one event per next call.
type ackScript struct {
	t    *testing.T
	srv  net.Conn
	take chan struct{}
	got  chan string

	mu   sync.Mutex
	acks []string // the ids of each write of acks, once readAcks runs
}

// newAckScript subscribes, answers the handshake and starts the consumer;
// the test's end closes all.
func newAckScript(t *testing.T) *ackScript {
	d := pipeDialer{make(chan net.Conn)}
	cfg := stream.Config{Addr: "push.invalid:3200", Username: "u", MonitorID: 1, Plaintext: true, Dialer: d}
	sub, err := stream.Subscribe(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := &ackScript{t: t, take: make(chan struct{}), got: make(chan string)}
	done := make(chan struct{})
	go func() {
		for ev := range sub.Events() {
			select {
			case <-sc.take:
				sc.got <- ev.Topic
			case <-done:
				return
			}
		}
	}()
	sc.srv = <-d.conns
	t.Cleanup(func() {
		sc.srv.Close()
		close(done)
		sub.Close()
	})
	acceptLogin(t, sc.srv)
	return sc
}

// next lets the consumer take one event, which must be block want's.
func (sc *ackScript) next(want string) {
	sc.t.Helper()
	sc.take <- struct{}{}
	if g := <-sc.got; g != "1/DataPoint/"+want {
		sc.t.Fatalf("got %q, want block %s", g, want)
	}
}

// readAcks starts reading the acks the client writes; each Read returns
// what one Write of the client wrote (net.Pipe), so writes are told apart.
func (sc *ackScript) readAcks() {
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := sc.srv.Read(buf)
			if err != nil {
				return
			}
			var ids []string
			for a := buf[:n]; len(a) >= 10; a = a[10:] {
				ids = append(ids, fmt.Sprint(binary.BigEndian.Uint16(a[6:])))
			}
			sc.mu.Lock()
			sc.acks = append(sc.acks, strings.Join(ids, " "))
			sc.mu.Unlock()
		}
	}()
}

// writes returns, once all is blocked, the ack writes read so far.
func (sc *ackScript) writes() string {
	synctest.Wait()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return fmt.Sprintf("%q", sc.acks)
}
