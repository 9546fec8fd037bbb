// Package bridge publishes the events of Remote Manager monitors to NATS
// JetStream, losslessly and without duplicates in the stream.
//
// One push subscription per monitor (stream.SubscribeBatches with
// stream.AckManual) hands over
// batches of whole blocks. Every event of a batch is published
// asynchronously on Subject(prefix, event) — "rm.<customer>.<Resource>.<path>"
// — with the event's body as the data, its operation, timestamp, replay
// flag and topic as headers, and its stream.Event.Identity as Nats-Msg-Id.
// A batch's blocks are acknowledged to Remote Manager only when JetStream
// has confirmed every one of its events with a PubAck; batches are
// pipelined (up to Config.MaxPending events per monitor await their
// PubAcks) and acknowledged in the order they arrived.
//
// # Guarantees
//
// With explicit-ack, persistent monitors this is at-least-once from Remote
// Manager into the stream: an event is acknowledged only once stored, so
// whatever was in flight when the bridge, its host, the push connection or
// NATS failed is replayed by Remote Manager. Inside the stream it is
// exactly-once within the stream's duplicate window: a replay carries the
// same Nats-Msg-Id and JetStream drops it (the PubAck says Duplicate).
// A replay arriving after the window (a bridge down longer than the
// window) is stored again; size the window (DefaultDuplicateWindow, 1 h)
// to the longest outage you plan for. Raw documents (template output)
// have no identity, so no Nats-Msg-Id: nothing tells their replay from a
// new document, and a replayed one is stored again (at-least-once).
//
// Within a subject, messages are stored in the order Remote Manager sent
// them: one monitor's events are published in order on one connection,
// and a session ends at the first sign of a lost NATS connection, so that
// nothing is published on the next connection ahead of a replay (connect
// with nats.ReconnectBufSize(-1), see Config.Conn). Around failures an
// event stored from a replay can still, rarely, land after a later event
// of its subject (the crash test reports it; exactly-once holds). The
// Rm-Timestamp header keeps the source time.
//
// # Failures
//
// Any publish that JetStream does not confirm — a PubAck timeout
// (Config.AckTimeout), a lost NATS connection, no stream answering — ends
// the monitor's session: the push connection is closed with the blocks
// after the last confirmed one un-acknowledged, the bridge waits
// (Config.NewBackOff), checks that the stream answers again (or runs
// Config.CheckStream), and reconnects, and Remote Manager replays those
// blocks. The same path
// serves a crash: nothing is kept in the bridge's memory that Remote
// Manager does not also hold. Events JetStream refuses for good (larger
// than max_payload or the stream's max message size, or stored in another
// stream) stop that monitor with ErrRejected and its block
// un-acknowledged; the other monitors go on.
//
// # Shutdown
//
// Bridge.Shutdown stops taking blocks, waits for the PubAcks of what is in
// flight, acknowledges those blocks and closes the push connections.
// Cancelling Run's context instead stops at once, as a crash would.
//
// # Replicas
//
// With Config.Ownership, several bridges (replicas, on as many machines)
// share one set of monitors: each monitor is bridged by the one replica
// holding its lease in a JetStream key-value bucket, so that it is never
// connected twice (Remote Manager keeps one push connection per monitor).
// Leases are taken and renewed with compare-and-set, expire at the
// bucket's TTL when not renewed, and are released by Shutdown; a replica
// closes a monitor's push connection when its lease is half a TTL late
// (fencing); the monitors spread evenly over the live replicas and move
// when replicas join or leave. See Ownership.
//
// # Status
//
// Bridge.Stats counts events, blocks, PubAcks, acks and leases;
// Bridge.Monitors tells what each monitor is doing (MonitorState), how
// many of its events await their PubAck, and its lag;
// Config.ObserveStore receives the store latency of every batch.
//
// # Goroutines
//
// Run starts, per monitor, one goroutine for its session loop and, per
// session, a publisher and a confirmer under an errgroup joined before
// the next session, plus the push subscription's own goroutines. With
// Ownership, Run's own goroutine runs the ownership rounds, and each
// lease held has a holder goroutine, which runs the monitor's session
// loop and, one at a time, a renewal. All have returned when Run returns.
// The NATS connection is the caller's.
package bridge
