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
// documented: the decoder accepts several shapes (see history.go) and
// normalises each event to the Msg object of a push document, so package
// stream's poller delivers the same events as a push.
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
// [ErrMalformedResponse]. Cancellation is reported as an error wrapping the
// context's error.
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
// The account password travels only in the Authorization header. It never
// appears in an error (server messages are scrubbed of it), nor in the
// output of fmt or log/slog for a [Client]. A [Spec]'s transport Token,
// its header values and the password and query of its URL are secrets too:
// String, GoString, LogValue and MarshalJSON of [Spec] and [Monitor]
// redact them, and they are scrubbed from server messages.
package monitor
