// Command jetstream-bridge publishes the events of Remote Manager monitors
// to a NATS JetStream stream, losslessly: each block is acknowledged to
// Remote Manager only after JetStream has stored every event of it, and
// replays are removed by JetStream's duplicate window (Nats-Msg-Id is the
// event's identity). See package bridge for the guarantees.
//
//	jetstream-bridge -nats nats://n1:4222,nats://n2:4222 -creds bridge.creds -monitors 123456,123457
//	jetstream-bridge -demo -count 500      # embedded simulator and NATS server
//
// The Remote Manager user name and password come from RM_USERNAME and
// RM_PASSWORD (-username overrides the former). Use explicit-ack,
// persistent monitors. SIGINT or SIGTERM stops gracefully: no new blocks
// are taken, what is in flight is stored and acknowledged, then the
// program exits (abruptly after -drain-timeout). Exit status: 0 after a
// signal or -count, 1 on errors (a monitor refused, JetStream rejecting an
// event, the stream not fitting), 2 on bad usage.
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
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
	"github.com/pushmon/pushmon/stream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command line.
type options struct {
	natsURLs     string
	creds        string
	natsCA       string
	natsName     string
	streamName   string
	prefix       string
	storage      string
	replicas     int
	dupWindow    time.Duration
	maxAge       time.Duration
	maxBytes     int64
	createStream bool
	updateStream bool

	host      string
	pushAddr  string
	caFile    string
	plaintext bool
	monitors  []uint32
	username  string
	password  string

	maxPending   int
	ackTimeout   time.Duration
	drainTimeout time.Duration
	logLevel     slog.Level

	ha          bool
	leaseBucket string
	leaseTTL    time.Duration
	replicaName string
	httpAddr    string
	progress    time.Duration

	demo  bool
	count int
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("jetstream-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The defaults from the environment are applied after parsing, so that
	// the usage neither repeats them nor prints $NATS_URL (it may hold
	// credentials).
	fs.StringVar(&o.natsURLs, "nats", "", "comma-separated NATS server URLs (default $NATS_URL, else "+nats.DefaultURL+")")
	fs.StringVar(&o.creds, "creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&o.natsCA, "nats-ca", "", "PEM file of CA certificates for NATS TLS")
	fs.StringVar(&o.natsName, "nats-name", "pushmon-jetstream-bridge", "NATS connection name")
	fs.StringVar(&o.streamName, "stream", bridge.DefaultStream, "JetStream stream name")
	fs.StringVar(&o.prefix, "subject-prefix", bridge.DefaultSubjectPrefix, "first token(s) of every subject: PREFIX.<customer>.<Resource>.<path>")
	fs.StringVar(&o.storage, "storage", "file", "storage of a created stream: file or memory")
	fs.IntVar(&o.replicas, "replicas", 1, "replicas of a created stream (3 on a cluster)")
	fs.DurationVar(&o.dupWindow, "dup-window", bridge.DefaultDuplicateWindow, "duplicate window: at least the longest time the bridge may be down")
	fs.DurationVar(&o.maxAge, "max-age", 0, "max age of messages in a created stream (0: unlimited)")
	fs.Int64Var(&o.maxBytes, "max-bytes", -1, "max bytes of a created stream (-1: unlimited)")
	fs.BoolVar(&o.createStream, "create-stream", true, "create the stream when it does not exist")
	fs.BoolVar(&o.updateStream, "update-stream", false, "add the subjects to / raise the duplicate window of an existing stream that lacks them")

	fs.StringVar(&o.host, "host", "remotemanager.digi.com", "Remote Manager host (push on port 3201, TLS); ignored with -push-addr")
	fs.StringVar(&o.pushAddr, "push-addr", "", "push endpoint HOST:PORT (default: -host on port 3201, 3200 with -plaintext); when set, -host is ignored, also as the TLS server name: this HOST is verified instead")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust for push TLS")
	fs.BoolVar(&o.plaintext, "plaintext", false, "push without TLS (port 3200); credentials cross the network in clear")
	monitors := fs.String("monitors", "", "comma-separated ids of the monitors to bridge (explicit-ack, persistent)")
	fs.StringVar(&o.username, "username", "", "Remote Manager user (default $RM_USERNAME); the password is read from $RM_PASSWORD")

	fs.IntVar(&o.maxPending, "max-pending", bridge.DefaultMaxPending, "events per monitor published and awaiting their PubAck")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", bridge.DefaultAckTimeout, "wait for a block's PubAcks before the session is abandoned and replayed")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "on SIGINT/SIGTERM, wait this long for in-flight blocks to be stored and acked")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")

	fs.BoolVar(&o.ha, "ha", false, "share -monitors with the other replicas using the same -lease-bucket: each monitor is bridged by the one replica holding its lease")
	fs.StringVar(&o.leaseBucket, "lease-bucket", bridge.DefaultLeaseBucket, "JetStream key-value bucket of the leases (-ha); created when missing")
	fs.DurationVar(&o.leaseTTL, "lease-ttl", bridge.DefaultLeaseTTL, "lease TTL of a created -lease-bucket: a crashed replica's monitors are taken over about this long after; sessions stop when renewals are TTL/2 late")
	fs.StringVar(&o.replicaName, "replica-name", "", "this replica's name in the lease bucket, unique among the replicas: letters, digits, '-', '_' (default: host name and a random suffix)")
	fs.StringVar(&o.httpAddr, "http-addr", "", "serve /healthz, /readyz and /metrics (Prometheus) on this HOST:PORT (default: none)")
	fs.DurationVar(&o.progress, "progress", time.Minute, "log a progress line this often (0: never)")

	fs.BoolVar(&o.demo, "demo", false, "run against an embedded Remote Manager simulator and NATS server with generated events")
	fs.IntVar(&o.count, "count", 0, "stop gracefully once the stream holds this many messages, those it held at the start included (0: run until a signal; 200 with -demo)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: jetstream-bridge [flags] -monitors ID[,ID…]\n"+
			"       jetstream-bridge -demo [-count N]\n\n"+
			"Remote Manager credentials come from RM_USERNAME and RM_PASSWORD.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	bad := func(format string, a ...any) (*options, error) {
		err := usageError{fmt.Sprintf(format, a...)}
		fmt.Fprintln(stderr, "jetstream-bridge:", err)
		return nil, err
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %q (credentials come from RM_USERNAME and RM_PASSWORD)", fs.Args())
	}
	if o.natsURLs == "" {
		o.natsURLs = getenv("NATS_URL")
	}
	if o.natsURLs == "" {
		o.natsURLs = nats.DefaultURL
	}
	if o.username == "" {
		o.username = getenv("RM_USERNAME")
	}
	o.password = getenv("RM_PASSWORD")
	for _, f := range strings.Split(*monitors, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 32)
		if err != nil || id == 0 {
			return bad("-monitors: %q is not a monitor id", f)
		}
		o.monitors = append(o.monitors, uint32(id))
	}
	if !o.demo {
		if len(o.monitors) == 0 {
			return bad("-monitors is required (or -demo)")
		}
		if o.username == "" || o.password == "" {
			return bad("RM_USERNAME (or -username) and RM_PASSWORD are required (or -demo)")
		}
	}
	if o.storage != "file" && o.storage != "memory" {
		return bad("-storage must be file or memory")
	}
	if o.replicas < 1 || o.replicas > 5 {
		return bad("-replicas must be 1…5")
	}
	if o.dupWindow <= 0 || o.maxAge < 0 || o.ackTimeout <= 0 || o.drainTimeout < 0 || o.maxPending < 1 || o.count < 0 {
		return bad("-dup-window, -ack-timeout and -max-pending must be positive; -max-age, -drain-timeout and -count not negative")
	}
	if err := bridge.ValidPrefix(o.prefix); err != nil {
		return bad("-subject-prefix: %v", err)
	}
	if o.pushAddr != "" {
		if _, _, err := net.SplitHostPort(o.pushAddr); err != nil {
			return bad("-push-addr must be HOST:PORT")
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return bad("-log-level: %v", err)
	}
	if o.progress < 0 {
		return bad("-progress must not be negative")
	}
	if o.ha {
		if o.leaseTTL < bridge.MinLeaseTTL {
			return bad("-lease-ttl must be at least %v", bridge.MinLeaseTTL)
		}
		if o.replicaName == "" {
			o.replicaName = bridge.DefaultReplicaName()
		}
		if err := bridge.ValidReplicaName(o.replicaName); err != nil {
			return bad("-replica-name: %v", err)
		}
	}
	if o.httpAddr != "" {
		if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
			return bad("-http-addr must be HOST:PORT")
		}
	}
	return o, nil
}

// run is main without the process: testable, every exit path returning
// its status. ctx ending (SIGINT, SIGTERM) starts the graceful shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	if err := serve(ctx, o, log, stdout); err != nil {
		log.Error("jetstream-bridge: " + err.Error())
		return 1
	}
	return 0
}

// serve is the program after flag parsing.
func serve(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer) error {
	push := stream.Config{
		Host:      o.host,
		Addr:      o.pushAddr,
		Username:  o.username,
		Password:  o.password,
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
		push = stream.Config{Addr: d.pushAddr, TLSConfig: d.tls, Username: d.user, Password: d.password}
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
		own = &bridge.Ownership{Leases: kv, Replica: o.replicaName}
	}
	st.verified.Store(true)

	b, err := bridge.New(bridge.Config{
		Conn: nc, Stream: o.streamName, SubjectPrefix: o.prefix, Push: push, Monitors: o.monitors,
		MaxPending: o.maxPending, AckTimeout: o.ackTimeout, Logger: log, Ownership: own,
		ObserveStore: st.observe,
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
		log.Info("signal received: finishing in-flight blocks", "drain_timeout", o.drainTimeout)
	case <-stopAt:
		log.Info("count reached: finishing in-flight blocks")
	}
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), o.drainTimeout)
	defer dcancel()
	if err := b.Shutdown(dctx); err != nil {
		log.Warn("drain timed out: stopped abruptly; Remote Manager will replay what was not acknowledged", "err", err)
	}
	runErr = <-done
	if o.demo {
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
		"leases_acquired", st.LeasesAcquired, "leases_released", st.LeasesReleased, "fenced", st.Fenced)
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
