package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
)

// startBackOff is the wait between start-up attempts: 250 ms doubling to
// 10 s, ±50 %, forever.
func startBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 250 * time.Millisecond
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}

// retry calls f until it succeeds, fails with an error transient reports
// as permanent, or ctx ends (it returns ctx.Err() then), waiting
// startBackOff between attempts and logging each failure.
func retry(ctx context.Context, log *slog.Logger, what string, transient func(error) bool, f func(context.Context) error) error {
	bo := startBackOff()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !transient(err) {
			return err
		}
		wait := bo.NextBackOff()
		log.Warn(what+" failed; retrying", "attempt", attempt, "err", err, "wait", wait.Round(time.Millisecond))
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// connectNATS connects with reconnects that never give up. The first
// connection is retried with backoff until it succeeds or ctx ends:
// NATS may start after the bridge. Unreadable credential or CA files fail
// at once.
func connectNATS(ctx context.Context, o *options, log *slog.Logger) (*nats.Conn, error) {
	for _, f := range []struct{ flag, file string }{{"-creds", o.creds}, {"-nats-ca", o.natsCA}} {
		if f.file == "" {
			continue
		}
		if _, err := os.ReadFile(f.file); err != nil {
			return nil, fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	opts := []nats.Option{
		nats.Name(o.natsName),
		nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1), // see bridge.Config.Conn
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; acknowledging nothing until it is back", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("NATS reconnected", "url", redactNATSURL(c.ConnectedUrl())) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Warn("NATS error", "err", err) }),
	}
	if o.creds != "" {
		opts = append(opts, nats.UserCredentials(o.creds))
	}
	if o.natsCA != "" {
		opts = append(opts, nats.RootCAs(o.natsCA))
	}
	var nc *nats.Conn
	err := retry(ctx, log, "connecting to NATS", func(error) bool { return true }, func(context.Context) error {
		var err error
		nc, err = nats.Connect(o.natsURLs, opts...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	log.Info("NATS connected", "url", redactNATSURL(nc.ConnectedUrl()), "server", nc.ConnectedServerName())
	return nc, nil
}

// redactNATSURL returns a NATS server URL for a log line with its user
// info hidden: the password, and also a user name given without one,
// which the NATS client sends as a token ("nats://TOKEN@host").
// ConnectedUrlRedacted hides only a password. A URL that does not parse
// is not printed at all.
func redactNATSURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED")
		}
	}
	return u.String()
}

// transientJS reports JetStream failures that a later attempt may not
// meet: no answer in time, no JetStream responder yet, the connection
// between servers, JetStream temporarily unavailable.
func transientJS(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrConnectionDraining) ||
		errors.Is(err, nats.ErrDisconnected) ||
		errors.As(err, &api) && api.Code == 503
}

// prepareStream creates or checks the stream, retrying transient failures.
func prepareStream(ctx context.Context, js jetstream.JetStream, o *options, log *slog.Logger) (jetstream.Stream, error) {
	var s jetstream.Stream
	err := retry(ctx, log, "checking the stream", transientJS, func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var err error
		s, err = ensureStream(sctx, js, o)
		return err
	})
	return s, err
}

// ensureStream creates (with -create-stream) or checks the stream once,
// as the flags say: at start-up, and as bridge.Config.CheckStream before
// every session, so that a stream deleted while the bridge runs is
// created again and one changed so that it no longer fits (a shorter
// duplicate window, its subjects gone) takes no events.
func ensureStream(ctx context.Context, js jetstream.JetStream, o *options) (jetstream.Stream, error) {
	want := bridge.StreamConfig(o.streamName, o.prefix)
	want.Duplicates, want.Replicas, want.MaxAge, want.MaxBytes = o.dupWindow, o.replicas, o.maxAge, o.maxBytes
	if o.storage == "memory" {
		want.Storage = jetstream.MemoryStorage
	}
	if o.createStream {
		return bridge.EnsureStream(ctx, js, want, o.prefix, o.updateStream)
	}
	return bridge.CheckStream(ctx, js, want, o.prefix, o.updateStream)
}

// prepareLeases returns the lease bucket of -ha, retrying transient
// failures.
func prepareLeases(ctx context.Context, js jetstream.JetStream, o *options, log *slog.Logger) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := retry(ctx, log, "preparing the lease bucket", transientJS, func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var err error
		kv, err = bridge.EnsureLeaseBucket(sctx, js, o.leaseBucket, o.leaseTTL, o.replicas)
		return err
	})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if st, err := kv.Status(sctx); err == nil {
		if st.TTL() != o.leaseTTL {
			log.Warn("the lease bucket exists with another TTL; its own applies", "bucket", o.leaseBucket,
				"bucket_ttl", st.TTL(), "lease_ttl_flag", o.leaseTTL)
		}
		log.Info("lease bucket ready", "bucket", o.leaseBucket, "ttl", st.TTL(), "replica", o.replicaName)
	}
	return kv, nil
}
