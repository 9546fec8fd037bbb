package stream

import (
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/monitor"
)

// Poller defaults.
const (
	// DefaultPollInterval is the wait between polls once the history has
	// been read to its end.
	DefaultPollInterval = 30 * time.Second
	// DefaultPollPageSize is the number of records asked for per request.
	DefaultPollPageSize = 1000
	// DefaultPollOverlap is how far behind the newest delivered record
	// each poll re-reads (PollerConfig.Overlap).
	DefaultPollOverlap = 10 * time.Minute
	// DefaultPollMaxSeen bounds the delivered events a position remembers
	// (PollerConfig.MaxSeen).
	DefaultPollMaxSeen = 10_000
)

// Poller bounds: NewPoller refuses a PollerConfig outside them with an
// error matching ErrInvalidConfig that names the field, rather than adjust
// it, so that a mistake (a unit left out: Interval: 30 is 30 ns) shows at
// once instead of as a load on the REST API or as lost events.
const (
	// MinPollInterval is the shortest PollerConfig.Interval: a shorter
	// wait polls the history API in a loop.
	MinPollInterval = time.Second
	// MaxPollPageSize is the largest PollerConfig.PageSize: the largest
	// page the history API serves.
	MaxPollPageSize = 1000
	// MinPollOverlap is the shortest positive PollerConfig.Overlap (a
	// negative one means none). Events are stored late by seconds to
	// hours, and record times are often to the second.
	MinPollOverlap = time.Second
	// MaxPollOverlap is the longest PollerConfig.Overlap: 30 days.
	MaxPollOverlap = 30 * 24 * time.Hour
	// MaxPollMaxSeen is the largest PollerConfig.MaxSeen: a saved position
	// of about 15 MB.
	MaxPollMaxSeen = 1_000_000
)

// PollerConfig describes a [Poller]. NewPoller copies it. A field outside
// its documented bounds makes NewPoller fail with an error matching
// ErrInvalidConfig that names it; none is adjusted.
type PollerConfig struct {
	// Client is the REST client of the account (required). Its retry
	// policy handles short throttling inside one request; the poller adds
	// its own backoff between requests.
	Client *monitor.Client
	// MonitorID is a polling (or persistent) monitor of the account.
	MonitorID uint32
	// Interval is the wait between polls once the stored events have been
	// read to the end. 0 means DefaultPollInterval (30 s); otherwise it
	// must be at least MinPollInterval (1 s).
	Interval time.Duration
	// PageSize is how many records one request asks for (0: 1000); at most
	// MaxPollPageSize (1000), the history API's largest page. A page
	// larger than the client reads (monitor.LimitBodySize, 32 MiB: a few
	// hundred large FileData records) is asked for again at half the size,
	// down to one record, for the rest of that poll; a page longer than
	// asked for (a server with a page size of its own, which the client
	// refuses: monitor.LimitItems) at DefaultPollPageSize.
	PageSize int
	// Start is where to resume, typically a Position saved by an earlier
	// poller; the zero value starts with the oldest stored event.
	Start PollPosition
	// Overlap is how far behind the newest record time delivered (Since)
	// each poll starts reading again, so that an event the server stores
	// late with an older timestamp — a device uploading what it buffered
	// while offline — is still delivered; what was delivered already is
	// skipped by identity. 0 means DefaultPollOverlap (10 minutes);
	// negative means none (each poll reads from Since on); a positive
	// Overlap must be from MinPollOverlap (1 s) to MaxPollOverlap (30
	// days).
	//
	// The cost is re-reading: each poll reads the events of the last
	// Overlap again, at most MaxSeen of them. Ten minutes keeps that to one
	// page per poll up to about 1.6 events a second, and covers a device
	// that reconnects within ten minutes of an outage; a longer outage
	// needs a longer Overlap (and a MaxSeen that holds its events).
	Overlap time.Duration
	// MaxSeen bounds how many delivered events the position remembers to
	// skip when the overlap is re-read (0: DefaultPollMaxSeen, 10 000; at
	// most MaxPollMaxSeen, 1 000 000; about 15 bytes each in a saved
	// position, 150 KB at 10 000). When the overlap holds more, the
	// oldest are forgotten and the window shrinks from its old end: an
	// event stored late below it is not delivered, and nothing is
	// delivered twice. A record stamped after the server's clock (see
	// Stats.Ahead) is re-read by every poll until the window reaches it:
	// it is remembered while older entries can be forgotten instead, and
	// should such records fill MaxSeen, the first one forgotten may be
	// delivered again (the window is not moved past the clock for it).
	// More than MaxSeen events stamped with one millisecond are all
	// delivered by the poll that reads them first (it reads them in order),
	// and later polls skip that millisecond; a restart from a position
	// saved in the middle of them skips it too (the rest of them is not
	// delivered), and a server that lists one of them twice in that poll
	// may have it delivered twice. Records with no time at all (no event
	// timestamp and no stored time, as a history listing template output
	// as bare strings gives) cannot move the window: beyond MaxSeen of
	// them, each poll delivers them again.
	MaxSeen int
	// NewBackOff is the policy for failed requests, called once per
	// NewPoller, on its caller's goroutine; nil means DefaultBackOff. A
	// server's Retry-After is honoured when it is longer, up to an hour. A
	// policy returning backoff.Stop ends the poller with the last error;
	// a NewBackOff that returns nil makes NewPoller fail with
	// ErrInvalidConfig.
	NewBackOff func() backoff.BackOff
	// Logger receives poll-level logs (never event data, never
	// credentials), with the context given to NewPoller (its values, such
	// as a trace span; not its cancellation). nil means no logging.
	Logger *slog.Logger
	// Observer is told of requests, events and duplicates as they happen,
	// for metrics (see Observer). nil means none.
	Observer Observer
}

// check validates cfg against the bounds documented on its fields and
// fills in the defaults of its zero fields.
func (cfg *PollerConfig) check() error {
	bad := invalidConfig
	switch {
	case cfg.Client == nil:
		return bad("Client is required")
	case cfg.MonitorID == 0:
		return bad("MonitorID is required")
	case cfg.Interval != 0 && cfg.Interval < MinPollInterval:
		return bad("Interval must be 0 (the default, %v) or at least %v (the wait between two polls of the history API), got %v",
			DefaultPollInterval, MinPollInterval, cfg.Interval)
	case cfg.PageSize < 0 || cfg.PageSize > MaxPollPageSize:
		return bad("PageSize must be 0 (the default, %d) or from 1 to %d (the history API's largest page), got %d",
			DefaultPollPageSize, MaxPollPageSize, cfg.PageSize)
	case cfg.Overlap > 0 && (cfg.Overlap < MinPollOverlap || cfg.Overlap > MaxPollOverlap):
		return bad("Overlap must be negative (none), 0 (the default, %v) or from %v to %v, got %v",
			DefaultPollOverlap, MinPollOverlap, MaxPollOverlap, cfg.Overlap)
	case cfg.MaxSeen < 0 || cfg.MaxSeen > MaxPollMaxSeen:
		return bad("MaxSeen must be 0 (the default, %d) or from 1 to %d, got %d",
			DefaultPollMaxSeen, MaxPollMaxSeen, cfg.MaxSeen)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultPollInterval
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPollPageSize
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = DefaultPollOverlap
	}
	if cfg.MaxSeen == 0 {
		cfg.MaxSeen = DefaultPollMaxSeen
	}
	if cfg.NewBackOff == nil {
		cfg.NewBackOff = DefaultBackOff
	}
	return nil
}
