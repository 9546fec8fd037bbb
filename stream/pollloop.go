package stream

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/monitor"
)

// The Poller's goroutine: polls, pages, progress checks, delivery.

func (p *Poller) run(ctx context.Context, bo backoff.BackOff) {
	var final error
	defer func() {
		p.mu.Lock()
		p.err = final
		p.settleLocked()
		p.mu.Unlock()
		p.state.Store(int32(StateStopped))
		close(p.events)
		p.cancel()
		close(p.done)
	}()
	for {
		var ok bool
		if ok, final = p.poll(ctx, bo); !ok {
			return
		}
		p.setCursor("")
		p.state.Store(int32(StateConnected))
		if !sleep(ctx, p.cfg.Interval) {
			return
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pollRun is the state of one poll. Its sets hold 8-byte hashes, however
// long the server's cursors: cursors and pages grow by one a page that
// brought progress, up to maxPollPages, read by at most MaxSeen.
type pollRun struct {
	start   int64               // the window's oldest millisecond
	newest  int64               // the newest record time read: the time of a record without one
	cursors map[uint64]bool     // hashes of the cursors requested
	pages   map[uint64]bool     // fingerprints of the pages read
	read    map[uint64]struct{} // keys of the events this poll has read, up to readMax
	readMax int
	highest int64 // the newest record time read, as stamped (newest starts at start and stops at clock), noTime before the first: a record past it is new to the poll
	idle    int   // pages in a row that brought nothing new
	empty   int   // pages that held no event (keep-alive documents)
	now     int64 // the page's server time, noTime without one
	clock   int64 // now plus serverClockSlack, noTime without one
	ahead   bool  // a record stamped after clock was read (logged once a poll)
}

// serverClockSlack is how far after the server's clock (an answer's Date,
// to the second) a record's time may be and still move the window: the
// skew between the server's machines. A record stamped later (a clock
// gone wrong) is delivered, but the window moves only up to the clock (the
// Date itself, without the slack), so that it is not carried past the
// events stored after it.
const serverClockSlack = time.Minute

// maxIdlePages is how many pages in a row that deliver nothing and hold
// no event the poll had not read yet end it.
const maxIdlePages = 2

// maxPollPages bounds the fingerprints of pages and the hashes of cursors
// one poll remembers (about 80 bytes a page): beyond it they are forgotten,
// so that a poll of a million pages, each bringing an event, does not hold
// a million of each.
const maxPollPages = 1 << 12

// maxEmptyPages is how many pages that hold no event at all (elements
// that are keep-alive documents) one poll follows: no real history has
// any, but a run of them must neither stop the poller for good (each
// poll begins again where the last one began) nor go on without end.
const maxEmptyPages = 1000

// poll reads the history from the window's start to its end, or until the
// server stops making progress. It returns false, with the error that ends
// the poller (nil when ctx ended), when the poller must end.
func (p *Poller) poll(ctx context.Context, bo backoff.BackOff) (bool, error) {
	p.mu.Lock()
	cursor := p.pos.Cursor
	start := p.seen.floor
	if since := msOf(p.pos.Since); since != noTime {
		start = max(start, since-p.overlapMs())
	}
	p.mu.Unlock()
	r := pollRun{start: start, newest: start, cursors: map[uint64]bool{}, pages: map[uint64]bool{},
		read: map[uint64]struct{}{}, readMax: p.cfg.MaxSeen, highest: noTime}
	useCursor := true
	from := start              // start_time of the requests
	size := p.cfg.PageSize     // smaller after a page too large to read
	sizeCap := MaxPollPageSize // the largest page the client could read this poll
	for {
		q := monitor.HistoryQuery{Start: msTime(from), Cursor: cursor, Size: size}
		page, err := p.fetch(ctx, bo, &q)
		if q.Size < size {
			sizeCap = q.Size
		}
		size = q.Size
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			var refused *cursorRefused
			if !errors.As(err, &refused) {
				return false, err
			}
			// A refused cursor (a stale one from a saved position, or a
			// server that refuses them all): page by time for the rest of
			// this poll, from the newest record read.
			p.log(slog.LevelWarn, "history cursor refused; paging by time for the rest of this poll", "err", refused.err)
			useCursor, cursor = false, ""
			from = max(from, r.newest)
			p.setCursor("")
			continue
		}
		if cursor != "" {
			r.cursors[seenHash(cursor)] = true
		}
		r.now, r.clock = noTime, noTime
		if !page.ServerTime.IsZero() {
			r.now, r.clock = msOf(page.ServerTime), msOf(page.ServerTime.Add(serverClockSlack))
		}
		fp, fresh, ok := p.deliverPage(ctx, &r, page.Records)
		if !ok {
			return false, nil
		}
		if page.Cursor == "" || len(page.Records) == 0 && page.Items == 0 {
			return true, nil // the end of the history
		}
		// A page whose elements hold no event (keep-alive documents)
		// still moves on by its cursor: it has no events to compare with
		// other pages' or to find read already, so only the cursor check
		// and maxEmptyPages bound a run of them. Paging by time, it
		// cannot move the next request on: the poll ends.
		empty := fp == fnvOffset
		if !useCursor && !empty && len(page.Records) >= size && r.newest <= from && size < sizeCap {
			// Paging by time, a full page whose records all share the
			// requested millisecond: start_time cannot move past them, so
			// the same page would come again and end the poll, for good
			// (every poll would meet them). Ask for a larger page.
			size = min(2*size, sizeCap)
			continue
		}
		if empty {
			if !useCursor {
				return true, nil
			}
			r.empty++
		} else {
			r.idle++
			if fresh {
				r.idle = 0
			}
		}
		switch {
		case !empty && r.pages[fp] || useCursor && r.cursors[seenHash(page.Cursor)]:
			p.stats.stalls.Add(1)
			p.log(slog.LevelWarn, "history repeated a cursor or a page; polling again after the interval")
			return true, nil
		case r.idle >= maxIdlePages:
			// New cursors, new pages, but only events read already (the
			// same ones re-ordered, say): no end in sight.
			p.stats.stalls.Add(1)
			p.log(slog.LevelWarn, "history pages hold only events this poll has read; polling again after the interval")
			return true, nil
		case r.empty > maxEmptyPages:
			p.stats.stalls.Add(1)
			p.log(slog.LevelWarn, "history pages hold no events; polling again after the interval")
			return true, nil
		}
		if len(r.pages) >= maxPollPages || len(r.cursors) >= maxPollPages {
			// A long poll (a backlog, a server's small pages) forgets the
			// pages and cursors before these: a cycle of them brings
			// nothing new, and ends by the idle rule.
			clear(r.pages)
			clear(r.cursors)
		}
		r.pages[fp] = true
		if useCursor {
			cursor = page.Cursor
			p.setCursor(cursor)
		} else {
			if len(page.Records) < size {
				return true, nil
			}
			from = max(from, r.newest)
		}
	}
}

// maxCursorFailures is how many failed requests in a row (5xx, 429,
// network errors) with one cursor make the poll give that cursor up and
// page by time: a cursor the server cannot read may fail it with 500 on
// every request, and would otherwise stop the poller for good (a saved
// position keeps it).
const maxCursorFailures = 3

// cursorRefused is fetch's error for a cursor the poll must give up:
// refused (a 4xx answer other than 401, 403, 408 and 429: 400, or 404 or
// 410 for a cursor unknown or expired) or failed maxCursorFailures times
// in a row. fetch has waited what the server asked (Retry-After) or the
// backoff.
type cursorRefused struct{ err error }

func (e *cursorRefused) Error() string { return e.err.Error() }
func (e *cursorRefused) Unwrap() error { return e.err }

// refusesCursor reports whether err, the failure of a request with a
// cursor, is the server's refusal of the request itself: a 4xx answer but
// 401/403 (the account), 408 (a timeout) and 429 (throttling).
func refusesCursor(err error) bool {
	var ae *monitor.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch s := ae.StatusCode; s {
	case 401, 403, 408, 429:
		return false
	default:
		return s >= 400 && s < 500
	}
}

// fetch requests one page, retrying failures with backoff. An answer
// larger than the client reads (monitor.LimitBodySize: a page of large
// records) is asked for again at half the size, down to one record, at
// once; one whose list is longer than asked for (monitor.LimitItems: a
// server with a page size of its own) at DefaultPollPageSize; q.Size is
// then the size that was read. It returns the
// error that ends the poll: a permanent one, a *cursorRefused for a
// request with a cursor, the backoff's giving up, or ctx's.
func (p *Poller) fetch(ctx context.Context, bo backoff.BackOff, q *monitor.HistoryQuery) (*monitor.HistoryPage, error) {
	for fails := 1; ; fails++ {
		p.state.Store(int32(StateConnecting))
		p.stats.requests.Add(1)
		start := time.Now()
		page, err := p.cfg.Client.HistoryPage(ctx, p.cfg.MonitorID, *q)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil {
			bo.Reset()
			p.state.Store(int32(StateConnected))
			p.countPoll(start, len(page.Records), nil)
			return page, nil
		}
		p.countPoll(start, 0, err)
		var le *monitor.LimitError
		switch {
		case errors.As(err, &le) && le.Limit == monitor.LimitBodySize && q.Size > 1:
			q.Size /= 2
			p.log(slog.LevelWarn, "history page too large; asking for smaller pages for the rest of this poll", "err", err, "size", q.Size)
			fails--
			continue
		case errors.As(err, &le) && le.Limit == monitor.LimitItems && q.Size < DefaultPollPageSize:
			q.Size = DefaultPollPageSize
			p.log(slog.LevelWarn, "history page longer than asked for; asking for larger pages for the rest of this poll", "err", err, "size", q.Size)
			fails--
			continue
		}
		if q.Cursor != "" && refusesCursor(err) {
			if d := retryAfter(err); d > 0 {
				p.state.Store(int32(StateBackoff))
				if !sleep(ctx, d) {
					return nil, ctx.Err()
				}
			}
			return nil, &cursorRefused{err}
		}
		if permanentPollError(err) {
			p.log(slog.LevelError, "poller stopped", "err", err)
			return nil, err
		}
		d := bo.NextBackOff()
		if d == backoff.Stop {
			p.log(slog.LevelError, "poller gave up", "err", err)
			return nil, err
		}
		d = max(d, retryAfter(err))
		p.log(slog.LevelWarn, "history request failed; retrying", "err", err, "wait", d)
		p.state.Store(int32(StateBackoff))
		if !sleep(ctx, d) {
			return nil, ctx.Err()
		}
		if q.Cursor != "" && fails >= maxCursorFailures {
			return nil, &cursorRefused{err}
		}
	}
}

// maxPollRetryAfter is the longest a server's Retry-After makes the
// poller wait before its next request: a longer one (a day, a date years
// ahead, a clock gone wrong) would park the poller, unseen, for that long.
const maxPollRetryAfter = time.Hour

// retryAfter returns the server's Retry-After carried by err, at most
// maxPollRetryAfter; 0 for none.
func retryAfter(err error) time.Duration {
	var ae *monitor.APIError
	if errors.As(err, &ae) {
		return min(ae.RetryAfter, maxPollRetryAfter)
	}
	return 0
}

// permanentPollError reports REST errors that retrying cannot fix: the
// account refused (401/403), no such monitor (404), a request the server
// refuses (400), a redirect to another origin the client refused to follow
// (the base URL must change), an invalid id or client configuration.
func permanentPollError(err error) bool {
	return errors.Is(err, monitor.ErrUnauthorized) || errors.Is(err, monitor.ErrNotFound) ||
		errors.Is(err, monitor.ErrBadRequest) || errors.Is(err, monitor.ErrRedirectRefused) ||
		errors.Is(err, monitor.ErrInvalidID) || errors.Is(err, monitor.ErrInvalidConfig)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// deliverPage hands a page's new events over, in order. It returns the
// page's fingerprint (its events' keys, in order), whether the page
// brought something new (an event delivered, one this poll had not read,
// while it remembers fewer than readMax, or one stamped after every record
// the poll read before it), and false when ctx ended.
func (p *Poller) deliverPage(ctx context.Context, r *pollRun, recs []monitor.HistoryRecord) (fp uint64, fresh, ok bool) {
	fp = fnvOffset
	var evs []Event
	defer func() { clear(evs) }()
	for i := range recs {
		rec := &recs[i]
		evs = p.recordEvents(evs[:0], rec)
		for j := range evs {
			ev := &evs[j]
			// The record time: the event's timestamp, else the time the
			// server stored the record, else (history order) the newest
			// time read before it.
			t := ev.Timestamp
			if t.IsZero() {
				t = rec.Timestamp
			}
			ms := msOf(t)
			if ms == noTime {
				ms, t = r.newest, msTime(r.newest)
			}
			// An event at the reading front (no record this poll read
			// before it is newer) is listed in order, for the first time
			// unless this poll read it already: below the window's start it
			// is skipped, but not below a floor raised during this poll by
			// forgetting the oldest of more than MaxSeen events stamped
			// with its millisecond (the next polls begin past it).
			front := ms == noTime || ms >= r.newest
			at, atMs := t, ms // how far the record moves the window
			if r.clock != noTime && ms != noTime && ms > r.clock {
				at, atMs = msTime(r.now), r.now
				if !r.ahead {
					r.ahead = true
					p.log(slog.LevelWarn, "history record stamped after the server's clock; the window moves only up to the clock",
						"record_time", t, "server_time", msTime(r.now))
				}
			}
			r.newest = max(r.newest, atMs)
			h := seenHash(pollKey(rec, ev, ms))
			fp = (fp ^ h) * fnvPrime
			_, read := r.read[h]
			if !read && len(r.read) < r.readMax {
				r.read[h] = struct{}{}
				fresh = true
			}
			if ms != noTime && ms > r.highest {
				// Stamped after every record the poll read before it: not
				// one of them, though read may be too full to tell (a
				// server ignoring start_time lists more than MaxSeen
				// records below the window before the new ones). A page
				// of records re-ordered or repeated cannot pass the
				// newest of them.
				r.highest = ms
				fresh = true
			}
			if ms != noTime && (ms < r.start || ms < p.seen.floor && (!front || read)) {
				p.stats.outside.Add(1)
				continue
			}
			if p.seen.has(h) {
				p.countDuplicate()
				continue
			}
			if !p.send(ctx, *ev) {
				return fp, fresh, false
			}
			fresh = true
			if ev.Raw {
				p.stats.raw.Add(1)
			}
			if atMs != ms {
				p.stats.ahead.Add(1)
			}
			p.commit(h, ms, t, at)
		}
	}
	return fp, fresh, true
}

// pollKey names an event for the position: its Identity; for an invalid
// event without a topic (which has no identity either, and of which a
// record may hold several) its other fields at its record time; for a raw
// record (template output, which has no identity of its own) the server's
// record id, or without one its body at its record time.
func pollKey(rec *monitor.HistoryRecord, ev *Event, ms int64) string {
	if !ev.Raw {
		if id := ev.Identity(); id != "" {
			return id
		}
		var e string
		if ev.Err != nil {
			e = ev.Err.Error()
		}
		return "notopic\x00" + strconv.FormatInt(ms, 10) + "\x00" + strconv.Quote(ev.Operation) + "\x00" +
			strconv.Quote(ev.Resource) + "\x00" + strconv.Quote(e) + "\x00" + rawDigest(ev.Body)
	}
	if rec.ID != "" {
		return "rec\x00" + rec.ID
	}
	return "raw\x00" + strconv.FormatInt(ms, 10) + "\x00" + rawDigest(ev.Body)
}

// recordEvents turns one history record into the Events a push of it
// gives: for a Msg, the one Event its parsed fields make, through the
// conversion a push's Msgs go through (the record's Body is the resource's
// bytes as the server sent them, so the identity is a push's); for a
// stored document, its events, or one Raw event when it is not an
// envelope (template output).
func (p *Poller) recordEvents(dst []Event, rec *monitor.HistoryRecord) []Event {
	if rec.Document != nil {
		out, _ := splitOrRaw(dst, rec.Document, sniffFormat(rec.Document), p.cfg.MonitorID)
		return out
	}
	m := envelope.Event{Topic: rec.Topic, Resource: rec.Resource, Operation: rec.Operation, Timestamp: rec.Timestamp,
		Group: rec.Group, Replay: rec.Replay, Body: rec.Body, Err: rec.Err}
	return append(dst, fromEnvelope(&m, FormatJSON, p.cfg.MonitorID))
}
