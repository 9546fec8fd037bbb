package stream

import (
	"context"
	"fmt"
	"strconv"
)

// The public handles: a Subscription delivers events, a BatchSubscription
// batches of blocks. Their common methods (Err, Close, Shutdown, States,
// Stats, …) are those of the subscription they embed.

// Subscription is one monitor's push session delivering single events on
// Events, reconnecting on transient failures until its context ends, Close
// or Shutdown is called or a permanent error occurs. Each block is acked
// once the consumer has received its last event.
//
// All methods are safe for concurrent use. The channels it returns are
// created, owned and closed by the Subscription, each exactly once, after
// which Err tells why. The zero value is not usable (its Events never
// delivers nor closes, and Close panics): create one with [Subscribe].
type Subscription struct{ subscription }

// Subscribe validates cfg and starts a subscription delivering events, in
// the background: it returns at once, before the first connection. Invalid
// configurations return an error matching ErrInvalidConfig, and nothing is
// dialled.
//
// ctx owns the subscription: cancelling it (or calling Close) closes the
// connection, ends every goroutine of the subscription and closes its
// channels. Consume with
//
//	for ev := range sub.Events() { … }
//	if err := sub.Err(); err != nil { … } // permanent error; nil after cancel
func Subscribe(ctx context.Context, cfg Config) (*Subscription, error) {
	return newSubscription(ctx, cfg, nil)
}

// newSubscription is Subscribe sending events on out, when not nil,
// instead of the Subscription's own channel (a Group member).
func newSubscription(ctx context.Context, cfg Config, out chan Event) (*Subscription, error) {
	s := new(Subscription)
	if err := s.start(ctx, cfg, modeEvents, out); err != nil {
		return nil, err
	}
	return s, nil
}

// Events returns the channel of events, in the order the server sent them.
// It is closed when the subscription ends. A subscription added to a
// [Group] sends its events on the group's channel instead; its own carries
// nothing.
func (s *Subscription) Events() <-chan Event { return s.own }

// AckMode says when a [BatchSubscription] acknowledges the blocks it
// hands over. The zero value is AckOnReceive.
type AckMode uint8

const (
	// AckOnReceive acks a Batch's blocks as soon as the consumer has
	// received the Batch from Batches (or All has).
	AckOnReceive AckMode = iota
	// AckManual acks a Batch's blocks only when the consumer calls
	// Batch.Ack, typically after storing them; All acks each block once
	// the loop body has returned for its last event.
	AckManual
)

// String returns "on-receive" or "manual".
func (a AckMode) String() string {
	switch a {
	case AckOnReceive:
		return "on-receive"
	case AckManual:
		return "manual"
	}
	return "AckMode(" + strconv.Itoa(int(a)) + ")"
}

// BatchSubscription is one monitor's push session delivering whole blocks,
// several at a time, as [Batch] values on Batches (or events, through All),
// reconnecting on transient failures until its context ends, Close or
// Shutdown is called or a permanent error occurs. Its AckMode says when the
// blocks are acked: with AckOnReceive once a Batch is received (from
// Batches, or by All); with AckManual at Batch.Ack, or, through All, once
// the loop body has returned for a block's last event.
//
// All methods are safe for concurrent use. The channel it returns is
// created, owned and closed by the BatchSubscription, exactly once, after
// which Err tells why. The zero value is not usable (its Batches and All
// never deliver nor end, and Close panics): create one with
// [SubscribeBatches].
type BatchSubscription struct {
	subscription
	it iterState // All's position
}

// SubscribeBatches validates cfg and ack and starts a subscription
// delivering batches, in the background: it returns at once, before the
// first connection. Invalid configurations return an error matching
// ErrInvalidConfig, and nothing is dialled.
//
// ctx owns the subscription, as for Subscribe. Consume with
//
//	for b := range sub.Batches() {
//		if err := store(b.Events()); err != nil { … }
//		b.Ack() // AckManual: only now may the server forget the blocks
//	}
//	if err := sub.Err(); err != nil { … }
//
// or, one event at a time without a channel hand-off per event, with
//
//	for ev, err := range sub.All() { … }
func SubscribeBatches(ctx context.Context, cfg Config, ack AckMode) (*BatchSubscription, error) {
	m := modeBatches
	switch ack {
	case AckOnReceive:
	case AckManual:
		m = modeManualAck
	default:
		return nil, fmt.Errorf("%w: unknown AckMode %d", ErrInvalidConfig, int(ack))
	}
	s := new(BatchSubscription)
	if err := s.start(ctx, cfg, m, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Batches returns the channel of batches of blocks, in the order the
// server sent them (see Batch). It is closed when the subscription ends.
// Each block goes either to a receiver of Batches or to All's loop, never
// to both: use one of them.
func (s *BatchSubscription) Batches() <-chan *Batch { return s.batches }

// AckMode returns the subscription's AckMode.
func (s *BatchSubscription) AckMode() AckMode {
	if s.mode == modeManualAck {
		return AckManual
	}
	return AckOnReceive
}

// String describes the subscription without credentials; a nil
// *Subscription is "<nil>", as a nil *Poller or *HTTPReceiver is.
func (s *Subscription) String() string {
	if s == nil {
		return "<nil>"
	}
	return s.subscription.String()
}

// GoString is the same as String.
func (s *Subscription) GoString() string { return s.String() }

// String describes the subscription without credentials; a nil
// *BatchSubscription is "<nil>".
func (s *BatchSubscription) String() string {
	if s == nil {
		return "<nil>"
	}
	return s.subscription.String()
}

// GoString is the same as String.
func (s *BatchSubscription) GoString() string { return s.String() }
