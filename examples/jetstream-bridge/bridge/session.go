package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/stream"
)

// runMonitor runs sessions for one monitor until ctx ends (abruptly),
// stop is closed (gracefully: the session in progress acks what it
// stored), or a permanent error.
func (b *Bridge) runMonitor(ctx context.Context, m *monitorState, stop <-chan struct{}) error {
	stopping := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	bo := b.cfg.NewBackOff()
	bo.Reset()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if ctx.Err() != nil || stopping() {
			return nil
		}
		m.setPhase(MonitorStarting)
		progress, err := b.session(ctx, m, stop)
		if ctx.Err() != nil {
			return nil
		}
		if stopping() {
			if err != nil {
				b.log(slog.LevelWarn, "bridge: shutdown left blocks un-acknowledged; Remote Manager will replay them",
					"monitor_id", m.id, "err", err)
			}
			return nil
		}
		b.stats.failures.Add(1)
		m.setErr(err)
		if permanent(err) {
			b.log(slog.LevelError, "bridge: monitor stopped", "monitor_id", m.id, "err", err)
			return err
		}
		if progress {
			bo.Reset()
		}
		wait := bo.NextBackOff()
		if wait == backoff.Stop {
			b.log(slog.LevelError, "bridge: monitor gave up", "monitor_id", m.id, "err", err)
			return err
		}
		b.log(slog.LevelWarn, "bridge: session failed; un-acknowledged blocks will be replayed",
			"monitor_id", m.id, "err", err, "wait", wait)
		m.setPhase(MonitorRetrying)
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-timer.C:
		}
	}
}

// permanent reports errors that another session cannot fix.
func permanent(err error) bool {
	return errors.Is(err, ErrRejected) || errors.Is(err, ErrConnClosed) || stream.IsPermanent(err)
}

// session runs one push subscription of monitor m with its publish
// pipeline, until an error, ctx's end, or stop (a graceful end). progress
// reports whether a block was acknowledged.
//
// Cancelling ctx closes the push connection at once, whatever the
// pipeline is doing: the subscription is bound to ctx. Ownership relies
// on it to fence a replica whose NATS connection hangs.
func (b *Bridge) session(ctx context.Context, m *monitorState, stop <-chan struct{}) (progress bool, err error) {
	p := newPipeline(b, m, stop)
	p.js, err = jetstream.New(b.cfg.Conn,
		jetstream.WithPublishAsyncMaxPending(b.maxAsync),
		jetstream.WithPublishAsyncAckHandler(p.onAck),
		jetstream.WithPublishAsyncErrHandler(p.onErr))
	if err != nil {
		return false, err
	}
	// Fails whatever is still pending and removes the reply subscription,
	// so an abandoned session leaves nothing behind.
	defer p.forget()
	defer p.js.CleanupPublisher()

	// A connection lost during the session ends it: what was in flight
	// may be lost, and publishing on would store later events ahead of
	// their replay. The listener is registered first so that no change
	// after the check below goes unseen.
	p.connLost = b.cfg.Conn.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer b.cfg.Conn.RemoveStatusListener(p.connLost)

	// Take no block while JetStream cannot store it.
	if b.cfg.Conn.IsClosed() {
		return false, ErrConnClosed
	}
	if st := b.cfg.Conn.Status(); st != nats.CONNECTED {
		return false, fmt.Errorf("%w: the NATS connection is %v", ErrJetStreamUnavailable, st)
	}
	pctx, pcancel := context.WithTimeout(ctx, b.cfg.AckTimeout)
	if check := b.cfg.CheckStream; check != nil {
		err = check(pctx)
	} else {
		_, err = p.js.Stream(pctx, b.cfg.Stream)
	}
	pcancel()
	if err != nil {
		return false, fmt.Errorf("%w: stream %q: %w", ErrJetStreamUnavailable, b.cfg.Stream, err)
	}

	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	pcfg := b.cfg.Push
	pcfg.MonitorID = m.id
	sub, err := stream.SubscribeBatches(sctx, pcfg, stream.AckManual)
	if err != nil {
		return false, err
	}
	defer sub.Close()
	m.sub.Store(sub)
	defer m.sub.Store(nil)
	p.batches, p.srcErr = sub.Batches(), sub.Err
	b.stats.sessions.Add(1)
	b.log(slog.LevelInfo, "bridge: session started", "monitor_id", m.id, "stream", b.cfg.Stream)

	err = p.run(sctx)
	if ctx.Err() == nil {
		// Not killed (a graceful stop or a failure): the acks of the
		// confirmed blocks must reach Remote Manager before the push
		// connection closes; a lost one only costs a replay that
		// JetStream de-duplicates.
		fctx, fcancel := context.WithTimeout(ctx, ackFlushWait)
		sub.Shutdown(fctx)
		fcancel()
	}
	return p.progress, err
}
