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
// far (those of Batch.Ack calls included, and, with Subscribe, those of
// the blocks whose every event the consumer has received, even while the
// reader waits to hand over a later block), half-closes the connection
// so that the server reads the acks before it sees the end, and waits
// until the server closes its side (at most a second), reading and
// dropping what it still sends, so that the connection is not reset
// with unread bytes (a server may drop a reset connection before it has
// read the acks). With a server that reads no acks, the whole may take
// twice Config.WriteTimeout and that second (an ack write already under
// way, then the last acks): bound it with ctx. Blocks read but not handed
// over (with Subscribe, a block of which the consumer has not received
// every event) are not acked, and their events not handed over are
// counted in Stats.Undelivered; a persistent monitor replays them. Then
// the subscription ends as with Close, and Shutdown returns Err.
//
// Without Shutdown, an ack that Batch.Ack queued just before Close (or a
// cancel) may never reach the server, which then replays its block on
// the next connection. If ctx ends first, Shutdown closes the connection
// at once, as Close does; so it does over a connection whose read
// deadline cannot be set (a Dialer's tunnel), whose waiting read it could
// not wake.
//
// Shutdown may be called from any goroutine, more than once, and together
// with Close. The first call begins the graceful end; every call waits
// for the subscription to end (each within its own ctx: a call whose ctx
// ends first closes the connection at once, for all of them).
func (s *subscription) Shutdown(ctx context.Context) error {
	s.drainOnce.Do(s.beginDrain)
	select {
	case <-s.done:
	case <-ctx.Done():
		s.cancel()
		<-s.done
	}
	return s.Err()
}

// beginDrain begins Shutdown's graceful end, once: the reader stops at
// its next check of drained, a hand-off waiting for the consumer is
// abandoned, a split under way stops, and a read waiting for the next
// frame is woken by a read deadline in the past. The reader checks
// drained after each deadline it sets, so no wake-up is lost.
//
// The wake-up must not outlive its purpose: a reader that has already
// found drained, or left a hand-off, may be in drainAcks, waiting for the
// server's close under a deadline of its own, which a late wake-up would
// cut short (the connection would then be closed with the server's
// unread bytes, a reset over TCP). So drainAcks waits for woken, closed
// once the wake-up is done, and there is only one, here: a later call of
// Shutdown only waits.
func (s *subscription) beginDrain() {
	s.draining.Store(true)
	close(s.drain)
	s.stopWork() // a split under way stops at its next check
	if ss := s.cur.Load(); ss == nil {
		s.cancel() // not connected: no ack can be pending
	} else if ss.conn.SetReadDeadline(time.Now()) != nil {
		// A connection without deadlines (a tunnel a Dialer made): the
		// read cannot be woken, so the session ends at once, as with
		// Close; pending acks are lost, and their blocks replayed.
		s.cancel()
	}
	close(s.woken)
}

// drained reports whether Shutdown has begun. The reader calls it after
// every change of the read deadline.
func (s *subscription) drained() bool { return s.draining.Load() }

// drainAcks, at the end of a session that Shutdown stopped (closed, its
// flushers done), writes the acks queued so far and closes the connection
// gracefully: the write side first, then, once the server has closed its
// side or lingerTimeout has passed, the rest. It waits for Shutdown's
// wake-up of the reader first, so that it cannot end the wait for the
// server's close (see beginDrain).
func (ss *session) drainAcks() {
	<-ss.sub.woken
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
