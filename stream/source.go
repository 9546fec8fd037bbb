package stream

// Source is one monitor's stream of events, whatever the transport: a TCP
// push [*Subscription], an [*HTTPReceiver] for an http
// monitor, or a [*Poller] over a polling monitor's history. All of them
// deliver the same [Event] for the same server event, so consumer code
// does not depend on how events arrive, and a [Group] can run any mix.
//
// The contract, which every implementation in this package keeps: the
// Source creates, owns and closes the channel Events returns, exactly
// once, when it ends; Err then reports a permanent error, or nil when it
// was ended by its context or Close; Done is closed after Events, once
// every goroutine of the Source has returned; Close ends it, waits for
// Done and returns Err, and may be called any number of times from any
// goroutine.
type Source interface {
	Events() <-chan Event
	Err() error
	Close() error
	Done() <-chan struct{}
}

// Sources may also report their connection state; a Group shows it in
// [MemberStatus].
type stateReporter interface{ State() State }

var (
	_ Source        = (*Subscription)(nil)
	_ stateReporter = (*Subscription)(nil)
)
