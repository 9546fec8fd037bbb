// Package stream receives a Remote Manager monitor's events over the TCP
// push protocol and delivers them on channels.
//
// [Subscribe] dials the push endpoint (TLS on port 3201 by default), logs in
// with a ConnectRequest, then reads PublishMessages, inflates them, splits
// their documents into [Event] values and hands them to the consumer
// ([SubscribeBatches] hands over whole blocks as a [Batch] instead). Each
// block is acknowledged with the documented 10-byte ack only after all of
// its events were received by the consumer (or, with [AckManual], after
// [Batch.Ack]). Transient failures reconnect with jittered exponential
// backoff, forever by default; permanent ones (403, 400, a 200 in another
// protocol version than 1 ([ErrProtocolVersion]), TLS verification, a port
// proved wrong, invalid configuration) end the subscription with a
// typed error. Errors before the ConnectResponse name a likely wrong
// endpoint and its fix ([ErrPortExpectsTLS], [ErrPortNotTLS],
// [ErrNotPushPort]); a server that keeps closing connections soon after
// they connect is reported as [ErrAnotherClient].
//
//	sub, err := stream.Subscribe(ctx, stream.Config{
//		Host: "remotemanager.digi.com", Username: user, Password: pass, MonitorID: id,
//	})
//	if err != nil { … }
//	for ev := range sub.Events() {
//		switch ev.Resource {
//		case "DataPoint":
//			dp, err := ev.DataPoint()
//			…
//		}
//	}
//	if err := sub.Err(); err != nil { … } // nil when ctx was cancelled
//
// # Delivery
//
// Events arrive in the order the server sent them. The library owns the
// channels it returns and closes each exactly once, when the subscription
// ends; Err then tells why. Channels are unbuffered: a slow consumer makes
// the subscription stop reading the socket (back-pressure) rather than
// buffer without bound or drop anything, and an ack always means the
// consumer has the events.
//
// With an explicit-ack, persistent monitor, delivery is at-least-once, and
// replayed duplicates are removed by event identity (topic, operation,
// timestamp, resource and body; see [Event.Identity]) within a window of the
// last DedupWindow events (for a BatchSubscription, by [Batch.Events]). With
// other monitors the server considers a block delivered once written to
// the socket, so events in flight when a connection drops are lost:
// at-most-once. Nothing here claims exactly-once.
//
// # Batches
//
// [SubscribeBatches] returns a [BatchSubscription], whose Batches channel
// carries [Batch] values: every block that had arrived complete when the
// previous Batch was taken, up to Config.MaxBatchBlocks, so that one
// hand-off serves many blocks while a connection is busy, and a quiet one
// still gets each block at once. The documents are copied once, into
// memory the consumer owns; [Batch.Events] splits them into events and
// removes replays, on the caller's goroutine, when first called. A
// consumer that stores raw documents ([Block].Document) never pays for
// the split. Its [AckMode] says when blocks are acked: [AckOnReceive]
// when the Batch is received, [AckManual] at [Batch.Ack].
//
//	sub, err := stream.SubscribeBatches(ctx, cfg, stream.AckManual)
//	…
//	for b := range sub.Batches() {
//		if err := store(b.Events()); err != nil { … }
//		b.Ack() // only now may the server forget the blocks
//	}
//
// [BatchSubscription.All] gives the same events one at a time in a plain
// loop, yielded on the loop's goroutine with no channel hand-off per
// event; with AckManual a block is acked only once the loop body has
// returned for its last event:
//
//	for ev, err := range sub.All() {
//		if err != nil { … } // the subscription's permanent error, last
//		…
//	}
//
// Channels stay for select: the Events API and Batches.
//
// [ParseDocument] gives the events of a document exactly as a
// subscription delivers them: for tests (with streamtest.AppendDocument)
// and for documents read back from an archive.
//
// # Other transports, many monitors, proxies
//
// The same [Event] values come out of every transport, so consumer code
// does not care how they arrived (see [Source]):
//
//   - [Subscribe]: tcp monitors, the client connects (above).
//   - [HTTPReceiver]: http monitors, the server PUTs or POSTs to your URL;
//     an http.Handler that checks the monitor's token, answers 200 only
//     after hand-off and 503 when stopped or busy, so the server retries.
//   - [Poller]: polling (or persistent) monitors, read through the history
//     API with a resumable [PollPosition], for clients behind NAT; each poll
//     re-reads an overlap window, so events stored late are delivered.
//
// A [Group] runs any number of them under one errgroup with one merged
// Events channel and per-monitor status; one monitor's permanent error
// does not stop the others unless FailFast is set. Members send on the
// merged channel themselves, so acks, HTTP answers and poll positions
// still wait for the group's consumer. [HTTPProxyDialer] and
// [ProxyFromEnvironment] tunnel the push connection through an HTTP proxy
// (CONNECT); any dialer with DialContext, such as a SOCKS5 one, fits
// Config.Dialer.
//
// # Metrics and logs
//
// Every source counts what it does (Stats, HTTPStats, PollStats) and, when
// its config has an [Observer], tells it at the same place, as it
// happens: connections and their end with the cause, blocks, events
// handed over with their lag (from the newest event's timestamp to the
// hand-off), replays dropped, invalid events, bad blocks, undelivered
// events, acks, HTTP answers, history requests. An Observer is an
// interface of small methods, called synchronously, that imports nothing:
// a Prometheus or OpenTelemetry adapter implements it in the program (see
// the jetstream-bridge example's) and keeps this module free of their
// dependencies.
//
// Logs go to the config's *slog.Logger with the context given to
// Subscribe, NewPoller or NewHTTPReceiver (or, for a push, the request's
// context), so a handler that reads trace ids from the context correlates
// them; the context's cancellation does not matter to logging.
//
// # Goroutines
//
// A Subscription runs one goroutine: its supervisor, which reads each
// connection itself and writes its acks. A short-lived goroutine writes
// the acks that must not wait for the reader (a long burst, Batch.Ack)
// while there are such acks; it belongs to the connection's errgroup,
// which is joined before the next attempt.
// [Subscription.Shutdown] ends a subscription gracefully (queued acks
// written, the connection half-closed);
// cancelling the context given to Subscribe (or calling Close) closes the
// connection at once, so no read blocks past it.
package stream
