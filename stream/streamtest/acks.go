package streamtest

import (
	"errors"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Acks on a push connection: the reader loop that reads them after the
// handshake, their accounting against the blocks they name, and the
// reports of the acks a Server refuses, each naming the fix: they go to
// Options.Warnf (or Logf), so that whoever runs a client against the
// simulator learns why its blocks are not acked without reading the
// protocol reference.

// readLoop reads acks from pc, after its handshake, until the connection
// ends or the client sends anything else (a protocol error).
func (pc *pushConn) readLoop(m *monitor) {
	s := pc.s
	for {
		before := pc.cr.n - int64(pc.rd.Buffered())
		f, err := pc.rd.ReadFrame()
		if err != nil {
			if !isClosedErr(err) {
				m.mu.Lock()
				m.stats.ProtocolErrors++
				m.mu.Unlock()
				s.logf("streamtest: push %s: monitor %d: closing: %v", pc.remote, m.id, err)
				pc.warnRefusedAckFrame(m.id, err)
			}
			return
		}
		legacy := pc.cr.n-int64(pc.rd.Buffered())-before == 6
		if f.Type != protocol.TypePublishMessageReceived {
			m.mu.Lock()
			m.stats.ProtocolErrors++
			m.mu.Unlock()
			s.logf("streamtest: push %s: monitor %d: unexpected %v after the handshake; closing", pc.remote, m.id, f.Type)
			return
		}
		a, err := protocol.ParseAck(f.Payload)
		if err != nil { // cannot happen: the reader checked the size
			s.logf("streamtest: push %s: %v", pc.remote, err)
			return
		}
		apply, after := pc.onAck(m, a) // hooks.go
		if apply {
			m.ack(pc, a, legacy)
		}
		if after != nil {
			after()
		}
	}
}

// ack applies one ack received on pc.
func (m *monitor) ack(pc *pushConn, a protocol.Ack, legacy bool) {
	m.mu.Lock()
	if pc.detached {
		// The connection was dropped or replaced (and its blocks returned
		// or discarded) an instant ago; it is closing. What it still
		// delivers is ignored, as if the close had come first.
		m.mu.Unlock()
		return
	}
	rec := AckRecord{
		ConnIndex:   pc.index,
		DataBlockID: a.DataBlockID,
		Status:      uint16(a.Status),
		Legacy:      legacy,
		At:          time.Now().UTC(),
	}
	if legacy {
		m.stats.LegacyAcks++
	}
	b := pc.sent[a.DataBlockID]
	switch {
	case b == nil:
		m.stats.BadAcks++
	case a.Status != protocol.StatusOK:
		rec.Outstanding, rec.Events = true, b.n
		m.stats.BadAcks++
	default:
		rec.Outstanding, rec.Events = true, b.n
		delete(pc.sent, a.DataBlockID)
		m.stats.BlocksAcked++
		m.stats.EventsAcked += b.n
		if b.items != nil {
			b.items = nil
			pc.holding -= b.n
			if b.explicit {
				pc.unackedBlocks--
			}
			pc.trimOrder()
		}
		m.notify()
		m.broadcast()
	}
	m.recordAckLocked(rec)
	warn := (b == nil || a.Status != protocol.StatusOK) && !pc.warnedBadAck
	pc.warnedBadAck = pc.warnedBadAck || warn
	m.mu.Unlock()
	if warn {
		pc.warnBadAck(m.id, a, b != nil)
	}
}

// trimOrder drops delivered blocks from the front of pc.order.
func (pc *pushConn) trimOrder() {
	i := 0
	for i < len(pc.order) && pc.order[i].items == nil {
		pc.order[i] = nil
		i++
	}
	if i > 0 {
		pc.order = pc.order[i:]
		if len(pc.order) == 0 {
			pc.order = nil
		}
	}
}

// documentedAck describes the ack the protocol documents.
const documentedAck = "the documented 10-byte ack is 00 04 00 00 00 04, the DataBlockId (2 bytes), 00 c8 (status 200)"

// warnRefusedAckFrame reports err, which ended pc's reader, when it is an
// ack frame the reader refused.
func (pc *pushConn) warnRefusedAckFrame(id uint32, err error) {
	var fe *protocol.FrameError
	if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessageReceived || !errors.Is(err, protocol.ErrSizeMismatch) {
		return
	}
	if fe.Size&0xFFFF == uint32(protocol.StatusOK) {
		pc.s.warnf("streamtest: push %s: monitor %d: refused a 6-byte ack (00 04, DataBlockId, 00 c8: the old Python clients' form) and closed the connection; "+
			"fix: accept it with Options.AcceptLegacyAck (the simulator command does unless -strict-ack), or make the client send %s",
			pc.remote, id, documentedAck)
		return
	}
	pc.s.warnf("streamtest: push %s: monitor %d: refused an ack whose Size field is %d, not 4, and closed the connection; fix: %s",
		pc.remote, id, fe.Size, documentedAck)
}

// warnBadAck reports an ack that names no outstanding block (outstanding
// false) or carries a status other than 200. It is counted in
// Stats.BadAcks and reported once per connection.
func (pc *pushConn) warnBadAck(id uint32, a protocol.Ack, outstanding bool) {
	if a.Status != protocol.StatusOK {
		pc.s.warnf("streamtest: push %s: monitor %d: ignored an ack of block %d with status %d (further bad acks on this connection are only counted in Stats.BadAcks); "+
			"fix: the only documented status is 200: %s", pc.remote, id, a.DataBlockID, uint16(a.Status), documentedAck)
		return
	}
	pc.s.warnf("streamtest: push %s: monitor %d: ignored an ack of block %d, which names no block sent on this connection and not yet acked "+
		"(further bad acks on this connection are only counted in Stats.BadAcks); fix: ack each PublishMessage once, with its own DataBlockId",
		pc.remote, id, a.DataBlockID)
}
