package stream

import (
	"time"
)

// Observer receives what a [Subscription], [HTTPReceiver] or [Poller] does,
// as it happens: a hook for metrics (Prometheus counters, OpenTelemetry
// instruments, a "connected" gauge, a lag histogram) that needs no polling
// of Stats and brings no dependency into this module. Set it in
// Config.Observer, HTTPConfig.Observer or PollerConfig.Observer; a
// [Group]'s members use the one of the config they were added with, so
// one Observer may serve many sources, told apart by [Origin].
//
// Every counter of Stats, HTTPStats and PollStats that has an Observer
// method is incremented in the same place the method is called, with the
// same amount: summed over the calls, what an Observer sees equals what
// Stats reports (each method says which counter it mirrors).
//
// The contract:
//
//   - Methods are called synchronously, on the goroutine doing the work:
//     the subscription's supervisor (which reads the connection), the one
//     writing acks, the consumer's in Batch.Events, the request's in an
//     HTTPReceiver, the poller's. They hold that work up while they run, so
//     they must be fast and must not block: increment a counter, set a
//     gauge, observe a histogram.
//   - Methods may be called concurrently (several goroutines of one source,
//     several sources sharing the Observer), so an implementation must be
//     safe for concurrent use.
//   - They are never called with a lock of the library held (an
//     HTTPReceiver's methods run in the request's turn, so a slow one
//     delays the next push). Still, they must not call back into the
//     source except for its non-blocking accessors (Stats, State,
//     Position): Close and Shutdown wait for the goroutine that runs the
//     method, and so deadlock, as do Group.Close, Group.Remove and
//     Group.Wait of the Group the source is a member of.
//   - A method that panics is not recovered. On a goroutine of the library
//     (a subscription's supervisor or ack writer, a poller's) the panic ends
//     the program, as any goroutine's does; in an HTTPReceiver's request it
//     goes to net/http, which drops the connection unanswered, so the
//     server sends the push again. On the consumer's goroutine (Batch.Events,
//     Batch.Duplicates, Batch.Ack, BatchSubscription.All) it reaches the
//     consumer, and the Batch stays whole: a consumer that recovers still
//     gets all of its events (from Events, or from the next loop over All)
//     and may Ack it.
//   - The info values, and the errors in them, may be kept; none carries
//     event data or credentials. Errors are for classifying (errors.Is,
//     errors.As): their text varies and must not become a metric label.
//
// Embed [NopObserver] in an implementation: methods added to Observer in a
// later version then keep compiling, and do nothing until implemented.
type Observer interface {
	// Connected: a push connection got its ConnectResponse 200
	// (Stats.Connects). TCP only.
	Connected(ConnectInfo)
	// Disconnected: a connection that Connected reported has ended, with
	// its cause. TCP only.
	Disconnected(DisconnectInfo)
	// BlockReceived: a PublishMessage was read (Stats.Blocks). TCP only.
	BlockReceived(BlockInfo)
	// Delivered: events were handed to the consumer (Stats.Events,
	// HTTPStats.Events, PollStats.Events), with their lag.
	Delivered(DeliveryInfo)
	// Duplicates: replays dropped by de-duplication (Stats.Duplicates,
	// HTTPStats.Duplicates); for a Poller, records of the overlap read
	// again (PollStats.Duplicates).
	Duplicates(CountInfo)
	// InvalidEvents: events with Event.Err set, told when their document
	// is split, before the hand-off (Stats.Invalid, HTTPStats.Invalid);
	// Err is the first one's.
	InvalidEvents(InvalidInfo)
	// BadBlock: a TCP block acked and skipped because it could not be
	// inflated or its document exceeds a parsing budget
	// (Stats.BadBlocks); an HTTP push refused (413) because its document
	// exceeds a parsing budget (HTTPStats.OverBudget).
	BadBlock(BadBlockInfo)
	// Undelivered: events received but never handed over because the
	// source or the request ended (Stats.Undelivered,
	// HTTPStats.Undelivered).
	Undelivered(CountInfo)
	// Acked: acks written to the socket (Stats.Acks). TCP only.
	Acked(CountInfo)
	// Answered: an HTTP push was answered (HTTPStats.Delivered,
	// KeepAlives, Unauthorized, Rejected, Unavailable by Status). HTTP
	// only.
	Answered(AnswerInfo)
	// Polled: a history request completed (PollStats.Pages when Err is
	// nil, PollStats.Failures otherwise). Poller only.
	Polled(PollInfo)
}

// NopObserver is an [Observer] that does nothing. Embed it in an Observer
// implementation and override the methods wanted: the implementation then
// keeps compiling when Observer gains methods.
type NopObserver struct{}

func (NopObserver) Connected(ConnectInfo)       {}
func (NopObserver) Disconnected(DisconnectInfo) {}
func (NopObserver) BlockReceived(BlockInfo)     {}
func (NopObserver) Delivered(DeliveryInfo)      {}
func (NopObserver) Duplicates(CountInfo)        {}
func (NopObserver) InvalidEvents(InvalidInfo)   {}
func (NopObserver) BadBlock(BadBlockInfo)       {}
func (NopObserver) Undelivered(CountInfo)       {}
func (NopObserver) Acked(CountInfo)             {}
func (NopObserver) Answered(AnswerInfo)         {}
func (NopObserver) Polled(PollInfo)             {}

var _ Observer = NopObserver{}

// Origin names the source of an observation.
type Origin struct {
	// MonitorID is the source's monitor.
	MonitorID uint32
	// Transport is "tcp" (a Subscription), "http" (an HTTPReceiver) or
	// "polling" (a Poller), as in MemberStatus.
	Transport string
}

// ConnectInfo describes a connection that got its ConnectResponse 200.
type ConnectInfo struct {
	Origin
	// Addr is the push endpoint, host:port.
	Addr string
	// Reconnect is false for the subscription's first connection.
	Reconnect bool
}

// DisconnectInfo describes the end of a connection.
type DisconnectInfo struct {
	Origin
	Addr string
	// Err is why the connection ended: the server closed it (matching
	// io.EOF), a timeout (ErrFrameTimeout, ErrWriteTimeout), a network or
	// protocol error; nil when the subscription was ended by its context,
	// Close or Shutdown.
	Err error
	// Uptime is how long the connection lasted after its ConnectResponse.
	Uptime time.Duration
	// Blocks is the number of blocks it received.
	Blocks uint64
}

// BlockInfo describes a block (PublishMessage) received.
type BlockInfo struct {
	Origin
	// Bytes is the block's payload as received (compressed, when it is).
	Bytes int
}

// DeliveryInfo describes events handed to the consumer: a TCP block's (of
// a Subscription, once its last event was received), a Batch's (of a
// BatchSubscription, when Batch.Events or All first splits it), an HTTP
// push's, a polled record's.
type DeliveryInfo struct {
	Origin
	// Events is how many were handed over.
	Events int
	// Newest is the newest Event.Timestamp among the events of the block,
	// Batch, push or record; zero when none had one (raw documents).
	Newest time.Time
	// Lag is the time from Newest to the hand-off: how old the freshest
	// event was when the consumer got it. It is 0 when Newest is zero, and
	// may be negative when the device's or server's clock is ahead.
	Lag time.Duration
}

// CountInfo is a count of things of one kind: duplicates, undelivered
// events, acks.
type CountInfo struct {
	Origin
	N int
}

// InvalidInfo describes events delivered with Event.Err set.
type InvalidInfo struct {
	Origin
	// N is how many events of the block or push were invalid.
	N int
	// Err is the first one's Event.Err (matching ErrInvalidEvent).
	Err error
}

// BadBlockInfo describes a block (or HTTP push) whose document could not
// be delivered.
type BadBlockInfo struct {
	Origin
	// Err is the cause: protocol.ErrCorruptPayload,
	// protocol.ErrDecompressedTooLarge or ErrDocumentLimit.
	Err error
}

// AnswerInfo describes the answer to an HTTP push.
type AnswerInfo struct {
	Origin
	// Status is the HTTP status: 200 (delivered or keep-alive), 401, 405,
	// 413, 415, 400, 503.
	Status int
	// Reason is a short fixed text: "delivered", "keep-alive",
	// "unauthorized", "too many requests at once", "consumer busy",
	// "receiver stopped", "body too large", … (a small set: it may serve
	// as a label).
	Reason string
}

// PollInfo describes a completed history request.
type PollInfo struct {
	Origin
	// Err is the request's error, nil for a page received.
	Err error
	// Records is the page's number of records.
	Records int
	// Took is the request's duration.
	Took time.Duration
}

// observer is a source's Observer and its Origin; the zero value (no
// Observer) does nothing.
type observer struct {
	o      Observer
	origin Origin
}

func newObserver(o Observer, id uint32, transport string) observer {
	return observer{o: o, origin: Origin{MonitorID: id, Transport: transport}}
}

// delivered reports n events handed over at now, the newest of evs's
// timestamps giving the lag.
func (ob *observer) delivered(n int, evs []Event) {
	if ob.o == nil || n <= 0 {
		return
	}
	var newest time.Time
	for i := range evs {
		if t := evs[i].Timestamp; t.After(newest) {
			newest = t
		}
	}
	info := DeliveryInfo{Origin: ob.origin, Events: n, Newest: newest}
	if !newest.IsZero() {
		info.Lag = time.Since(newest)
	}
	ob.o.Delivered(info)
}

func (ob *observer) duplicates(n int) {
	if ob.o != nil && n > 0 {
		ob.o.Duplicates(CountInfo{Origin: ob.origin, N: n})
	}
}

func (ob *observer) undelivered(n int) {
	if ob.o != nil && n > 0 {
		ob.o.Undelivered(CountInfo{Origin: ob.origin, N: n})
	}
}

func (ob *observer) invalid(n int, first error) {
	if ob.o != nil && n > 0 {
		ob.o.InvalidEvents(InvalidInfo{Origin: ob.origin, N: n, Err: first})
	}
}

func (ob *observer) badBlock(err error) {
	if ob.o != nil {
		ob.o.BadBlock(BadBlockInfo{Origin: ob.origin, Err: err})
	}
}
