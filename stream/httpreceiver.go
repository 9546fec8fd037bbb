package stream

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pushmon/pushmon/secret"
)

// The HTTP push receiver: its type, its construction and life, its
// counters. Its configuration is in httpconfig.go; a request's admission
// in httpadmit.go, its steps in httpserve.go, its body in httpbody.go and
// the hand-off of its events in httphandoff.go.

// HTTPReceiver is the receiving end of an http monitor
// (monTransportType=http): an [http.Handler] to mount at the monitor's
// monTransportUrl, delivering the pushed events on Events() — the same
// [Event] values a TCP [Subscription] delivers.
//
// For each request it checks the Basic-auth token and the custom headers
// (401 otherwise, nothing delivered), accepts PUT and POST (405
// otherwise), admits at most MaxConcurrent requests at once (503 with
// Retry-After beyond, the body unread), reads at most MaxBodySize bytes
// (413) within BodyTimeout (408), waits for its turn (one request at a time goes on), inflates zlib
// bodies (Content-Encoding deflate or zlib, or a valid zlib header) and
// gzip bodies (by their magic bytes), answers 415 to another
// Content-Encoding, reads JSON or XML documents with Msg as an object or
// an array under the parsing budgets (nesting depth 64; 64 events plus one per 16 bytes;
// for XML, 64 attributes per element and the guard's other budgets), and answers 200
// only after every event of the body was received by the consumer. An
// empty body or an empty/null Document is a keep-alive: 200. A body that
// is neither well-formed JSON nor XML is answered 400 and nothing is
// delivered; one over a budget, 413 (logged with the *LimitError); a
// well-formed document that is not a Document/Msg envelope (a handlebars
// template's output) is delivered as one Raw event. An invalid Msg in an
// envelope is delivered with Event.Err set, the others as they are
// (counted in Invalid and logged). While the receiver is stopped, or when
// the consumer does not take the events within HandoffTimeout, requests
// are answered 503: the server keeps the block and retries it later. So
// is a request whose context ends before its events were handed over (a
// client that half-closed, a middleware's or the server's BaseContext's
// cancellation): it is never left without an answer, which net/http would
// send as 200.
// Events handed over before a failure are redelivered by that retry and
// dropped by dedup (see HTTPConfig.DedupWindow).
//
// Delivery is therefore at-least-once at the HTTP level and, with dedup,
// each event reaches the consumer once unless its redelivery comes after
// DedupWindow newer events. Events of one request are delivered in order
// and never interleaved with those of another.
//
// All methods are safe for concurrent use. The receiver owns the Events
// channel and closes it once, when its context ends or Close is called,
// after every request being served has returned. The zero value is not
// usable: create one with [NewHTTPReceiver] (or [Group.Receive]).
type HTTPReceiver struct {
	cfg      HTTPConfig
	auth     bool          // check Basic authorization
	user     secret.String // the Token's user name (part of the token)
	pass     secret.String // the Token's password
	headers  []header      // the Headers to check
	events   chan Event    // where events are sent: own, or a Group's channel
	own      chan Event    // the channel Events returns, closed at the end
	done     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	slots    chan struct{} // one per request being served, at most MaxConcurrent
	turn     chan struct{} // one request inflates, splits and hands over at a time
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	dedup    *dedup
	docs     *dedup // hashes of recently received documents, to tell a retry
	stats    httpCounters
	obs      observer        // HTTPConfig.Observer, told where stats count (count.go)
	logCtx   context.Context // NewHTTPReceiver's context without its cancellation
	refusals refusalLog      // how often refusals are logged, per status
}

// NewHTTPReceiver validates cfg and returns a receiver whose life is bound
// to ctx: when ctx ends (or Close is called) it answers 503 to new
// requests, abandons the hand-off of requests in progress (503), and
// closes Events. A missing Token (without AllowUnauthenticated), a token
// without ':' or without a password, a malformed header or one without a
// value, or a negative limit returns an error matching ErrInvalidConfig.
func NewHTTPReceiver(ctx context.Context, cfg HTTPConfig) (*HTTPReceiver, error) {
	return newHTTPReceiver(ctx, cfg, nil)
}

// newHTTPReceiver is NewHTTPReceiver sending events on out, when not nil,
// instead of the receiver's own channel (a Group member).
func newHTTPReceiver(ctx context.Context, cfg HTTPConfig, out chan Event) (*HTTPReceiver, error) {
	r := &HTTPReceiver{cfg: cfg, own: make(chan Event), done: make(chan struct{}), turn: make(chan struct{}, 1),
		obs: newObserver(cfg.Observer, cfg.MonitorID, "http"), logCtx: context.WithoutCancel(ctx)}
	r.events = r.own
	if out != nil {
		r.events = out
	}
	if err := r.configure(); err != nil {
		return nil, err
	}
	r.slots = make(chan struct{}, r.cfg.MaxConcurrent)
	r.dedup = newDedup(r.cfg.DedupWindow)
	r.docs = newDedup(r.cfg.DedupWindow)
	if cfg.Token.IsZero() {
		r.log(r.logCtx, slog.LevelWarn, "http receiver accepts unauthenticated pushes (AllowUnauthenticated, no Token): anyone who finds its URL can inject events",
			"headers_checked", len(r.headers))
	}
	r.ctx, r.cancel = context.WithCancel(ctx)
	go r.run()
	return r, nil
}

func (r *HTTPReceiver) run() {
	<-r.ctx.Done()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.inflight.Wait()
	held := r.refusals.held()
	for _, status := range slices.Sorted(maps.Keys(held)) {
		r.log(r.logCtx, slog.LevelWarn, "push refusals not logged before the receiver stopped", "status", status, "not_logged_since", held[status])
	}
	close(r.own)
	close(r.done)
}

// Events returns the channel of events. It is closed when the receiver
// ends. A receiver made by [Group.Receive] sends its events on the group's
// channel instead; its own carries nothing.
func (r *HTTPReceiver) Events() <-chan Event { return r.own }

// delivered is the number of events handed over, for a Group's status.
func (r *HTTPReceiver) delivered() uint64 { return r.stats.events.Load() }

// Err is always nil: a receiver has no permanent errors of its own (bad
// requests are answered and counted, never fatal).
func (r *HTTPReceiver) Err() error { return nil }

// Done returns a channel closed when the receiver has ended and Events is
// closed.
func (r *HTTPReceiver) Done() <-chan struct{} { return r.done }

// Close stops the receiver: new requests get 503, requests waiting for
// their turn or the consumer get 503, requests still reading their bodies
// are cut short and get 503 (through the connection's read deadline, which
// net/http's server supports), and Events is closed once they have
// returned.
// Close waits for that and returns nil; it may be called any number of
// times.
func (r *HTTPReceiver) Close() error {
	r.cancel()
	<-r.done
	return nil
}

// State is StateConnected while the receiver accepts pushes and
// StateStopped after it ended.
func (r *HTTPReceiver) State() State {
	select {
	case <-r.ctx.Done():
		return StateStopped
	default:
		return StateConnected
	}
}

// HTTPStats are an HTTPReceiver's counters.
type HTTPStats struct {
	Requests     uint64 // requests received
	Delivered    uint64 // requests answered 200 after handing over their events
	KeepAlives   uint64 // requests answered 200 with no events (empty or null Document)
	Events       uint64 // events handed to the consumer
	Duplicates   uint64 // redelivered events dropped by dedup
	Raw          uint64 // documents received raw (template output), counted when split: also those of a request answered 503 (each retry again)
	Invalid      uint64 // events with Event.Err set, counted when split as Raw is (in Events too once handed over)
	Unauthorized uint64 // 401: wrong or missing token or header
	Rejected     uint64 // other 4xx: method, size, malformed document, a document over a parsing budget
	OverBudget   uint64 // of Rejected: documents over a parsing budget, answered 413
	Unavailable  uint64 // 503: receiver stopped, too many requests at once, consumer not taking events, or the request ended first
	Busy         uint64 // of Unavailable: refused because MaxConcurrent requests were being served
	Undelivered  uint64 // events split but not handed over because the request or the receiver ended
}

type httpCounters struct {
	requests, delivered, keepAlives, events, duplicates, raw, invalid, unauthorized, rejected, overBudget, unavailable, busy, undelivered atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (r *HTTPReceiver) Stats() HTTPStats {
	c := &r.stats
	return HTTPStats{
		Requests: c.requests.Load(), Delivered: c.delivered.Load(), KeepAlives: c.keepAlives.Load(),
		Events: c.events.Load(), Duplicates: c.duplicates.Load(), Raw: c.raw.Load(), Invalid: c.invalid.Load(),
		Unauthorized: c.unauthorized.Load(), Rejected: c.rejected.Load(), OverBudget: c.overBudget.Load(),
		Unavailable: c.unavailable.Load(), Busy: c.busy.Load(), Undelivered: c.undelivered.Load(),
	}
}

// String describes the receiver without secrets; a nil receiver is
// "<nil>".
func (r *HTTPReceiver) String() string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("stream.HTTPReceiver{monitor %d, %s}", r.cfg.MonitorID, r.State())
}

// log logs with ctx: a request's, or the receiver's own.
func (r *HTTPReceiver) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if l := r.cfg.Logger; l != nil {
		l.Log(context.WithoutCancel(ctx), level, msg, append([]any{"monitor_id", r.cfg.MonitorID}, args...)...)
	}
}

var (
	_ Source        = (*HTTPReceiver)(nil)
	_ stateReporter = (*HTTPReceiver)(nil)
	_ http.Handler  = (*HTTPReceiver)(nil)
)
