package stream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"
)

// lingerTimeout bounds how long a graceful end waits, after its last acks
// and its half-close, for the server to close its side.
const lingerTimeout = time.Second

// errDraining ends a session that Shutdown stops.
var errDraining = errors.New("stream: shutting down")

// Shutdown ends the subscription gracefully, for a consumer that has
// finished: it stops reading and handing over, writes every ack queued so
// far (those of Batch.Ack calls included), half-closes the connection so
// that the server reads the acks before it sees the end, and waits until
// the server closes its side (at most a second). With a server that
// reads no acks, the whole may take twice Config.WriteTimeout and that
// second (an ack write already under way, then the last acks): bound it
// with ctx. Blocks read but not handed over are not acked, and are
// counted in Stats.Undelivered; a persistent monitor replays them. Then the subscription ends as with
// Close, and Shutdown returns Err.
//
// Without Shutdown, an ack that Batch.Ack queued just before Close (or a
// cancel) may never reach the server, which then replays its block on
// the next connection. If ctx ends first, Shutdown closes the connection
// at once, as Close does. Shutdown may be called from any goroutine, more
// than once, and together with Close.
func (s *subscription) Shutdown(ctx context.Context) error {
	s.drainOnce.Do(func() {
		s.draining.Store(true)
		close(s.drain)
		s.stopWork() // a split under way stops at its next check
	})
	if ss := s.cur.Load(); ss != nil {
		// Wakes a read that waits for the next frame; the reader checks
		// draining after each deadline it sets, so none is lost.
		ss.conn.SetReadDeadline(time.Now())
	} else {
		s.cancel() // not connected: no ack can be pending
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
	}
	return s.Err()
}

// drained reports whether Shutdown has begun. The reader calls it after
// every change of the read deadline.
func (s *subscription) drained() bool { return s.draining.Load() }

// drainAcks, at the end of a session that Shutdown stopped (closed, its
// flushers done), writes the acks queued so far and closes the connection
// gracefully: the write side first, then, once the server has closed its
// side or lingerTimeout has passed, the rest.
func (ss *session) drainAcks() {
	if err := ss.writeAcks(); err != nil {
		return
	}
	cw, ok := ss.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	// Read (and drop) what the server still sends until it closes: a
	// close with unread bytes would reset the connection, and the server
	// could lose the acks it has not read yet.
	ss.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	var buf [512]byte
	for {
		if _, err := ss.conn.Read(buf[:]); err != nil {
			if err != io.EOF {
				ss.sub.log(slog.LevelDebug, "push connection did not close within the linger time", "err", err)
			}
			return
		}
	}
}
