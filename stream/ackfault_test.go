package stream

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestAckFaultReason pins which error ends a session whose ack write
// failed (see ackFault), in each mode, whoever wrote the acks:
//
//   - the server closed (after its last byte): the write failed because of
//     that close, and the reader's finding is the reason, whether the
//     bytes end inside a frame (truncated) or between frames (the close);
//   - the server is there but reads no acks: the write times out after
//     WriteTimeout and interrupts the reader, whose read, of the rest of a
//     frame or of the next one (without a deadline), has nothing else to
//     report: the write's error is the reason, at WriteTimeout, not at
//     FrameTimeout, nor never.
func TestAckFaultReason(t *testing.T) {
	doc, n := dpDoc("a", "b")
	block := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	next := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	partial := append(append([]byte(nil), block...), next[:3]...)
	for _, tc := range []struct {
		name   string
		script []byte
		hold   bool // the server keeps the connection open, reading nothing
		want   func(error) bool
	}{
		{"closed/partial", partial, false, func(err error) bool { return errors.Is(err, protocol.ErrTruncated) }},
		{"closed/whole", block, false, func(err error) bool {
			return errors.Is(err, io.EOF) && strings.HasPrefix(err.Error(), "stream: server closed")
		}},
		{"silent/partial", partial, true, writeTimedOut},
		{"silent/whole", block, true, writeTimedOut},
	} {
		for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
			t.Run(tc.name+"/"+m.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					release := make(chan struct{})
					sent := make(chan time.Time, 1)
					d := &pipeDialer{serve: func(_ int, c net.Conn) {
						leanServer(tc.script, false)(0, c)
						sent <- time.Now()
						if tc.hold {
							<-release
						}
					}}
					cfg := leanConfig(d)
					cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, time.Minute
					sub, err := subscribeMode(t.Context(), cfg, m)
					if err != nil {
						t.Fatal(err)
					}
					events := 0
					if m == modeEvents {
						for range sub.Events() {
							events++
						}
					} else {
						for b := range sub.Batches() {
							events += len(b.Events())
							if m == modeManualAck {
								b.Ack()
							}
						}
					}
					took := time.Since(<-sent)
					close(release)
					d.wg.Wait()
					if events != n {
						t.Errorf("%d events delivered, want %d", events, n)
					}
					if err := sub.Err(); !tc.want(err) {
						t.Errorf("ended with %v", err)
					}
					if tc.hold && took != cfg.WriteTimeout {
						t.Errorf("ended %v after the server's last byte, want WriteTimeout (%v)", took, cfg.WriteTimeout)
					}
				})
			})
		}
	}
}

func writeTimedOut(err error) bool {
	return errors.Is(err, ErrWriteTimeout) && errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, ErrFrameTimeout)
}
