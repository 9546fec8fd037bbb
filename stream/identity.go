package stream

import "github.com/pushmon/pushmon/internal/envelope"

// Identity returns a stable name for the event, fit for de-duplication
// outside the process (it is the JetStream bridge's Nats-Msg-Id): the same
// for the event and every replay of it, in every process and on every
// run, and different for different events.
//
// It covers what makes two events different: Topic, Operation, Timestamp
// (the instant; two spellings of one instant are one), Resource and Body
// (as sent: no whitespace is normalised, since a replay is the stored
// event sent again byte for byte), and for an invalid event what is wrong
// with it: Err's Field and Reason (an *EventError; the text of another
// error), not its Index and Offset, which place it in a document that a
// replay does not repeat. Replay, MonitorID and Format are not part of
// it, so a replay, or the same event delivered by two monitors, has the
// same identity. The
// result is "ev-" followed by 32 lower-case hex digits: the first 16
// bytes of the SHA-256 of those fields, each written as its length
// (unsigned varint) and its bytes, the timestamp as 12 bytes (Unix seconds
// as a big-endian int64, nanoseconds as a big-endian uint32) or none when
// zero, the error's text only when Err is set (for an *EventError, Field,
// ": " and Reason).
//
// A raw event (template output, a document that is not an envelope), and
// an invalid one without a topic, has no identity: Identity returns "".
// Two equal renderings of a template are two events, and nothing in them
// tells a replay from a new one, so they must not be de-duplicated.
//
// The dedup windows of Subscription and HTTPReceiver use a fast
// in-process hash of the same fields, and drop an event only when it is a
// replay found in the window: flagged replay; over TCP, one of the events
// after a reconnect up to the first not found; over HTTP, one of a push
// whose document equals a recently received one (see Config.DedupWindow
// and HTTPConfig.DedupWindow). Identity does not modify the event and is
// safe for concurrent use.
func (e Event) Identity() string {
	if e.Raw {
		return ""
	}
	f := e.fields()
	return envelope.ID(&f)
}
