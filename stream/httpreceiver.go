package stream

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushmon/pushmon/internal/envelope"
	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

// DefaultMaxBodySize caps an HTTP push body as received (before inflating).
const DefaultMaxBodySize = 16 << 20

// DefaultMaxConcurrent is how many requests an HTTPReceiver serves at
// once when HTTPConfig.MaxConcurrent is 0. Remote Manager pushes one batch
// at a time per monitor and retries a refused one later.
const DefaultMaxConcurrent = 4

// HTTPConfig describes an [HTTPReceiver]: the http monitor's delivery
// settings as the receiver must check them. NewHTTPReceiver copies it.
//
// Token and Headers are [secret.String]s: an HTTPConfig, or a struct
// holding one, prints them redacted in every fmt verb, in JSON and in slog.
type HTTPConfig struct {
	// MonitorID is put on every Event (the push itself does not say which
	// monitor sent it).
	MonitorID uint32
	// Token is the monitor's monTransportToken, "user:password" (the
	// password not empty): every request must carry it as HTTP Basic
	// authorization, else it is answered 401 and nothing is delivered. It
	// is required unless AllowUnauthenticated is set.
	Token secret.String
	// AllowUnauthenticated accepts requests without a Token (only Headers,
	// if any, are checked): anyone who finds the URL can then inject
	// events. NewHTTPReceiver logs a warning when it is set without a
	// Token. Use it only behind a gateway that authenticates the pushes.
	AllowUnauthenticated bool
	// Headers are the monitor's monTransportHeaders, "Name: value" each,
	// the value not empty; every request must carry each of them with that
	// value (else 401).
	Headers []secret.String
	// MaxBodySize caps a request body (0: DefaultMaxBodySize, 16 MiB);
	// larger bodies are answered 413.
	MaxBodySize int64
	// MaxDecompressed caps an inflated body (0: 64 MiB); beyond it, 413.
	MaxDecompressed int
	// MaxConcurrent bounds the requests served at once (0:
	// DefaultMaxConcurrent, 4). A request beyond it is answered 503 with
	// Retry-After before its body is read. Of the requests admitted, one
	// at a time inflates, splits and hands over its document; the others
	// hold only their bodies as received. Memory is therefore bounded by
	// about MaxConcurrent × MaxBodySize plus one inflated document and its
	// events.
	MaxConcurrent int
	// DedupWindow is how many recent event identities (and as many
	// document hashes) are remembered to drop redelivered duplicates. 0
	// means 100 000; negative disables dedup. The checked events are
	// those flagged replay, and every event of a request whose document
	// equals a recently received one: the server retrying a push that
	// failed, possibly after part of it was handed over. An event that is
	// checked is dropped when its identity (see Event.Identity) is in the
	// window; no other event is ever dropped, and raw documents (template
	// output) never are: two equal renderings are two events.
	DedupWindow int
	// HandoffTimeout bounds how long a request whose body was read waits
	// for its turn and for the consumer to take its events before it is
	// answered 503 (so the server retries later). 0 means as long as the
	// request lasts; set it below the monitor's response timeout (5 s by
	// default) to answer before the server gives up.
	HandoffTimeout time.Duration
	// Logger receives request-level logs (never event data, never
	// credentials), with the request's context (its values, such as a
	// trace span), or for the receiver's own logs the context given to
	// NewHTTPReceiver. nil means no logging.
	Logger *slog.Logger
	// Observer is told of answers, events and problems as they happen, for
	// metrics (see Observer). nil means none.
	Observer Observer
}

// LogValue summarises the HTTPConfig for slog (secrets redacted).
func (c HTTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("monitor_id", uint64(c.MonitorID)), slog.Any("token", c.Token),
		slog.Int("headers", len(c.Headers)))
}

// HTTPStats are an HTTPReceiver's counters.
type HTTPStats struct {
	Requests     uint64 // requests received
	Delivered    uint64 // requests answered 200 after handing over their events
	KeepAlives   uint64 // requests answered 200 with no events (empty or null Document)
	Events       uint64 // events handed to the consumer
	Duplicates   uint64 // redelivered events dropped by dedup
	Raw          uint64 // documents delivered raw (template output)
	Invalid      uint64 // events delivered with Event.Err set (also counted in Events)
	Unauthorized uint64 // 401: wrong or missing token or header
	Rejected     uint64 // other 4xx: method, size, malformed document, a document over a parsing budget
	OverBudget   uint64 // of Rejected: documents over a parsing budget, answered 413
	Unavailable  uint64 // 503: receiver stopped, too many requests at once, or consumer not taking events
	Busy         uint64 // of Unavailable: refused because MaxConcurrent requests were being served
	Undelivered  uint64 // events split but not handed over because the request or the receiver ended
}

// header is a header every request must carry, its value a secret.
type header struct {
	name  string
	value secret.String
}

type httpCounters struct {
	requests, delivered, keepAlives, events, duplicates, raw, invalid, unauthorized, rejected, overBudget, unavailable, busy, undelivered atomic.Uint64
}

// HTTPReceiver is the receiving end of an http monitor
// (monTransportType=http): an [http.Handler] to mount at the monitor's
// monTransportUrl, delivering the pushed events on Events() — the same
// [Event] values a TCP [Subscription] delivers.
//
// For each request it checks the Basic-auth token and the custom headers
// (401 otherwise, nothing delivered), accepts PUT and POST (405
// otherwise), admits at most MaxConcurrent requests at once (503 with
// Retry-After beyond, the body unread), reads at most MaxBodySize bytes
// (413), waits for its turn (one request at a time goes on), inflates zlib
// bodies (Content-Encoding deflate or zlib, or a valid zlib header) and
// gzip bodies (by their magic bytes), answers 415 to another
// Content-Encoding, reads JSON or XML documents with Msg as an object or
// an array under the parsing budgets (nesting depth 64; for XML, 64
// attributes per element and the guard's other budgets), and answers 200
// only after every event of the body was received by the consumer. An
// empty body or an empty/null Document is a keep-alive: 200. A body that
// is neither well-formed JSON nor XML is answered 400 and nothing is
// delivered; one over a budget, 413 (logged with the *LimitError); a
// well-formed document that is not a Document/Msg envelope (a handlebars
// template's output) is delivered as one Raw event. An invalid Msg in an
// envelope is delivered with Event.Err set, the others as they are
// (counted in Invalid and logged). While the receiver is stopped, or when
// the consumer does not take the events within HandoffTimeout, requests
// are answered 503: the server keeps the block and retries it later.
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
// after every request being served has returned.
type HTTPReceiver struct {
	cfg      HTTPConfig
	auth     bool          // check Basic authorization
	user     string        // the Token's user name
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

// configure validates r.cfg (as NewHTTPReceiver documents), reads its
// token and headers into the forms the requests are checked against, and
// fills in the defaults of its limits.
func (r *HTTPReceiver) configure() error {
	bad := invalidConfig
	switch {
	case !r.cfg.Token.IsZero():
		u, p, ok := strings.Cut(r.cfg.Token.Reveal(), ":")
		if !ok {
			return bad(`Token must be "user:password"`)
		}
		if p == "" {
			// "user:" is what "user:"+os.Getenv(…) gives when the variable
			// is unset: a token anyone can send.
			return bad(`Token must be "user:password" with a password`)
		}
		r.auth, r.user, r.pass = true, u, secret.New(p)
	case !r.cfg.AllowUnauthenticated:
		return bad("Token is required (the monitor's monTransportToken); set AllowUnauthenticated to accept pushes from anyone")
	}
	for i, h := range r.cfg.Headers {
		name, value, ok := strings.Cut(h.Reveal(), ":")
		if name = strings.TrimSpace(name); !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return bad(`Headers[%d] must be "Name: value"`, i)
		}
		if value = strings.TrimSpace(value); value == "" {
			// A request without the header carries it empty: the check
			// would pass for anyone.
			return bad(`Headers[%d] has no value: a request without the header would pass`, i)
		}
		r.headers = append(r.headers, header{http.CanonicalHeaderKey(name), secret.New(value)})
	}
	if r.cfg.MaxBodySize < 0 || r.cfg.MaxDecompressed < 0 || r.cfg.MaxConcurrent < 0 || r.cfg.HandoffTimeout < 0 {
		return bad("sizes, limits and timeouts must not be negative")
	}
	if r.cfg.MaxConcurrent == 0 {
		r.cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if r.cfg.MaxBodySize == 0 {
		r.cfg.MaxBodySize = DefaultMaxBodySize
	}
	if r.cfg.MaxDecompressed == 0 {
		r.cfg.MaxDecompressed = protocol.DefaultMaxDecompressed
	}
	return nil
}

func (r *HTTPReceiver) run() {
	<-r.ctx.Done()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.inflight.Wait()
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

// String describes the receiver without secrets.
func (r *HTTPReceiver) String() string {
	return fmt.Sprintf("stream.HTTPReceiver{monitor %d, %s}", r.cfg.MonitorID, r.State())
}

// log logs with ctx: a request's, or the receiver's own.
func (r *HTTPReceiver) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if l := r.cfg.Logger; l != nil {
		l.Log(context.WithoutCancel(ctx), level, msg, append([]any{"monitor_id", r.cfg.MonitorID}, args...)...)
	}
}

// fail answers a refused request.
func (r *HTTPReceiver) fail(w http.ResponseWriter, req *http.Request, status int, msg string) {
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="pushmon"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "60")
	}
	r.countAnswer(status, msg)
	r.log(req.Context(), slog.LevelWarn, "push refused", "status", status, "reason", msg)
	http.Error(w, msg, status)
}

// admit decides, before a byte of req's body is read, whether req is
// served: its credentials and custom headers must be right, its method PUT
// or POST, its declared length within MaxBodySize, and one of the
// MaxConcurrent slots free. It answers a refused request itself; an
// admitted one holds a slot, which the caller must give back (<-r.slots).
func (r *HTTPReceiver) admit(w http.ResponseWriter, req *http.Request) bool {
	if !r.authorized(req) {
		r.fail(w, req, http.StatusUnauthorized, "unauthorized")
		return false
	}
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		w.Header().Set("Allow", "PUT, POST")
		r.fail(w, req, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	if req.ContentLength > r.cfg.MaxBodySize {
		r.fail(w, req, http.StatusRequestEntityTooLarge, "body too large")
		return false
	}
	// A free slot, else 503. Connection: close keeps net/http from
	// reading the unread body to reuse the connection.
	select {
	case r.slots <- struct{}{}:
		return true
	default:
		r.stats.busy.Add(1)
		w.Header().Set("Connection", "close")
		r.fail(w, req, http.StatusServiceUnavailable, "too many requests at once")
		return false
	}
}

// authorized checks the Basic-auth token and the custom headers in
// constant time per value.
func (r *HTTPReceiver) authorized(req *http.Request) bool {
	ok := true
	if r.auth {
		u, p, has := req.BasicAuth()
		userOK := subtle.ConstantTimeCompare([]byte(u), []byte(r.user)) == 1
		passOK := subtle.ConstantTimeCompare([]byte(p), []byte(r.pass.Reveal())) == 1
		ok = has && userOK && passOK
	}
	for _, h := range r.headers {
		if subtle.ConstantTimeCompare([]byte(req.Header.Get(h.name)), []byte(h.value.Reveal())) != 1 {
			ok = false
		}
	}
	return ok
}

// ServeHTTP receives one push. See [HTTPReceiver] for the answers.
func (r *HTTPReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.stats.requests.Add(1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.fail(w, req, http.StatusServiceUnavailable, "receiver stopped")
		return
	}
	r.inflight.Add(1)
	r.mu.Unlock()
	defer r.inflight.Done()

	if !r.admit(w, req) {
		return
	}
	defer func() { <-r.slots }()
	body, err := r.readBody(w, req)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case r.ctx.Err() != nil:
			r.fail(w, req, http.StatusServiceUnavailable, "receiver stopped")
		case errors.As(err, &mbe):
			r.fail(w, req, http.StatusRequestEntityTooLarge, "body too large")
		default:
			r.fail(w, req, http.StatusBadRequest, "reading body failed")
		}
		return
	}
	var timeout <-chan time.Time
	if r.cfg.HandoffTimeout > 0 {
		t := time.NewTimer(r.cfg.HandoffTimeout)
		defer t.Stop()
		timeout = t.C
	}
	// The request's turn: only then is its body inflated and split, so
	// that waiting requests hold their bodies as received and nothing
	// more.
	if status, msg, ok := give(r.turn, struct{}{}, r.ctx.Done(), req.Context().Done(), timeout); !ok {
		if status != 0 {
			r.fail(w, req, status, msg)
		}
		return
	}
	defer func() { <-r.turn }()
	doc, status, msg := r.inflate(req, body)
	if status != 0 {
		r.fail(w, req, status, msg)
		return
	}
	body = nil
	events, status, msg := r.split(req.Context(), doc)
	if status != 0 {
		r.fail(w, req, status, msg)
		return
	}
	if len(events) == 0 {
		r.countAnswer(http.StatusOK, reasonKeepAlive)
		w.WriteHeader(http.StatusOK)
		return
	}
	if status, msg := r.handOff(req.Context(), events, r.retried(doc), timeout); status != http.StatusOK {
		if status != 0 {
			r.fail(w, req, status, msg)
		}
		return
	}
	r.countAnswer(http.StatusOK, reasonDelivered)
	w.WriteHeader(http.StatusOK)
}

// readBody reads req's body, at most MaxBodySize bytes. When the receiver
// stops, a read that waits on a stalled sender is cut short (through the
// connection's read deadline, where the server supports it), so that
// Close does not wait for the sender.
func (r *HTTPReceiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	stop := context.AfterFunc(r.ctx, func() {
		_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	return io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodySize))
}

// split turns a document into events under the parsing budgets, and
// counts and logs what it gave besides events. A non-zero status refuses
// it. The split stops at its next check when the request ends or the
// receiver stops (503).
func (r *HTTPReceiver) split(reqCtx context.Context, doc []byte) ([]Event, int, string) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil, 0, "" // keep-alive
	}
	ctx, cancel := context.WithCancel(reqCtx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	format := sniffFormat(trimmed)
	var sp envelope.Splitter
	events, res := splitEvents(ctx, &sp, nil, doc, format, r.cfg.MonitorID)
	err := res.err
	if err == nil && res.raw {
		err = sp.Wellformed(ctx, trimmed, envelope.Format(format))
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrDocumentLimit):
		r.countOverBudget(err)
		r.log(reqCtx, slog.LevelError, "push document over a parsing budget", "err", err)
		return nil, http.StatusRequestEntityTooLarge, "document exceeds a parsing budget"
	case errors.Is(err, envelope.ErrMalformed):
		return nil, http.StatusBadRequest, "malformed " + format.String() + " document"
	default: // the request ended or the receiver stopped
		return nil, http.StatusServiceUnavailable, "receiver stopped"
	}
	if res.raw {
		r.stats.raw.Add(1)
	}
	if res.invalid > 0 {
		r.countInvalid(res.invalid, res.first)
		r.log(reqCtx, slog.LevelWarn, "invalid events delivered flagged", "err",
			fmt.Errorf("stream: %d invalid event(s) delivered with Event.Err set, the first: %w", res.invalid, res.first))
	}
	return events, 0, ""
}

// retried reports whether a document equal to doc was received recently
// (remembering doc's hash otherwise): then the request is the server's
// retry of a push that failed, whose events are all checked against the
// dedup window.
func (r *HTTPReceiver) retried(doc []byte) *resend {
	d := r.docs
	if d == nil {
		return nil
	}
	k := maphash.Bytes(d.seed, doc)
	d.mu.Lock()
	seen := d.seen(k)
	if !seen {
		d.add(k)
	}
	d.mu.Unlock()
	if !seen {
		return nil
	}
	return newResend(true, true)
}

// handOff gives events to the consumer; the caller has the turn. It
// checks against the dedup window those of a retried document (rs) and
// those flagged replay. It returns 200 when all were received, 503 when
// the receiver stopped or the hand-off timed out, 0 when the request
// itself ended (no answer to write).
func (r *HTTPReceiver) handOff(reqCtx context.Context, events []Event, rs *resend, timeout <-chan time.Time) (int, string) {
	status, msg := http.StatusOK, ""
	dups, lost, err := r.dedup.handOver(events, rs, func(ev Event) error {
		var ok bool
		if status, msg, ok = give(r.events, ev, r.ctx.Done(), reqCtx.Done(), timeout); !ok {
			return errNotHandedOver
		}
		return nil
	})
	r.countHandOver(events, dups, lost)
	if err != nil {
		return status, msg
	}
	return http.StatusOK, ""
}

// errNotHandedOver stops a hand-off that give refused.
var errNotHandedOver = errors.New("stream: not handed over")

// give sends v on ch unless the receiver stops, the request ends or the
// hand-off times out first; then it returns false and the answer for the
// request (status 0 when the request has ended: none).
func give[T any](ch chan<- T, v T, stopped, gone <-chan struct{}, timeout <-chan time.Time) (status int, msg string, ok bool) {
	select {
	case ch <- v:
		return http.StatusOK, "", true
	case <-stopped:
		return http.StatusServiceUnavailable, "receiver stopped", false
	case <-gone:
		return 0, "", false
	case <-timeout:
		return http.StatusServiceUnavailable, "consumer busy", false
	}
}

var (
	_ Source        = (*HTTPReceiver)(nil)
	_ stateReporter = (*HTTPReceiver)(nil)
	_ http.Handler  = (*HTTPReceiver)(nil)
)
