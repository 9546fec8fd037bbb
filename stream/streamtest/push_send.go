package streamtest

import (
	"bytes"
	"compress/zlib"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// The sender of a push connection: which block goes next (batch size and
// duration, the in-flight limit, replays apart from new events), its
// encoding (JSON or XML, a template, zlib) and its accounting once written.

// sendParams is what the sender needs to encode one block, captured
// under the monitor's lock: the sender must not read block.items, which
// an ack or a detach may clear while the block is being written.
type sendParams struct {
	xml, zlib bool
	items     []qitem
	tmpl      *template // handlebars template, nil for none; template.go
}

// nextBlock decides what the sender does next: send a block (b != nil),
// wait for a wake-up or for wait to pass (b == nil; wait 0 = no timer), or
// stop (ok false).
func (m *monitor) nextBlock(pc *pushConn, now time.Time) (b *block, p sendParams, wait time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pc.detached || m.deleted {
		return nil, p, 0, false
	}
	if m.queue.Len() == 0 {
		return nil, p, 0, true
	}
	spec := &m.spec
	if spec.AckExplicit {
		limit := m.s.opts.InFlight
		if limit <= 0 || limit > 0xFFFF {
			limit = 0xFFFF // the id space: more could not be told apart
		}
		if pc.unackedBlocks >= limit {
			return nil, p, 0, true
		}
		if old := pc.sent[pc.nextID]; old != nil && old.items != nil {
			return nil, p, 0, true // the id is still out after a full wrap
		}
	}
	front := m.queue.Front()
	replay := front.replay
	if !replay && spec.BatchDuration > 0 && m.queue.Len() < spec.BatchSize {
		if due := front.at.Add(spec.BatchDuration); now.Before(due) {
			return nil, p, due.Sub(now), true
		}
	}
	n := min(m.queue.Len(), spec.BatchSize)
	items := make([]qitem, 0, n)
	for len(items) < n && m.queue.Len() > 0 && m.queue.Front().replay == replay {
		items = append(items, m.queue.PopFront())
	}
	b = &block{id: pc.nextID, n: len(items), items: items, explicit: spec.AckExplicit, replay: replay}
	pc.nextID++
	pc.sent[b.id] = b
	pc.order = append(pc.order, b)
	pc.holding += b.n
	m.writing++
	if b.explicit {
		pc.unackedBlocks++
	}
	p = sendParams{xml: spec.Format == "xml", zlib: spec.Compression != "none", items: items, tmpl: m.templateLocked()}
	return b, p, 0, true
}

// wrote records the outcome of writing b.
func (m *monitor) wrote(pc *pushConn, b *block, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writing--
	if ok {
		m.stats.BlocksSent++
		m.stats.EventsSent += b.n
		if b.replay {
			m.stats.Replayed += b.n
		}
		m.lastSent = time.Now().UTC()
	}
	if pc.detached || !ok {
		if m.writing == 0 {
			m.broadcast() // WaitIdle waits for the last write
		}
		return // detach has returned or dropped the events
	}
	if !b.explicit && b.items != nil {
		b.items = nil // delivered once written
		pc.holding -= b.n
		pc.trimOrder()
	}
	m.broadcast()
}

// sendLoop is pc's sender goroutine: it writes m's blocks until pc is
// detached or shut down, m is deleted, or a write fails.
func (pc *pushConn) sendLoop(m *monitor) {
	var (
		timer *time.Timer
		doc   []byte
		frame []byte
		zbuf  bytes.Buffer
		zw    *zlib.Writer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		b, p, wait, ok := m.nextBlock(pc, time.Now())
		if !ok {
			return
		}
		if b == nil {
			var tc <-chan time.Time
			if wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				tc = timer.C
			}
			select {
			case <-pc.wake:
			case <-tc:
			case <-pc.done:
				return
			}
			continue
		}
		doc = m.blockDocument(doc, p.xml, p.items, p.tmpl) // the template's output, if any
		msg := protocol.PublishMessage{
			DataBlockID: b.id,
			Count:       uint16(b.n),
			Compression: protocol.CompressionNone,
			Format:      protocol.FormatJSON,
			Payload:     doc,
		}
		if p.xml {
			msg.Format = protocol.FormatXML
		}
		if p.zlib {
			zbuf.Reset()
			if zw == nil {
				zw = zlib.NewWriter(&zbuf)
			} else {
				zw.Reset(&zbuf)
			}
			_, _ = zw.Write(doc) // writes to a bytes.Buffer cannot fail
			_ = zw.Close()
			msg.Compression = protocol.CompressionZlib
			msg.Payload = zbuf.Bytes()
		}
		var err error
		var after func()
		frame, err = protocol.AppendPublishMessage(frame[:0], msg)
		if err == nil {
			after, err = pc.writeBlock(m, b, p, frame) // hooks.go
		}
		m.wrote(pc, b, err == nil)
		if after != nil {
			after()
		}
		if err != nil {
			if !isClosedErr(err) {
				pc.s.logf("streamtest: push %s: monitor %d: write: %v", pc.remote, m.id, err)
			}
			return
		}
		if cap(frame) > 4<<20 && len(frame) < 64<<10 {
			frame, doc = nil, nil // do not pin a huge buffer after one large block
		}
	}
}
