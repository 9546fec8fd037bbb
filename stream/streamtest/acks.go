package streamtest

import (
	"errors"

	"github.com/pushmon/pushmon/protocol"
)

// Reports of the acks a Server refuses, each naming the fix: they go to
// Options.Warnf (or Logf), so that whoever runs a client against the
// simulator learns why its blocks are not acked without reading the
// protocol reference.

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
