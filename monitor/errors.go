package monitor

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Errors returned by a [Client] match them with [errors.Is].
var (
	// ErrNotFound: the server answered 404, or a Get found no monitor with the
	// requested id in an otherwise successful answer.
	ErrNotFound = errors.New("monitor: not found")
	// ErrUnauthorized: the server answered 401 or 403 (bad credentials, or
	// an account without the Push Monitor service).
	ErrUnauthorized = errors.New("monitor: unauthorized")
	// ErrBadRequest: the server answered 400, for example because a topic is
	// invalid. The server's explanation is in [APIError.Message].
	ErrBadRequest = errors.New("monitor: bad request")
	// ErrThrottled: the server answered 429 and the request was not retried
	// further (retries exhausted, retries disabled, or the server asked for a
	// wait longer than the client is willing to sleep).
	ErrThrottled = errors.New("monitor: throttled")

	// ErrInvalidSpec: a [Spec] failed validation before anything was sent.
	// The error is a [*SpecError].
	ErrInvalidSpec = errors.New("monitor: invalid spec")
	// ErrInvalidID: a monitor id of 0 was given; Remote Manager never
	// assigns it.
	ErrInvalidID = errors.New("monitor: invalid monitor id")
	// ErrInvalidConfig: the base URL given to [NewClient] or an [Option] is
	// unusable. Every call on such a client returns this error without
	// sending anything.
	ErrInvalidConfig = errors.New("monitor: invalid client configuration")
	// ErrMalformedResponse: a 2xx answer that cannot be understood: neither
	// JSON nor XML, a field of the wrong type, a create answer without a
	// monitor id, a paging answer that makes no progress (a page without
	// items that announces more, a page repeating the previous one, a
	// cursor the listing already had), or an answer beyond one of the
	// parsing budgets (a [*LimitError]).
	ErrMalformedResponse = errors.New("monitor: malformed response")
	// ErrLimitExceeded: an answer or a listing went beyond one of the
	// client's budgets. The error is a [*LimitError] naming the limit.
	ErrLimitExceeded = errors.New("monitor: limit exceeded")
)

// Limits named by [LimitError.Limit].
const (
	LimitPages    = "pages"                  // pages of one listing ([WithMaxPages])
	LimitCursor   = "cursor"                 // bytes of a paging cursor
	LimitBodySize = "body size"              // bytes of an answer
	LimitItems    = "items per page"         // elements of a page's list: the page size asked for
	LimitDepth    = "nesting depth"          // nesting of a JSON or XML answer
	LimitTokens   = "tokens"                 // tokens of a JSON or XML answer, a budget per byte
	LimitAttrs    = "attributes per element" // attributes of one XML element, xmlns declarations included
	LimitNameLen  = "name length"            // bytes of an XML element or attribute name
	LimitMembers  = "members per object"     // members of a JSON object (child elements of an XML one) read into a map
	LimitValues   = "values per field"       // topics or headers of one monitor
	LimitRecords  = "records per page"       // history records of one answer, a budget per byte
	LimitEvents   = "events per document"    // Msgs of one record's document or Msg array, a budget per byte
)

// LimitError is an answer or a listing beyond one of the client's budgets.
// It matches [ErrLimitExceeded] with errors.Is, and also
// [ErrMalformedResponse] unless Limit is [LimitPages]: a listing longer
// than [WithMaxPages] allows is not malformed, only longer than wanted.
type LimitError struct {
	Limit string // one of the Limit constants
	Max   int64  // the budget that was exceeded
}

// Error returns e.g. "monitor: limit exceeded: depth above 64".
func (e *LimitError) Error() string {
	return ErrLimitExceeded.Error() + ": " + e.Limit + " above " + strconv.FormatInt(e.Max, 10)
}

// Is reports whether target is [ErrLimitExceeded], or
// [ErrMalformedResponse] for a limit on one answer.
func (e *LimitError) Is(target error) bool {
	return target == ErrLimitExceeded || (target == ErrMalformedResponse && e.Limit != LimitPages)
}

// APIError is a non-2xx answer from Remote Manager. It matches, with
// errors.Is, [ErrBadRequest] (400), [ErrUnauthorized] (401, 403),
// [ErrNotFound] (404) and [ErrThrottled] (429).
//
// Message never contains the client's password or a spec's transport token:
// they are scrubbed from the server's text before the error is built.
type APIError struct {
	StatusCode int    // HTTP status code
	Method     string // request method
	Path       string // request path, without the query
	// Message is the server's <error> text (or the JSON "error" value); when
	// the body has neither, an excerpt of the body.
	Message string
	// RetryAfter is the server's Retry-After, when it sent one (429, 503):
	// seconds, or an HTTP-date measured against the answer's Date header
	// (the server's clock), or the client's clock without one; at most a
	// day.
	RetryAfter time.Duration
}

// Error returns e.g. "monitor: POST /ws/Monitor: 400 Bad Request: POST Monitor
// error. Invalid request. Invalid monTopic specified".
func (e *APIError) Error() string {
	s := "monitor: " + e.Method + " " + e.Path + ": " + strconv.Itoa(e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		s += " " + t
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	return s
}

// Is reports whether the status code corresponds to target, one of the
// package's HTTP sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// SpecError is a [Spec] that failed validation. It matches [ErrInvalidSpec]
// with errors.Is. It never quotes the value of a secret field (Token,
// header values).
type SpecError struct {
	Field  string // the Spec field at fault, e.g. "Topics" or "Headers[1]"
	Reason string // what is wrong with it
}

// Error returns e.g. "monitor: invalid spec: Topics: at least one topic is required".
func (e *SpecError) Error() string {
	return ErrInvalidSpec.Error() + ": " + e.Field + ": " + e.Reason
}

// Is reports whether target is [ErrInvalidSpec].
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }
