package stream

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
)

// TestFrameTimeoutCountsFromTheFramesFirstByte: after a block and a quiet
// spell shorter or much longer than FrameTimeout, a frame that starts and
// stalls is timed out FrameTimeout after its first byte: neither earlier
// (by a deadline left from the previous frame) nor never; and the quiet
// spell itself is no timeout.
func TestFrameTimeoutCountsFromTheFramesFirstByte(t *testing.T) {
	for _, quiet := range []time.Duration{3 * time.Second, 50 * time.Second} {
		t.Run(quiet.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var stalledAt, redialAt time.Time
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc := newFakeConn(t, c)
					if _, ok := fc.login(protocol.StatusOK); !ok {
						return
					}
					if i > 1 {
						redialAt = time.Now()
						c.Read(make([]byte, 1))
						return
					}
					go fc.readAcks()
					fc.block(jsonDoc(jsonMsg("1/X/1", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false)), 1, protocol.FormatJSON, false)
					time.Sleep(quiet)
					frame, _ := protocol.AppendPublishMessage(nil, protocol.PublishMessage{DataBlockID: 1,
						Payload: []byte(jsonDoc(jsonMsg("1/X/2", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false))), Format: protocol.FormatJSON})
					c.Write(frame[:len(frame)/2])
					stalledAt = time.Now()
					<-fc.done // until the client closes
				}}
				cfg := testConfig(d)
				cfg.FrameTimeout = 5 * time.Second
				cfg.NewBackOff = func() backoff.BackOff { return constantBackOff(0) }
				sub, _ := Subscribe(t.Context(), cfg)
				<-sub.Events()
				for d.dials.Load() < 2 {
					time.Sleep(time.Millisecond)
				}
				synctest.Wait()
				if got := redialAt.Sub(stalledAt); got < 5*time.Second || got > 5*time.Second+100*time.Millisecond {
					t.Errorf("stalled frame timed out %v after its first byte, want 5s", got)
				}
				sub.Close()
				d.wg.Wait()
			})
		})
	}
}
