package stream

import (
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestAckWriteToAServerThatReadsNothing: a server that logs in, sends a
// block and then never reads again blocks the client's ack write (net.Pipe
// has no buffer). The write is given up WriteTimeout after it began, with
// an error matching ErrWriteTimeout that names the limit, in every mode.
func TestAckWriteToAServerThatReadsNothing(t *testing.T) {
	for _, m := range []mode{modeEvents, modeBatches, modeManualAck} {
		t.Run(m.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sent := make(chan time.Time, 1)
				d := &pipeDialer{serve: func(i int, c net.Conn) {
					fc := newFakeConn(t, c)
					if _, ok := fc.login(protocol.StatusOK); !ok {
						return
					}
					fc.block(jsonDoc(jsonMsg("1/X/1", "UPDATE", "2012-04-17T14:14:07Z", "X", "{}", false)), 1, protocol.FormatJSON, false)
					sent <- time.Now()
					time.Sleep(time.Hour) // never reads again
				}}
				cfg := testConfig(d)
				cfg.WriteTimeout = 7 * time.Second
				cfg.NewBackOff = func() backoffBackOff { return stopBackOff{} }
				sub, err := subscribeMode(t.Context(), cfg, m)
				if err != nil {
					t.Fatal(err)
				}
				switch m {
				case modeEvents:
					<-sub.Events()
				case modeBatches:
					<-sub.Batches()
				case modeManualAck:
					b := <-sub.Batches()
					b.Ack()
				}
				waitDone(t, sub)
				err = sub.Err()
				if got := time.Since(<-sent); got < cfg.WriteTimeout || got > cfg.WriteTimeout+time.Second {
					t.Errorf("ended %v after the block, want about WriteTimeout (%v)", got, cfg.WriteTimeout)
				}
				if !errors.Is(err, ErrWriteTimeout) || !strings.Contains(err.Error(), cfg.WriteTimeout.String()) {
					t.Errorf("err %v: want ErrWriteTimeout naming %v", err, cfg.WriteTimeout)
				}
				sub.Close()
				d.wg.Wait()
			})
		})
	}
}
