// Package streamtest is an in-process Remote Manager for tests, demos and
// simulators, in the spirit of net/http/httptest: the legacy /ws/Monitor
// REST API, the v1 JSON API (/ws/v1/monitors/inventory and the history API
// /ws/v1/monitors/history), the TCP push protocol (plain and TLS) and HTTP
// push to http monitors' URLs, backed by memory.
//
//	srv := streamtest.NewServer(streamtest.Options{})
//	defer srv.Close()
//	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})
//	// … connect a client to srv.PushAddr() (user "user", password "password") …
//	srv.WaitConnected(ctx, id)
//	srv.Publish(streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION",
//		Body: map[string]any{"data": 21.5}})
//
// # Listeners
//
// Start listens on loopback ports for REST (URL), plain push (PushAddr) and
// TLS push (PushTLSAddr). The TLS certificate is issued at Start by a
// freshly generated ECDSA CA for localhost, 127.0.0.1 and ::1; trust it
// with CertPool or ClientTLSConfig. Any listener can be turned off with
// "-"; ServeConn serves the push protocol on any net.Conn (net.Pipe for
// testing/synctest, fault-injecting wrappers), and Handler exposes the
// REST API as an http.Handler.
//
// # Push connections
//
// A connection sends a ConnectRequest within Options.HandshakeTimeout.
// Wrong credentials get ConnectResponse 403; a protocol version other than
// 1, an unknown monitor id or a monitor whose transport is not tcp get 400;
// both are followed by close. Otherwise the answer is 200 and the monitor
// becomes ACTIVE; a second connection for the same monitor replaces the
// first, which is closed. After the handshake the client may only send
// acks; anything else (or a malformed frame) closes the connection and
// counts in Stats.ProtocolErrors.
//
// # Batching and documents
//
// Published events queue per monitor. A block is sent when BatchSize
// events are pending or BatchDuration has passed since the oldest pending
// one arrived (a negative BatchDuration sends at once whatever is
// pending). Each block is a PublishMessage whose document is
// {"Document":{"Msg":M}} (M an object for one event, an array for several)
// or <Document><Msg …><Resource>…</Resource></Msg>…</Document>, compressed
// with zlib for monCompression zlib or gzip. Topics are rendered
// "<CustomerID>/<Topic>". DataBlockIds count from Options.FirstBlockID on
// every connection and wrap from 0xFFFF to 0.
//
// A monitor topic matches an event topic segment by segment as a prefix:
// "DeviceCore" matches every DeviceCore event, "DataPoint/dev1" matches
// "DataPoint/dev1/temp", and each later segment is a path.Match pattern
// ("DataPoint/*/temp", "FileData/*.*"). Operation filters
// ("[operation=U]DeviceCore", "DeviceCore[C,D]"; C is CREATE or INSERTION)
// and group filters ("[group=A,B]devices") are honoured.
//
// # Acknowledgement, persistence and delivery
//
// Explicit-ack monitors keep every sent block until a 10-byte ack with
// status 200 names it (the 6-byte legacy form too with
// Options.AcceptLegacyAck); Options.InFlight bounds the un-acked blocks
// per connection (1 is stop-and-wait). Every ack is recorded (Acks); one
// that names no outstanding block counts in Stats.BadAcks. An ack the
// Server refuses (the legacy form without the option, a wrong size, an
// unknown block, a status other than 200) is reported on Options.Warnf
// (or Logf) in one line that names the fix, once per connection for the
// acks that do not close it. The library's default is the strict,
// documented ack, so that this project's client tests catch a client that
// strays from it; the simulator command accepts the legacy form unless
// -strict-ack. For ack-off monitors a block is delivered once written.
//
// Persistent monitors (monAutoReplayOnConnect) are SUSPENDED whenever no
// client is connected, from their creation on, and record what is
// published meanwhile. When a connection ends, the events of its
// undelivered blocks go back to the front of the queue. On the next
// connection everything recorded or returned is sent first, in new blocks
// with new DataBlockIds, each event marked replay=true (a block never
// mixes replayed and new events); new events follow. Non-persistent
// monitors drop events published while no client is connected and, when
// a connection ends, its undelivered and pending events: the service's
// at-most-once behaviour. Each monitor's queue holds at most
// Options.MaxQueuedEvents (default 1 000 000) events; more are dropped and
// counted in Stats.Dropped.
//
// # REST
//
// GET /ws/Monitor lists monitors (start, size, and a condition: comparisons
// field op value with =, <>, <, >, <=, >= or like (% and _ wildcards),
// joined by "and" and "or", "and" binding tighter, with parentheses;
// values quoted 'text' or numbers; see condition.go), in XML
// or, with "Accept: application/json" or the path /ws/Monitor/.json, in
// the JSON envelope whose values are all strings. GET, PUT and DELETE
// /ws/Monitor/{id} read, partially update and delete one monitor; POST
// /ws/Monitor creates one and answers 201 with both a Location header and
// a <location> element. GET /ws/DeviceCore lists the simulated devices,
// for clients that check their credentials with it. Every call needs
// Basic auth against Options.Users (401 otherwise); Throttle makes calls
// answer 429. The API is served over HTTP (URL) and, with
// Options.HTTPSAddr, over HTTPS (HTTPSURL) with the TLS push certificate;
// with Logf set, every call is logged in one line.
//
// The v1 JSON API serves the same monitors: /ws/v1/monitors/inventory GET
// (query in the same condition language with v1 field names, such as
// "type='http' and status='DISABLED'"; orderby "<field> [asc|desc]"; size
// up to 1000; an opaque cursor while more follow) and POST (201 with the
// monitor object); /ws/v1/monitors/inventory/{id} GET, PUT (partial
// update), DELETE (204); …/{id}/reset POST or PUT (re-enables a DISABLED
// monitor). Request bodies must use the documented JSON types (topics and
// headers as arrays of strings, numbers, persistent a boolean); unknown
// fields are refused with 400. Errors are {"error_status":N,"error_message":"…"}.
//
// # History and polling
//
// Polling monitors, and persistent monitors of any transport, store every
// matching event (up to MaxQueuedEvents, oldest dropped first).
// GET /ws/v1/monitors/history/{id} pages through them; history.go documents
// the answer's shape (the service does not) — {"count","size","cursor",
// "next_uri","list":[{"id":"<n>","timestamp",…,"<Resource>":{…}}]} ordered
// by event timestamp, start_time inclusive, end_time exclusive, the
// cursor present only while more records follow. An event published with
// an older timestamp is stored in its place, as a late upload would be. A
// handlebars monitor's records hold the template's output for each event,
// as a string beside the record's id and timestamp.
//
// # HTTP push
//
// For each http monitor a sender goroutine PUTs (or POSTs, per
// monTransportMethod) each block to monTransportUrl — loopback URLs
// included, which the service refuses — with Basic auth from
// monTransportToken, the monTransportHeaders lines, Content-Type
// application/json or application/xml, and for zlib monitors the body
// compressed with "Content-Encoding: deflate". A 2xx answer delivers the
// block (status ACTIVE); anything else, or no answer within the monitor's
// connect plus response timeout, leaves the block pending (CONNECTING) and
// retries it every Options.HTTPRetryInterval (16 min by default) until
// Options.HTTPDisableAfter (24 h) has passed since the first failure:
// then the monitor is DISABLED and, unless persistent, drops its pending
// and queued events. Any PUT, the v1 reset and ResetMonitor enable it
// again and retry at once. HTTPAttempts lists the attempts.
//
// # Templates
//
// monSchemaType "handlebars" with monSchemaData renders each pushed block
// (TCP and HTTP) through a Handlebars subset whose root is the array of
// the block's Msg objects; template.go lists what is supported. A template
// that does not parse is refused at create ("Invalid monSchemaData"). A
// block whose rendering passes 16 MiB of output or a million steps plus
// 256 per event (loops nested over the events multiply) is sent, and
// kept in the history, as the standard document instead, and logged.
//
// # Hooks
//
// SetHooks scripts misbehaviour per monitor, per connection and per frame,
// for reliability tests of clients: OnConnect can refuse a login, answer
// with arbitrary bytes, hang or close; BeforeBlock can cut a block at any
// byte (FIN or reset), stall or trickle it, replace it with raw bytes or
// replay it; OnAck can lose an ack or close after it; HookConn.WriteRaw
// sends any bytes between frames. Combine them with a fault-injecting
// net.Conn for faults below the protocol.
//
// # Concurrency
//
// A Server is safe for concurrent use. It starts one goroutine per
// listener, a reader and a sender goroutine per push connection and a
// sender goroutine per http monitor, all stopped and waited for by Close. Generate runs on the caller's
// goroutine. Options.Logf may be called from any of them until Close
// returns, never after; nothing logged contains a password.
package streamtest
