package bridge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errLeaseLost ends a lease holder whose lease was taken, expired or could
// not be renewed for a TTL.
var errLeaseLost = errors.New("bridge: lease lost")

// lease is this replica's hold on one monitor.
type lease struct {
	m       *monitorState
	key     string
	value   []byte
	rev     uint64    // of the last successful write; the holder's own
	renewed time.Time // when that write was sent (monotonic); the holder's own

	release   chan struct{} // closed by handOver
	once      sync.Once
	releasing atomic.Bool
}

func newLease(m *monitorState, value []byte, rev uint64, sent time.Time) *lease {
	return &lease{m: m, key: leaseKey(m.id), value: value, rev: rev, renewed: sent, release: make(chan struct{})}
}

// handOver asks the holder to end the session gracefully and release the
// lease. Safe to call many times, from any goroutine.
func (l *lease) handOver() {
	l.once.Do(func() {
		l.releasing.Store(true)
		close(l.release)
	})
}

// runner is one run of a monitor's session loop under a lease.
type runner struct {
	cancel    context.CancelFunc // abrupt: closes the push connection at once
	cancelled bool               // cancel was called (the holder's own)
	stop      chan struct{}      // graceful
	stopOnce  sync.Once
	done      chan struct{}
	err       error // runMonitor's result, once done is closed
}

func (b *Bridge) startRunner(ctx context.Context, m *monitorState) *runner {
	rctx, cancel := context.WithCancel(ctx)
	r := &runner{cancel: cancel, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer cancel()
		r.err = b.runMonitor(rctx, m, r.stop)
	}()
	return r
}

func (r *runner) abort() {
	r.cancelled = true
	r.cancel()
}

func (r *runner) finish() { r.stopOnce.Do(func() { close(r.stop) }) }

// renewal is the outcome of one lease renewal.
type renewal struct {
	sent time.Time
	rev  uint64
	err  error
}

// holdLease runs monitor l.m while this replica holds its lease: it renews
// the lease, fences the session when the renewals fall behind, and
// releases the lease after a graceful end (handOver, Shutdown) or a
// permanent error of the monitor, which it returns. It returns nil when
// ctx ends (leaving the lease to expire, as a crash would) and
// errLeaseLost when the lease is gone. When it returns, the monitor's
// session loop has ended and no renewal is in flight.
func (b *Bridge) holdLease(ctx context.Context, t leaseTiming, l *lease) (err error) {
	m := l.m
	m.owned.Store(true)
	m.leasePhase.Store(0)
	b.log(slog.LevelInfo, "bridge: lease acquired", "monitor_id", m.id, "replica", b.cfg.Ownership.Replica)
	run := b.startRunner(ctx, m)
	var (
		renewing  chan renewal // non-nil while a renewal is in flight
		fenced    bool         // the session is stopped for want of a renewal
		releasing bool
	)
	renewT := time.NewTimer(t.renewEvery)
	defer renewT.Stop()
	fenceT := time.NewTimer(max(0, t.fenceAfter-time.Since(l.renewed)))
	defer fenceT.Stop()
	defer func() {
		if run != nil {
			run.abort()
			<-run.done
		}
		if renewing != nil {
			<-renewing
		}
		m.owned.Store(false)
		m.leasePhase.Store(0)
		if err != nil && !errors.Is(err, errLeaseLost) {
			m.setPhase(MonitorStopped)
		} else {
			m.setPhase(MonitorUnowned)
		}
	}()
	release := func() {
		if renewing != nil {
			// A renewal in flight would change the revision under the
			// delete.
			if r := <-renewing; r.err == nil {
				l.rev = r.rev
			}
			renewing = nil
		}
		if b.deleteLease(ctx, t, l) {
			b.stats.leasesReleased.Add(1)
		}
	}
	// gracefully starts a graceful end, reporting whether it is over.
	gracefully := func() bool {
		releasing = true
		m.leasePhase.Store(int32(MonitorReleasing))
		if run == nil {
			release()
			return true
		}
		run.finish()
		return false
	}
	stop, handOver := b.stop, l.release
	var runDone <-chan struct{} = run.done
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			stop, handOver = nil, nil
			if gracefully() {
				return nil
			}
		case <-handOver:
			stop, handOver = nil, nil
			if gracefully() {
				return nil
			}
		case <-runDone:
			r := run
			run, runDone = nil, nil
			switch {
			case ctx.Err() != nil:
				return nil
			case releasing:
				release()
				return nil
			case !r.cancelled:
				// runMonitor returns by itself only for good.
				release()
				return r.err
			case !fenced:
				// Fenced, then renewed while the session was closing.
				run = b.startRunner(ctx, m)
				runDone = run.done
			}
		case <-fenceT.C:
			age := time.Since(l.renewed)
			switch {
			case age >= t.ttl:
				b.stats.leasesLost.Add(1)
				b.log(slog.LevelWarn, "bridge: lease not renewed for its TTL: giving the monitor up",
					"monitor_id", m.id, "since_renewal", age.Round(time.Millisecond))
				return errLeaseLost
			case age >= t.fenceAfter:
				if !fenced {
					fenced = true
					m.leasePhase.Store(int32(MonitorFenced))
					b.stats.fenced.Add(1)
					b.log(slog.LevelWarn, "bridge: lease not renewed in time: push session stopped until a renewal succeeds",
						"monitor_id", m.id, "since_renewal", age.Round(time.Millisecond), "ttl", t.ttl)
					if run != nil {
						run.abort()
					}
				}
				fenceT.Reset(t.ttl - age)
			default:
				fenceT.Reset(t.fenceAfter - age)
			}
		case <-renewT.C:
			if renewing == nil {
				renewing = b.renew(ctx, t, l.key, l.value, l.rev)
			}
		case r := <-renewing:
			renewing = nil
			switch {
			case r.err == nil:
				l.rev, l.renewed = r.rev, r.sent
				renewT.Reset(max(0, t.renewEvery-time.Since(r.sent)))
				if fenced && time.Since(r.sent) < t.fenceAfter {
					fenced = false
					if !releasing {
						m.leasePhase.Store(0)
					}
					b.log(slog.LevelInfo, "bridge: lease renewed again: resuming the push session", "monitor_id", m.id)
					if run == nil && !releasing {
						run = b.startRunner(ctx, m)
						runDone = run.done
					}
				}
				if !fenced {
					fenceT.Reset(t.fenceAfter - time.Since(r.sent))
				}
			case errors.Is(r.err, jetstream.ErrKeyRevisionMismatch) || errors.Is(r.err, jetstream.ErrKeyNotFound):
				b.stats.leasesLost.Add(1)
				b.log(slog.LevelWarn, "bridge: lease taken or expired: push session stopped", "monitor_id", m.id, "err", r.err)
				return errLeaseLost
			default:
				b.log(slog.LevelDebug, "bridge: lease renewal failed", "monitor_id", m.id, "err", r.err)
				renewT.Reset(t.renewEvery / 2)
			}
		}
	}
}

// renew updates the lease at revision rev on its own goroutine, so that a
// hanging NATS connection cannot delay the fencing, and delivers the
// outcome on the returned channel.
func (b *Bridge) renew(ctx context.Context, t leaseTiming, key string, value []byte, rev uint64) chan renewal {
	out := make(chan renewal, 1)
	kv := b.cfg.Ownership.Leases
	go func() {
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, t.fenceAfter)
		defer cancel()
		n, err := kv.Update(rctx, key, value, rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// A renewal whose answer was lost (it timed out here) may
			// have been stored. If the latest write is still ours, the
			// lease is: this process's value is written only by the
			// monitor's one holder here.
			if rev, ok := ours(rctx, kv, key, value); ok {
				sent = time.Now()
				n, err = kv.Update(rctx, key, value, rev)
			}
		}
		out <- renewal{sent: sent, rev: n, err: err}
	}()
	return out
}

// ours reports whether the latest write of key holds value (this
// replica's name and process), and its revision.
func ours(ctx context.Context, kv jetstream.KeyValue, key string, value []byte) (uint64, bool) {
	e, err := kv.Get(ctx, key)
	if err != nil || e.Operation() != jetstream.KeyValuePut || !bytes.Equal(e.Value(), value) {
		return 0, false
	}
	return e.Revision(), true
}

// deleteLease deletes the lease if it is still at the holder's revision,
// reporting whether it did. Nothing is lost when it cannot: the lease
// expires at its TTL.
func (b *Bridge) deleteLease(ctx context.Context, t leaseTiming, l *lease) bool {
	dctx, cancel := context.WithTimeout(ctx, t.opTimeout)
	defer cancel()
	if err := b.cfg.Ownership.Leases.Delete(dctx, l.key, jetstream.LastRevision(l.rev)); err != nil {
		b.log(slog.LevelWarn, "bridge: lease not released; it expires at its TTL", "monitor_id", l.m.id, "err", err)
		return false
	}
	b.log(slog.LevelInfo, "bridge: lease released", "monitor_id", l.m.id)
	return true
}
