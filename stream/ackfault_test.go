package stream

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
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
	sc := newAckScript()
	for _, tc := range []struct {
		name   string
		script []byte
		hold   bool // the server keeps the connection open, reading nothing
		want   func(error) bool
	}{
		{"closed/partial", sc.partial, false, func(err error) bool { return errors.Is(err, protocol.ErrTruncated) }},
		{"closed/whole", sc.block, false, func(err error) bool {
			return errors.Is(err, io.EOF) && strings.HasPrefix(err.Error(), "stream: server closed")
		}},
		{"silent/partial", sc.partial, true, writeTimedOut},
		{"silent/whole", sc.block, true, writeTimedOut},
	} {
		forModes(t, tc.name+"/", 1, func(t *testing.T, m mode) {
			d := newScriptDialer(t, tc.script, tc.hold)
			cfg := leanConfig(d)
			cfg.WriteTimeout, cfg.FrameTimeout = 5*time.Second, time.Minute
			sub := mustSubscribe(t, cfg, m)
			events := consume(sub, m)
			took := time.Since(<-d.sent)
			d.finish()
			if events != sc.n {
				t.Errorf("%d events delivered, want %d", events, sc.n)
			}
			if err := sub.Err(); !tc.want(err) {
				t.Errorf("ended with %v", err)
			}
			if tc.hold && took != cfg.WriteTimeout {
				t.Errorf("ended %v after the server's last byte, want WriteTimeout (%v)", took, cfg.WriteTimeout)
			}
		})
	}
}

func writeTimedOut(err error) bool {
	return errors.Is(err, ErrWriteTimeout) && errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, ErrFrameTimeout)
}
