package stream

import (
	"context"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// The set-up the ack-rule tests share (ackfault*, ackwrite_timeout,
// trailing_zlib): a server that accepts the login and writes a script of
// frames, a subscription in each mode, and a consumer.

// allModes are the three ways a subscription hands blocks over.
var allModes = []mode{modeEvents, modeBatches, modeManualAck}

// forModes runs f in every mode, each in a subtest named prefix+mode, and
// there runs times in a fresh synctest bubble (the goroutines' order
// varies from run to run).
func forModes(t *testing.T, prefix string, runs int, f func(t *testing.T, m mode)) {
	t.Helper()
	for _, m := range allModes {
		t.Run(prefix+m.String(), func(t *testing.T) {
			for range runs {
				synctest.Test(t, func(t *testing.T) { f(t, m) })
			}
		})
	}
}

// ackScript is the script most ack-rule tests send: block, a PublishMessage
// (DataBlockId 1) of n events, and partial, block followed by the first 3
// bytes of the next frame (a read of its rest then blocks).
type ackScript struct {
	n       int
	block   []byte
	partial []byte
}

func newAckScript() ackScript {
	doc, n := dpDoc("a", "b")
	block := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	next := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	return ackScript{n: n, block: block, partial: append(append([]byte(nil), block...), next[:3]...)}
}

// scriptDialer is a pipeDialer whose server accepts the login, calls
// loggedIn (when set), writes script and sends the time on sent. Then,
// with readAcks, it reads acks (from the login on) into acked until the
// client closes; with hold, it keeps the connection open, reading
// nothing, until finish; otherwise it closes the connection. The test's
// end calls finish too, whatever ended the test; read acked after it. The
// client's end of each pipe is wrapped by wrap, when set.
type scriptDialer struct {
	pipeDialer
	t        testing.TB
	script   []byte
	hold     bool
	readAcks bool
	loggedIn func()
	wrap     func(net.Conn) net.Conn
	sent     chan time.Time
	release  chan struct{}
	once     sync.Once
	acked    []uint16
}

func newScriptDialer(t testing.TB, script []byte, hold bool) *scriptDialer {
	d := &scriptDialer{t: t, script: script, hold: hold, sent: make(chan time.Time, 1), release: make(chan struct{})}
	d.serve = d.serveScript
	t.Cleanup(d.finish)
	return d
}

func (d *scriptDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.pipeDialer.DialContext(ctx, network, addr)
	if err != nil || d.wrap == nil {
		return c, err
	}
	return d.wrap(c), nil
}

func (d *scriptDialer) serveScript(_ int, c net.Conn) {
	fc := newFakeConn(d.t, c)
	if _, ok := fc.login(protocol.StatusOK); !ok {
		return
	}
	if d.readAcks {
		go fc.readAcks()
		defer func() {
			c.Close()
			for id := range fc.acks {
				d.acked = append(d.acked, id)
			}
		}()
	}
	if d.loggedIn != nil {
		d.loggedIn()
	}
	if _, err := c.Write(d.script); err != nil {
		return
	}
	select {
	case d.sent <- time.Now():
	default: // a later connection's
	}
	if d.readAcks {
		<-fc.done // the client closed
	} else if d.hold {
		<-d.release
	}
}

// finish lets a held connection end and waits for the server.
func (d *scriptDialer) finish() {
	d.once.Do(func() { close(d.release) })
	d.wg.Wait()
}

// mustSubscribe starts a subscription of cfg in mode m (subscribeMode)
// with the test's context, failing t if it cannot.
func mustSubscribe(t *testing.T, cfg Config, m mode) testSub {
	t.Helper()
	sub, err := subscribeMode(t.Context(), cfg, m)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// consume receives what sub hands over until its channel closes, acking
// every Batch, and returns the number of events.
func consume(sub testSub, m mode) int {
	events := 0
	if m == modeEvents {
		for range sub.Events() {
			events++
		}
		return events
	}
	for b := range sub.Batches() {
		events += len(b.Events())
		b.Ack()
	}
	return events
}

// consumeInBackground runs consume in a goroutine, which sends its count
// on the channel returned.
func consumeInBackground(sub testSub, m mode) <-chan int {
	n := make(chan int, 1)
	go func() { n <- consume(sub, m) }()
	return n
}

// takeMode receives k events at least from sub, acking every Batch, and
// returns them; it fails t if sub's channel closes before.
func takeMode(t *testing.T, sub testSub, m mode, k int) []Event {
	t.Helper()
	var evs []Event
	for len(evs) < k {
		if m == modeEvents {
			ev, ok := <-sub.Events()
			if !ok {
				t.Fatalf("the subscription ended (%v) after %d events, want %d", sub.Err(), len(evs), k)
			}
			evs = append(evs, ev)
			continue
		}
		b, ok := <-sub.Batches()
		if !ok {
			t.Fatalf("the subscription ended (%v) after %d events, want %d", sub.Err(), len(evs), k)
		}
		evs = append(evs, b.Events()...)
		b.Ack()
	}
	return evs
}

// endsWithin waits for sub to end, failing t (with what happened before,
// after) if it still runs limit later on the bubble's clock.
func endsWithin(t *testing.T, sub testSub, limit time.Duration, after string) {
	t.Helper()
	select {
	case <-sub.Done():
	case <-time.After(limit):
		t.Fatalf("the session still runs %v after %s (state %v)", limit, after, sub.State())
	}
}
