package streamtest

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// Hooks script a Server's behaviour on push connections, so that a test can
// make it misbehave in any way a real server or network might: refuse,
// ignore or garble a login, cut, stall or trickle a block at any byte,
// replay a block, lose acks, send arbitrary bytes. Install them with
// SetHooks. Every field is optional; a nil hook means normal behaviour.
//
// Hooks run synchronously on the connection's goroutines: OnConnect and
// OnAck on its reader, BeforeBlock on its sender. So a hook sees the
// connection's events in order, OnAck may run concurrently with
// BeforeBlock, and a hook that blocks holds up that side of its connection
// (which is allowed; return when the connection's Done channel closes).
// Hooks are called without any Server lock held: they may call Publish,
// Stats, DropConnections and the like, and the HookConn's methods, but not
// Close (which waits for the goroutine running the hook).
type Hooks struct {
	// OnConnect is called when a ConnectRequest has been read, before it
	// is answered; the returned action can override the answer.
	OnConnect func(ConnInfo) ConnectAction
	// BeforeBlock is called for every PublishMessage about to be written,
	// with its encoded frame; the returned action says how to write it.
	BeforeBlock func(BlockInfo) BlockAction
	// OnAck is called for every ack read after the handshake, before the
	// server applies it; the returned action can make the server ignore it
	// or close the connection.
	OnAck func(AckInfo) AckAction
}

// SetHooks installs h for the push connections of monitor id: those whose
// ConnectRequest names id. Hooks for id 0 apply to connections naming a
// monitor without hooks of its own (unknown ids included). The zero Hooks
// removes them. Connections look their hooks up at each call, so a change
// applies at once, also to open connections. SetHooks is safe for
// concurrent use.
func (s *Server) SetHooks(id uint32, h Hooks) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if h.OnConnect == nil && h.BeforeBlock == nil && h.OnAck == nil {
		delete(s.hooks.byMonitor, id)
		return
	}
	if s.hooks.byMonitor == nil {
		s.hooks.byMonitor = make(map[uint32]Hooks)
	}
	s.hooks.byMonitor[id] = h
}

// hookTable is the Server's installed hooks and connection counter.
type hookTable struct {
	mu        sync.Mutex
	byMonitor map[uint32]Hooks
	seq       atomic.Int64 // push connections served so far
}

func (s *Server) hooksFor(id uint32) Hooks {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if h, ok := s.hooks.byMonitor[id]; ok {
		return h
	}
	return s.hooks.byMonitor[0]
}

// HookConn is a hook's handle on the push connection it was called for.
// Its methods are safe for concurrent use and may be called after the hook
// returned, also after the connection closed (they then do nothing or
// fail).
type HookConn struct{ pc *pushConn }

// Seq numbers the Server's push connections from 0 in the order they were
// served (accepted or given to ServeConn).
func (h *HookConn) Seq() int { return h.pc.seq }

// Remote is the client's address as the connection reports it.
func (h *HookConn) Remote() string { return h.pc.remote }

// WriteRaw writes b on the connection as it is, between the frames the
// server sends (never inside one). Use it to send garbage, a ConnectResponse
// of your own, or a hand-made frame.
func (h *HookConn) WriteRaw(b []byte) error {
	h.pc.wmu.Lock()
	defer h.pc.wmu.Unlock()
	_, err := h.pc.conn.Write(b)
	return err
}

// Close closes the connection as the client's going away would: a
// persistent monitor takes back the events of its un-acked blocks.
func (h *HookConn) Close() { h.pc.shutdown(false) }

// Reset is Close with a TCP reset instead of a FIN when the connection is
// a TCP connection (over net.Pipe it is the same as Close).
func (h *HookConn) Reset() { h.pc.shutdown(true) }

// Done is closed when the connection has been shut down.
func (h *HookConn) Done() <-chan struct{} { return h.pc.done }

// ConnInfo describes a connection whose ConnectRequest was just read.
type ConnInfo struct {
	Conn      *HookConn
	Username  string // as sent; the password is never shown to hooks
	MonitorID uint32 // as sent
	Version   uint16 // protocol version as sent
}

// ConnectAction is what OnConnect wants done with a ConnectRequest. The
// zero value answers as the server would.
type ConnectAction struct {
	// Status, when neither 0 nor 200, refuses the connection with that
	// status (then closes it), whatever the server would have answered.
	Status protocol.Status
	// Raw, when not nil, is written instead of any ConnectResponse, and
	// the monitor never sees the connection. It is then closed if Close or
	// Reset is set, and otherwise kept open (as with Hang).
	Raw []byte
	// Hang answers nothing and keeps the connection open, reading and
	// discarding what the client sends, until the client closes it or the
	// server is closed. The server's own handshake timeout does not apply.
	Hang bool
	// Close closes the connection (after Raw, if any) without answering;
	// Reset does so with a TCP reset where possible.
	Close, Reset bool
}

// takesOver reports whether the action replaces the normal handshake.
func (a ConnectAction) takesOver() bool { return a.Raw != nil || a.Hang || a.Close || a.Reset }

// BlockInfo describes a block about to be written.
type BlockInfo struct {
	Conn        *HookConn
	MonitorID   uint32
	ConnIndex   int    // the monitor's connection number, as in AckRecord
	Seq         int    // blocks written (or attempted) on this connection before this one
	DataBlockID uint16 // as in the frame
	Replay      bool   // the block holds replayed events
	Explicit    bool   // the block waits for an ack (explicit-ack monitor)
	// Events are the block's events as published (normalised: topic
	// without the customer prefix, timestamp filled in). Read-only.
	Events []Event
	// Frame is the encoded PublishMessage: the 6-byte header, the 10-byte
	// sub-header, then the payload (compressed for zlib monitors).
	// Read-only, and valid only during the call.
	Frame      []byte
	Compressed bool
}

// BlockVerb says how a block's frame is written.
type BlockVerb int

const (
	// BlockSend writes the frame (the default).
	BlockSend BlockVerb = iota
	// BlockCut writes the first At bytes of the frame, then closes the
	// connection. At = len(Frame) writes the whole block, then closes
	// before any ack can arrive.
	BlockCut
	// BlockReset is BlockCut with a TCP reset where possible.
	BlockReset
	// BlockStall writes the first At bytes, then nothing more on this
	// connection: the sender waits until the client closes the connection
	// (acks are still read) or the server is closed.
	BlockStall
	// BlockTrickle writes the frame Piece bytes at a time, waiting Every
	// before each piece.
	BlockTrickle
)

// BlockAction is what BeforeBlock wants done with a block. The zero value
// sends it normally.
type BlockAction struct {
	Verb BlockVerb
	// At is the number of bytes written before a cut or a stall
	// (clamped to the frame's length).
	At int
	// Piece and Every shape a trickle (Piece ≤ 0 means 1 byte).
	Piece int
	Every time.Duration
	// Raw, when not nil, is written instead of the frame; the block counts
	// as sent as usual (and, for an explicit-ack monitor, waits for an ack
	// naming its DataBlockId).
	Raw []byte
	// Replay sends the block's events again after this block, in a new
	// block with a new DataBlockId and replay=true, as a server replaying
	// on the same connection would; this block stays outstanding too.
	Replay bool
}

// AckInfo describes an ack just read.
type AckInfo struct {
	Conn        *HookConn
	MonitorID   uint32
	ConnIndex   int
	DataBlockID uint16
	Status      protocol.Status
	// Outstanding reports whether the ack names a block sent on this
	// connection and not yet acked; Events are that block's events
	// (read-only), nil if it names none.
	Outstanding bool
	Events      []Event
}

// AckAction is what OnAck wants done with an ack. The zero value applies
// it normally.
type AckAction struct {
	// Ignore drops the ack silently, as if it had been lost: the block
	// stays outstanding and the ack is not recorded.
	Ignore bool
	// Close closes the connection after the ack was applied or ignored;
	// Reset does so with a TCP reset where possible.
	Close, Reset bool
}

// onConnect runs the OnConnect hook, if any.
func (pc *pushConn) onConnect(req protocol.ConnectRequest) ConnectAction {
	h := pc.s.hooksFor(req.MonitorID)
	if h.OnConnect == nil {
		return ConnectAction{}
	}
	return h.OnConnect(ConnInfo{
		Conn:      &HookConn{pc},
		Username:  string(req.Username),
		MonitorID: req.MonitorID,
		Version:   req.Version,
	})
}

// takeOver carries out a ConnectAction that replaces the handshake.
func (pc *pushConn) takeOver(a ConnectAction) {
	if a.Raw != nil {
		if err := (&HookConn{pc}).WriteRaw(a.Raw); err != nil {
			return
		}
	}
	if a.Close || a.Reset {
		pc.shutdown(a.Reset)
		return
	}
	_ = pc.conn.SetDeadline(time.Time{})
	var buf [512]byte
	for {
		if _, err := pc.conn.Read(buf[:]); err != nil {
			return
		}
	}
}

// writeBlock writes block b's frame as the BeforeBlock hook directs. A nil
// error means the block was written in full; after, if not nil, is a close
// the hook asked for, to run once the outcome has been recorded.
func (pc *pushConn) writeBlock(m *monitor, b *block, p sendParams, frame []byte) (after func(), err error) {
	h := pc.s.hooksFor(m.id)
	if h.BeforeBlock == nil {
		pc.wmu.Lock()
		_, err = pc.conn.Write(frame)
		pc.wmu.Unlock()
		return nil, err
	}
	info := BlockInfo{
		Conn:        &HookConn{pc},
		MonitorID:   m.id,
		ConnIndex:   pc.index,
		Seq:         pc.blocksTried,
		DataBlockID: b.id,
		Replay:      b.replay,
		Explicit:    b.explicit,
		Events:      make([]Event, len(p.items)),
		Frame:       frame,
		Compressed:  p.zlib,
	}
	pc.blocksTried++
	for i := range p.items {
		info.Events[i] = p.items[i].ev.ev
	}
	a := h.BeforeBlock(info)
	if a.Raw != nil {
		frame = a.Raw
	}
	at := min(max(a.At, 0), len(frame))
	write := func(b []byte) error {
		if len(b) == 0 {
			return nil // a zero-length write on a net.Pipe would wait for a reader
		}
		pc.wmu.Lock()
		defer pc.wmu.Unlock()
		_, err := pc.conn.Write(b)
		return err
	}
	if a.Replay {
		defer m.requeue(p.items)
	}
	switch a.Verb {
	case BlockCut, BlockReset:
		if err := write(frame[:at]); err != nil {
			return nil, err
		}
		abort := a.Verb == BlockReset
		if at < len(frame) {
			pc.shutdown(abort)
			return nil, net.ErrClosed
		}
		return func() { pc.shutdown(abort) }, nil
	case BlockStall:
		if err := write(frame[:at]); err != nil {
			return nil, err
		}
		<-pc.done
		return nil, net.ErrClosed
	case BlockTrickle:
		piece := max(a.Piece, 1)
		t := time.NewTimer(a.Every)
		defer t.Stop()
		for len(frame) > 0 {
			select {
			case <-t.C:
			case <-pc.done:
				return nil, net.ErrClosed
			}
			n := min(piece, len(frame))
			if err := write(frame[:n]); err != nil {
				return nil, err
			}
			frame = frame[n:]
			t.Reset(a.Every)
		}
		return nil, nil
	}
	return nil, write(frame)
}

// requeue puts copies of items, marked replay, at the front of m's queue.
func (m *monitor) requeue(items []qitem) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleted {
		return
	}
	again := make([]qitem, len(items))
	for i, it := range items {
		it.replay = true
		again[i] = it
	}
	m.queue.PushFront(again)
	m.notify()
	m.broadcast()
}

// onAck runs the OnAck hook, if any, and reports whether the ack is to be
// applied; after is a close to run once it has been.
func (pc *pushConn) onAck(m *monitor, a protocol.Ack) (apply bool, after func()) {
	h := pc.s.hooksFor(m.id)
	if h.OnAck == nil {
		return true, nil
	}
	info := AckInfo{Conn: &HookConn{pc}, MonitorID: m.id, DataBlockID: a.DataBlockID, Status: a.Status}
	m.mu.Lock()
	info.ConnIndex = pc.index
	if b := pc.sent[a.DataBlockID]; b != nil && !pc.detached {
		info.Outstanding = true
		for _, it := range b.items {
			info.Events = append(info.Events, it.ev.ev)
		}
	}
	m.mu.Unlock()
	act := h.OnAck(info)
	if act.Close || act.Reset {
		after = func() { pc.shutdown(act.Reset) }
	}
	return !act.Ignore, after
}
