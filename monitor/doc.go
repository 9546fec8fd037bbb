// Package monitor manages Remote Manager push monitors over REST: create a
// monitor, find an existing one by its topics, list, update, reset ("kick")
// and delete. Receiving a monitor's events is package stream's job; this
// package knows nothing of sockets.
//
// It speaks the legacy /ws/Monitor API: XML request bodies built with
// encoding/xml (so a description holding '<' or '&' arrives intact), and
// answers read in either of the server's representations — the JSON
// envelope asked for with "Accept: application/json" or the XML <result>
// document, including the ISO-8859-1 declaration the server puts on it.
//
//	api := monitor.NewClient("https://remotemanager.digi.com",
//		monitor.WithBasicAuth(user, pass))
//	id, err := api.Create(ctx, monitor.Spec{
//		Topics: []string{"DeviceCore", "DataPoint"}, Format: monitor.JSON,
//		Compression: monitor.Zlib, Ack: monitor.AckExplicit, Persistent: true})
//	…
//	defer api.Delete(context.WithoutCancel(ctx), id)
//
// # The v1 JSON API, templates and history
//
// [Client.V1] speaks /ws/v1/monitors/inventory with the same [Spec] and
// [Monitor] types: create, get, list (query, orderby, cursor paging),
// update, delete and reset of a DISABLED monitor. [FieldMappings] is the
// table relating each Go field to its legacy element and v1 field; both
// encoders and the v1 decoder are driven by it. A Spec with SchemaType
// "handlebars" and a Schema template creates a templated monitor through
// either API (monSchemaType/monSchemaData, schema_type/schema).
//
// [Client.History] and [Client.HistoryPage] page through the stored events
// of a persistent or polling monitor (/ws/v1/monitors/history/{id}),
// following the server's cursor. The answer's field names are not
// documented: the decoder accepts several shapes (see history.go). Each
// record is read once, by the same parser as push documents: a
// [HistoryRecord] carries the Msg's envelope fields as a push's are
// parsed and the resource's bytes as the server sent them (or a document
// the server stored as it was), so package stream's poller delivers the
// same events as a push, identities included. A Msg that is invalid is a
// record with Err set, never an unreadable page.
//
// REST requests go through net/http; the default transport honours
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY. Give [WithHTTPClient] for anything
// else.
//
// # Concurrency
//
// A [Client] is immutable once built and safe for concurrent use. Every
// call takes a context that bounds the whole call, retries included.
//
// # Errors
//
// A non-2xx answer is an [*APIError] carrying the server's <error> text; it
// matches [ErrBadRequest] (400), [ErrUnauthorized] (401, 403), [ErrNotFound]
// (404) or [ErrThrottled] (429) with errors.Is. A spec that fails
// validation is a [*SpecError] (matching [ErrInvalidSpec]) and nothing is
// sent. A 2xx answer that cannot be understood matches
// [ErrMalformedResponse]. A redirect to another origin is a
// [*RedirectError] ([ErrRedirectRefused]). An answer or a listing beyond a
// budget is a [*LimitError] ([ErrLimitExceeded]). Cancellation is reported
// as an error wrapping the context's error.
//
// # Paging
//
// [Client.List], [Client.FindByTopics], [V1.List] and [Client.History]
// follow the server's pages (start/remainingSize, or cursors), give each
// item once and guarantee progress: an item an earlier page gave already
// (monitors by id, history records by their record id; pages overlap when
// a list shifts under offset paging) is not yielded again; a page without
// items that announces another, a page of items all given already, a
// cursor the listing already had, or a next_uri announcing a next page
// without a cursor ends it with an error matching
// [ErrMalformedResponse]; a listing ends after [WithMaxPages] pages
// (default [DefaultMaxPages]) with a [*LimitError]. Whatever the server
// answers, a listing makes at most that many requests, and remembers 8
// bytes per page and the ids of its last 65 536 items besides the items.
//
// # Answers are untrusted
//
// Every answer is read under budgets before any decoder sees it: 32 MiB for
// a 2xx body and 64 KiB for an error body; nesting depth 64 (JSON and
// XML); tokens per byte (JSON: 1024 + one per 4 bytes; XML: 1024 + one per
// 2 bytes, attributes and namespace declarations per element at most 64,
// names at most 1024 bytes); and a page's list no longer than the page
// size asked for. Monitors are decoded one at a time; an object read into
// a map has at most 256 members (an XML element, 256 children), a
// monitor's topics or headers at most 1024 values, and a history page at
// most 1024 + one record per 128 bytes, so that no tiny token costs a map
// entry, a slice element or a record beyond those bounds. An answer beyond a
// budget is a [*LimitError] naming the limit, which also matches
// [ErrMalformedResponse]; a 16 MiB answer of nested XML costs about what
// reading it costs (2.2× its size allocated), not the 70× encoding/xml
// would take.
//
// An answer must be one document: XML after the root element, like data
// after a JSON answer's object, is malformed. A member (or child element)
// an answer names twice with two values — a monitor's field, a create
// answer's location, a page's remainingSize or cursor — is malformed too:
// which one holds cannot be told, and the wrong one would name another
// monitor or end a listing early. The same value twice is one value, and
// a member the client does not read may repeat.
//
// # Retries
//
// Answers 429 (throttled) and 503 (unavailable; not for POST) are retried
// with jittered exponential backoff — by default 5 times from 500 ms, see
// [WithRetry] — honouring the server's Retry-After. A wait never outlives
// the context: the call returns as soon as it is cancelled, and at once if
// its deadline would pass before the retry. Network errors are not retried.
//
// # Secrets
//
// The account password, a [Spec]'s Token and its Headers are held in
// [secret.String] values: a [Client], [Spec] or [Monitor] — or a struct of
// yours holding one, in an exported field or not — prints them as
// "[REDACTED]" in every fmt verb, in encoding/json and in log/slog. Only the request
// encoders reveal them, to put them on the wire.
//
// Credentials go only to the origin (scheme, host and port) of the base
// URL: the password travels in the Authorization header of requests to it,
// and a redirect to another origin, an https → http downgrade included, is
// refused before anything is sent there — net/http would otherwise carry
// the header to another port of the same host, and a 307 or 308 would
// re-post a spec's token anywhere. Same-origin redirects are followed,
// except a 301 or 302 answering a POST, PUT or DELETE, which net/http
// would follow with a GET whose answer would pass for the change's
// success: the call fails with an [*APIError] carrying that status.
//
// No error contains a secret: server text (an error page may echo the
// request) is scrubbed of the password, its Basic-auth encoding and the
// spec's token and header values — as sent and in their escaped,
// percent-encoded and white-space-collapsed forms — before it is decoded,
// trimmed, collapsed or cut.
//
// A Spec's URL is an address, not a secret: it is printed as is, and
// [Spec.Validate] refuses one with user info (the server authenticates to
// it with Token), or with an unescaped '@' (a password holding a '/'
// would end the user info early and print as the host and path). A URL
// read from the server has its password replaced.
package monitor
