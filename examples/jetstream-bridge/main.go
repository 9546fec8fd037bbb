// Command jetstream-bridge publishes the events of Remote Manager monitors
// to a NATS JetStream stream, losslessly: each block is acknowledged to
// Remote Manager only after JetStream has stored every event of it, and
// replays are removed by JetStream's duplicate window (Nats-Msg-Id is the
// event's identity). See package bridge for the guarantees.
//
//	jetstream-bridge -nats nats://n1:4222,nats://n2:4222 -creds bridge.creds -monitors 123456,123457
//	jetstream-bridge -ha -http-addr :9090 -nats … -monitors …   # one of several replicas
//	jetstream-bridge -demo -count 500      # embedded simulator and NATS server
//
// The Remote Manager user name and password come from RM_USERNAME and
// RM_PASSWORD (-username overrides the former). Use explicit-ack,
// persistent monitors. NATS and the stream are retried with backoff at
// start-up until they answer. With -ha, replicas started with the same
// -monitors and -lease-bucket share the monitors (see bridge.Ownership).
// -http-addr serves /healthz, /readyz and /metrics. SIGINT or SIGTERM
// stops gracefully: no new blocks are taken, what is in flight is stored
// and acknowledged, the leases are released, then the program exits
// (abruptly after -drain-timeout). A second SIGINT or SIGTERM stops it at
// once, as -drain-timeout running out would (what was not acknowledged is
// replayed; leases expire at their TTL); a third kills it. Exit status: 0
// after a signal or -count, 1 on errors (a monitor refused, JetStream
// rejecting an event, the stream not fitting), 2 on bad usage, 128 plus
// the signal's number (130 for SIGINT, 143 for SIGTERM) when a second
// signal stopped it.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

func main() {
	// The first SIGINT or SIGTERM ends ctx: the graceful stop. The second
	// ends now: the stop is cut short. Then the signals' default action is
	// back, so that a third kills the process whatever it is doing.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, drain := context.WithCancel(context.Background())
	now, stopNow := context.WithCancelCause(context.Background())
	go func() {
		<-sigs
		drain()
		sig := <-sigs
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		stopNow(secondSignal{sig})
	}()
	os.Exit(runUntil(ctx, now, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// secondSignal is the cause of now's end in main: the signal that asked
// to stop at once.
type secondSignal struct{ sig os.Signal }

func (e secondSignal) Error() string { return "second signal (" + e.sig.String() + ")" }

// signalName names the signal of now's cause for a log line.
func signalName(cause error) string {
	var s secondSignal
	switch {
	case !errors.As(cause, &s):
		return cause.Error()
	case s.sig == os.Interrupt:
		return "SIGINT"
	case s.sig == syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.sig.String()
}

// exitStatus is the exit status of a run that a second signal stopped:
// 128 plus the signal's number, what a shell shows for a command that
// signal killed; 1 for a cause without a signal.
func exitStatus(cause error) int {
	var s secondSignal
	if errors.As(cause, &s) {
		if n, ok := s.sig.(syscall.Signal); ok {
			return 128 + int(n)
		}
	}
	return 1
}

// run is runUntil without a second signal.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return runUntil(ctx, context.Background(), args, getenv, stdout, stderr)
}

// runUntil is main without the process: testable, every exit path
// returning its status. ctx ending (a first SIGINT or SIGTERM) starts the
// graceful shutdown; now ending (a second one) stops at once: the drain is
// cut short, and the status is exitStatus(context.Cause(now)), whatever
// else happened.
func runUntil(ctx, now context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	told := make(chan struct{})
	stopTelling := context.AfterFunc(now, func() {
		defer close(told)
		log.Warn("jetstream-bridge: second signal received: stopping now, without waiting for the drain; "+
			"Remote Manager will replay what was not acknowledged", "signal", signalName(context.Cause(now)))
	})
	err = serve(ctx, now, o, log, stdout)
	if !stopTelling() {
		<-told
	}
	if err != nil {
		log.Error("jetstream-bridge: " + err.Error())
	}
	if now.Err() != nil {
		code := exitStatus(context.Cause(now))
		log.Error("jetstream-bridge: stopped at once by a second signal", "signal", signalName(context.Cause(now)), "exit_status", code)
		return code
	}
	if err != nil {
		return 1
	}
	return 0
}

// serve is the program after flag parsing. ctx ending starts the graceful
// stop; now ending cuts it short.
func serve(ctx, now context.Context, o *options, log *slog.Logger, stdout io.Writer) error {
	push := stream.Config{
		Host:      o.host,
		Addr:      o.pushAddr,
		Username:  o.username,
		Password:  secret.New(o.password),
		Plaintext: o.plaintext,
	}
	if o.pushAddr != "" {
		push.Host = "" // the TLS server name is the push address's host
	}
	if o.caFile != "" {
		pool, err := loadPool(o.caFile)
		if err != nil {
			return err
		}
		push.TLSConfig = &tls.Config{RootCAs: pool}
	}
	if o.demo {
		d, err := startDemo(ctx, o, log)
		if err != nil {
			return err
		}
		defer d.close()
		o.natsURLs, o.monitors = d.natsURL, []uint32{d.monitor}
		push = stream.Config{Addr: d.pushAddr, TLSConfig: d.tls, Username: d.user, Password: secret.New(d.password)}
		if o.count == 0 {
			o.count = 200
		}
	}

	// The endpoints answer from the start: /readyz says 503 until NATS is
	// connected and the stream verified.
	st := newState()
	if o.httpAddr != "" {
		h, err := startHTTP(o.httpAddr, st, log)
		if err != nil {
			return err
		}
		defer h.close()
	}
	nc, err := connectNATS(ctx, o, log)
	if err != nil {
		return startErr(ctx, log, err)
	}
	defer nc.Close()
	st.nc.Store(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	s, err := prepareStream(ctx, js, o, log)
	if err != nil {
		return startErr(ctx, log, err)
	}
	info := s.CachedInfo()
	log.Info("stream ready", "stream", info.Config.Name, "subjects", info.Config.Subjects,
		"storage", info.Config.Storage.String(), "replicas", info.Config.Replicas,
		"duplicate_window", info.Config.Duplicates, "messages", info.State.Msgs)
	var own *bridge.Ownership
	if o.ha {
		kv, err := prepareLeases(ctx, js, o, log)
		if err != nil {
			return startErr(ctx, log, err)
		}
		own = &bridge.Ownership{Leases: kv, Replica: o.replicaName, StandByAfter: o.standByAfter}
	}
	st.verified.Store(true)

	push.Observer = st.push // the per-monitor push metrics, as the subscriptions count
	b, err := bridge.New(bridge.Config{
		Conn: nc, Stream: o.streamName, SubjectPrefix: o.prefix, Push: push, Monitors: o.monitors,
		MaxPending: o.maxPending, AckTimeout: o.ackTimeout, Logger: log, Ownership: own,
		ObserveStore: st.observe,
		CheckStream: func(ctx context.Context) error {
			_, err := ensureStream(ctx, js, o)
			return err
		},
	})
	if err != nil {
		return err
	}
	st.bridge.Store(b)
	if o.progress > 0 {
		pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
		var pwg sync.WaitGroup
		pwg.Go(func() { logProgress(pctx, o.progress, st, log) })
		defer func() {
			pcancel()
			pwg.Wait()
		}()
	}
	// Run's own context is never cancelled by a signal: cancelling it
	// would stop abruptly. The signal starts Shutdown instead.
	done := make(chan error, 1)
	go func() { done <- b.Run(context.WithoutCancel(ctx)) }()
	if own != nil {
		log.Info("bridging as a replica", "replica", own.Replica, "lease_bucket", o.leaseBucket,
			"monitors", o.monitors, "stream", o.streamName, "subjects", o.prefix+".>")
	} else {
		log.Info("bridging", "monitors", o.monitors, "stream", o.streamName, "subjects", o.prefix+".>")
	}

	stopAt := make(chan struct{})
	if o.count > 0 {
		// The watcher polls on the NATS connection, so it must end before
		// serve returns and the connection is closed, whichever way the
		// bridge stops.
		wctx, wcancel := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			watchCount(wctx, s, uint64(o.count), stopAt)
		}()
		defer func() {
			wcancel()
			<-watched
		}()
	}
	var runErr error
	select {
	case runErr = <-done:
		// Every monitor stopped for good.
		return report(log, b, runErr)
	case <-ctx.Done():
		log.Info("signal received: finishing in-flight blocks (a second signal stops at once)", "drain_timeout", o.drainTimeout)
	case <-stopAt:
		log.Info("count reached: finishing in-flight blocks")
	}
	st.draining.Store(true) // /readyz: 503 from now on
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), o.drainTimeout)
	defer dcancel()
	defer context.AfterFunc(now, dcancel)() // a second signal ends the drain
	if err := b.Shutdown(dctx); err != nil {
		if now.Err() != nil {
			log.Warn("drain cut short by a second signal: stopped abruptly; Remote Manager will replay what was not acknowledged")
		} else {
			log.Warn("drain timed out: stopped abruptly; Remote Manager will replay what was not acknowledged", "err", err)
		}
	}
	runErr = <-done
	if o.demo && now.Err() == nil {
		printSample(stdout, s, 3)
	}
	return report(log, b, runErr)
}

// report logs the bridge's counters and returns runErr.
func report(log *slog.Logger, b *bridge.Bridge, runErr error) error {
	st := b.Stats()
	log.Info("stopped", "blocks", st.Blocks, "events", st.Events, "stored", st.Stored,
		"duplicates", st.Duplicates, "acked", st.Acked, "ack_lost", st.AckLost,
		"sessions", st.Sessions, "failures", st.Failures,
		"leases_acquired", st.LeasesAcquired, "leases_released", st.LeasesReleased, "fenced", st.Fenced, "stand_bys", st.StandBys)
	return runErr
}

// watchCount closes stopAt once the stream holds n messages.
func watchCount(ctx context.Context, s jetstream.Stream, n uint64, stopAt chan<- struct{}) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := s.Info(ictx)
		cancel()
		if err == nil && info.State.Msgs >= n {
			close(stopAt)
			return
		}
	}
}

// startErr is the result of a start-up step that failed: nil when a
// signal ended it (exit status 0), else err.
func startErr(ctx context.Context, log *slog.Logger, err error) error {
	if ctx.Err() != nil {
		log.Info("signal received before the bridge started")
		return nil
	}
	return err
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-ca-file %s holds no PEM certificate", file)
	}
	return pool, nil
}
