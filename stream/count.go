package stream

import (
	"net/http"
	"time"
)

// Counting: each counter of Stats, HTTPStats and PollStats that has an
// Observer method is incremented here, and the Observer told in the same
// call, so that the two never disagree. The callers hold no lock.

// Subscription.

// countConnect counts a connection that got its ConnectResponse 200 and
// reports whether it was the subscription's first.
func (s *subscription) countConnect() (first bool) {
	first = s.stats.connects.Add(1) == 1
	if s.obs.o != nil {
		s.obs.o.Connected(ConnectInfo{Origin: s.obs.origin, Addr: s.cfg.addr(), Reconnect: !first})
	}
	return first
}

// countDisconnect reports the end of a connection that started at start
// and received blocks, with the session's error.
func (s *subscription) countDisconnect(start time.Time, blocks uint64, err error) {
	if s.obs.o == nil {
		return
	}
	if s.work.Err() != nil {
		err = nil // ended by the context, Close or Shutdown
	}
	s.obs.o.Disconnected(DisconnectInfo{Origin: s.obs.origin, Addr: s.cfg.addr(), Err: err,
		Uptime: time.Since(start), Blocks: blocks})
}

// countBlock counts a PublishMessage read, of payload bytes.
func (s *subscription) countBlock(payload int) {
	s.stats.blocks.Add(1)
	if s.obs.o != nil {
		s.obs.o.BlockReceived(BlockInfo{Origin: s.obs.origin, Bytes: payload})
	}
}

// countUndelivered counts events received and never handed over.
func (s *subscription) countUndelivered(n int) {
	if n > 0 {
		s.stats.undelivered.Add(uint64(n))
		s.obs.undelivered(n)
	}
}

// countBadBlock counts a block acked and skipped because of err.
func (s *subscription) countBadBlock(err error) {
	s.stats.badBlocks.Add(1)
	s.obs.badBlock(err)
}

// countTrailing counts a block whose zlib stream was followed by more
// bytes.
func (s *subscription) countTrailing() { s.stats.trailing.Add(1) }

// countInvalid counts n invalid events delivered flagged, first's the
// first error.
func (s *subscription) countInvalid(n int, first error) {
	if n > 0 {
		s.stats.invalid.Add(uint64(n))
		s.obs.invalid(n, first)
	}
}

// countHandOver counts the outcome of handing a block's events over one by
// one (Subscribe): dups dropped, the last lost not handed over, the rest
// delivered.
func (s *subscription) countHandOver(events []Event, dups, lost int) {
	s.stats.add(len(events), dups, lost)
	s.obs.delivered(len(events)-dups-lost, events[:len(events)-lost])
	s.obs.duplicates(dups)
	s.obs.undelivered(lost)
}

// countSplit counts a Batch's events kept and its replays dropped, when
// Batch.Events first splits it.
func (s *subscription) countSplit(kept []Event, dups int) {
	s.stats.events.Add(uint64(len(kept)))
	if dups > 0 {
		s.stats.duplicates.Add(uint64(dups))
	}
	s.obs.delivered(len(kept), kept)
	s.obs.duplicates(dups)
}

// countAcks counts n acks written.
func (s *subscription) countAcks(n int) {
	if n > 0 {
		s.stats.acks.Add(uint64(n))
		if s.obs.o != nil {
			s.obs.o.Acked(CountInfo{Origin: s.obs.origin, N: n})
		}
	}
}

// HTTPReceiver.

// countHandOver counts the outcome of handing a push's events over.
func (r *HTTPReceiver) countHandOver(events []Event, dups, lost int) {
	r.stats.events.Add(uint64(len(events) - dups - lost))
	r.stats.duplicates.Add(uint64(dups))
	r.stats.undelivered.Add(uint64(lost))
	r.obs.delivered(len(events)-dups-lost, events[:len(events)-lost])
	r.obs.duplicates(dups)
	r.obs.undelivered(lost)
}

// countOverBudget counts a push refused because its document exceeds a
// parsing budget (err).
func (r *HTTPReceiver) countOverBudget(err error) {
	r.stats.overBudget.Add(1)
	r.obs.badBlock(err)
}

// countInvalid counts n invalid events delivered flagged.
func (r *HTTPReceiver) countInvalid(n int, first error) {
	if n > 0 {
		r.stats.invalid.Add(uint64(n))
		r.obs.invalid(n, first)
	}
}

// Reasons of the 200 answers.
const (
	reasonDelivered = "delivered"
	reasonKeepAlive = "keep-alive"
)

// countAnswer counts a push answered status for reason.
func (r *HTTPReceiver) countAnswer(status int, reason string) {
	c := &r.stats
	switch {
	case status == http.StatusOK && reason == reasonKeepAlive:
		c.keepAlives.Add(1)
	case status == http.StatusOK:
		c.delivered.Add(1)
	case status == http.StatusUnauthorized:
		c.unauthorized.Add(1)
	case status == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
	default:
		c.rejected.Add(1)
	}
	if r.obs.o != nil {
		r.obs.o.Answered(AnswerInfo{Origin: r.obs.origin, Status: status, Reason: reason})
	}
}

// Poller.

// countDelivered counts an event handed over, of record time t.
func (p *Poller) countDelivered(t time.Time) {
	p.stats.events.Add(1)
	if p.obs.o != nil {
		info := DeliveryInfo{Origin: p.obs.origin, Events: 1, Newest: t}
		if !t.IsZero() {
			info.Lag = time.Since(t)
		}
		p.obs.o.Delivered(info)
	}
}

// countDuplicate counts a record skipped as already delivered.
func (p *Poller) countDuplicate() {
	p.stats.duplicates.Add(1)
	p.obs.duplicates(1)
}

// countPoll counts a history request that started at start and returned
// records, or failed with err.
func (p *Poller) countPoll(start time.Time, records int, err error) {
	if err == nil {
		p.stats.pages.Add(1)
	} else {
		p.stats.failures.Add(1)
	}
	if p.obs.o != nil {
		p.obs.o.Polled(PollInfo{Origin: p.obs.origin, Err: err, Records: records, Took: time.Since(start)})
	}
}
