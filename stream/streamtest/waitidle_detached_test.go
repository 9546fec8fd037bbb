package streamtest

import (
	"encoding/binary"
	"net"
	"testing"
	"testing/synctest"

	"github.com/pushmon/pushmon/protocol"
)

// heldConn holds every write of a PublishMessage, once it has written,
// until release is closed: a block whose bytes the client has read (and
// acked) but whose write has not returned yet.
type heldConn struct {
	net.Conn
	release chan struct{}
}

func (c *heldConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if len(p) >= 2 && protocol.Type(binary.BigEndian.Uint16(p)) == protocol.TypePublishMessage {
		<-c.release
	}
	return n, err
}

// TestWaitIdleWaitsForWriteOnClosedConnection: a write may return after
// the client's ack, and after the client has closed the connection. Until
// it has, the block's BlocksSent is not counted, so WaitIdle must not
// return: Stats after WaitIdle would count an acked block never sent.
func TestWaitIdleWaitsForWriteOnClosedConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, AckExplicit: true, Persistent: true})
		a, b := net.Pipe()
		hc := &heldConn{Conn: a, release: make(chan struct{})}
		s.ServeConn(hc)
		rc := newRawClient(t, b)
		rc.mustConnect(id)
		s.Publish(dp("dev1", "temp", 1))
		blk := rc.mustBlock()
		rc.ack(blk.ID)
		synctest.Wait()
		rc.Close()
		synctest.Wait()

		idle := make(chan error, 1)
		go func() { idle <- s.WaitIdle(t.Context(), id) }()
		synctest.Wait()
		select {
		case err := <-idle:
			st := s.Stats(id)
			t.Errorf("WaitIdle returned (%v) while the block was being written: %+v", err, st)
		default:
		}
		close(hc.release)
		synctest.Wait()
		if st := s.Stats(id); st.BlocksSent != 1 || st.BlocksAcked != 1 {
			t.Errorf("stats after the write returned: %+v", st)
		}
		if err := <-idle; err != nil {
			t.Fatal(err)
		}
	})
}
