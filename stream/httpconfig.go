package stream

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

// An HTTPReceiver's configuration: HTTPConfig, its defaults, and its
// validation into the forms the requests are checked against.

// DefaultMaxBodySize caps an HTTP push body as received (before inflating).
const DefaultMaxBodySize = 16 << 20

// DefaultBodyTimeout bounds the reading of one HTTP push body when
// HTTPConfig.BodyTimeout is 0 and the http.Server sets no ReadTimeout.
const DefaultBodyTimeout = time.Minute

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
	// value (else 401). Host and Transfer-Encoding, which net/http does not
	// pass to handlers as headers, are refused, and so is Authorization
	// beside a Token.
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
	// window — in a retried document, only as many of its equal events as
	// the window holds, so that a document with the same event twice
	// gives both, retried or not; no other event is ever dropped, and raw
	// documents (template output) never are: two equal renderings are two
	// events.
	DedupWindow int
	// HandoffTimeout bounds how long a request whose body was read waits
	// for its turn and for the consumer to take its events before it is
	// answered 503 (so the server retries later). 0 means as long as the
	// request lasts; set it below the monitor's response timeout (5 s by
	// default) to answer before the server gives up.
	HandoffTimeout time.Duration
	// BodyTimeout bounds how long reading one request's body may take,
	// when the http.Server serving the receiver sets no ReadTimeout (its
	// bound then applies instead): 0 means DefaultBodyTimeout (1 minute),
	// negative none. A sender that stalls mid-body holds one of the
	// MaxConcurrent slots until then; beyond it the request is answered
	// 408 and nothing of it is delivered (the server retries the push).
	// It is enforced through the connection's read deadline, where the
	// server supports it (net/http's does, for HTTP/1 and HTTP/2).
	BodyTimeout time.Duration
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

// header is a header every request must carry, its value a secret.
type header struct {
	name  string
	value secret.String
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
		r.auth, r.user, r.pass = true, secret.New(u), secret.New(p)
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
		name = http.CanonicalHeaderKey(name)
		switch {
		case name == "Host" || name == "Transfer-Encoding":
			// net/http takes them out of Request.Header: no push could
			// carry the header as the handler sees it.
			return bad(`Headers[%d] names %s, which a handler never sees among the request's headers: every push would be refused`, i, name)
		case name == "Authorization" && r.auth:
			return bad(`Headers[%d] names Authorization, which carries the Token: one request cannot carry both`, i)
		}
		r.headers = append(r.headers, header{name, secret.New(value)})
	}
	for _, f := range [...]struct {
		name     string
		negative bool
	}{
		{"MaxBodySize", r.cfg.MaxBodySize < 0}, {"MaxDecompressed", r.cfg.MaxDecompressed < 0},
		{"MaxConcurrent", r.cfg.MaxConcurrent < 0}, {"HandoffTimeout", r.cfg.HandoffTimeout < 0},
	} {
		if f.negative {
			return bad("%s must not be negative (0 means the default)", f.name)
		}
	}
	if r.cfg.BodyTimeout == 0 {
		r.cfg.BodyTimeout = DefaultBodyTimeout
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
