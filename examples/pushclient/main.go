// Command pushclient creates a Remote Manager monitor, receives its events
// over the TCP push protocol and prints them; on exit it deletes the
// monitor. It is the Go port of the original push_client.py.
//
//	pushclient [flags] username password
//	pushclient -demo                       # embedded simulator, no account
//	pushclient -transport http -listen :8080 -public-url https://host/hook user pass
//	pushclient -transport polling -interval 30s user pass
//	pushclient [flags] monitors list|reset ID|delete ID [username password]
//
// Credentials may also come from RM_USERNAME and RM_PASSWORD. Logs go to
// stderr, events to stdout (-output text or ndjson). Exit status: 0 on
// Ctrl-C or after -count events, 1 on errors (bad credentials included),
// 2 on bad usage.
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
	"strings"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
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
	host          string
	topics        string
	insecure      bool
	apiURL        string
	pushAddr      string
	caFile        string
	compression   string
	format        string
	batchSize     int
	batchDuration int
	ack           string
	replay        bool
	monitorID     uint
	keep          bool
	output        string
	count         int
	demo          bool
	username      string
	password      string

	// transports.go and monitors.go
	transport  string        // tcp, http or polling
	listen     string        // http: address to serve on
	publicURL  string        // http: URL registered on the monitor
	token      string        // http: push token (default random)
	interval   time.Duration // polling
	schemaFile string        // handlebars template
	cmd        []string      // "monitors list|reset ID|delete ID"
}

// usageError is bad usage. parseFlags returns one (or flag.ErrHelp) only
// after the message and the usage text are on stderr — printed by the flag
// package or by bad — and run exits 2 on it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("pushclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, names []string, def, usage string) {
		for _, n := range names {
			fs.StringVar(p, n, def, usage)
		}
	}
	integer := func(p *int, names []string, def int, usage string) {
		for _, n := range names {
			fs.IntVar(p, n, def, usage)
		}
	}
	str(&o.host, []string{"host"}, "remotemanager.digi.com", "Remote Manager host (REST on https, push on 3201)")
	str(&o.topics, []string{"topics", "t"}, "DeviceCore", "comma-separated topics to monitor")
	fs.BoolVar(&o.insecure, "insecure", false, "plaintext REST (http) and push (port 3200)")
	str(&o.apiURL, []string{"api-url"}, "", "REST base URL (default https://HOST)")
	str(&o.pushAddr, []string{"push-addr"}, "", "push endpoint HOST:PORT (default HOST:3201, or :3200 with -insecure)")
	str(&o.caFile, []string{"ca-file"}, "", "PEM file of CA certificates to trust for push TLS")
	str(&o.compression, []string{"compression", "c"}, "zlib", "monitor compression: none, zlib or gzip")
	str(&o.format, []string{"format", "f"}, "json", "monitor format: json or xml")
	integer(&o.batchSize, []string{"batchsize", "b"}, 1, "events per batch")
	integer(&o.batchDuration, []string{"batchduration", "d"}, 60, "seconds the server may batch events")
	str(&o.ack, []string{"ack"}, "explicit", "ack option: explicit or off")
	fs.BoolVar(&o.replay, "replay", false, "persistent monitor: the server records events while disconnected and replays them")
	fs.UintVar(&o.monitorID, "monitor-id", 0, "use this existing monitor (no create, no delete)")
	fs.BoolVar(&o.keep, "keep", false, "do not delete the monitor on exit")
	str(&o.output, []string{"output"}, "text", "output: text or ndjson (one JSON object per event)")
	integer(&o.count, []string{"count"}, 0, "exit after this many events (0: run until interrupted)")
	fs.BoolVar(&o.demo, "demo", false, "run against an embedded simulator with generated events (no account needed)")
	str(&o.transport, []string{"transport"}, "tcp", "how events arrive: tcp (push connection), http (the server pushes to -public-url) or polling (history API)")
	str(&o.listen, []string{"listen"}, "127.0.0.1:8080", "http: address to serve the receiver on")
	str(&o.publicURL, []string{"public-url"}, "", "http: the URL Remote Manager pushes to, reaching -listen (with -demo: derived from -listen)")
	str(&o.token, []string{"token"}, "", `http: push token "user:password" (default: random)`)
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "polling: time between polls")
	str(&o.schemaFile, []string{"schema"}, "", "handlebars template FILE for the monitor; events are printed as rendered")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: pushclient [flags] username password\n"+
			"       pushclient -demo [flags]\n"+
			"       pushclient [flags] monitors list|reset ID|delete ID [username password]\n\n"+
			"Credentials may also come from RM_USERNAME and RM_PASSWORD.\n\nflags:\n")
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
		fmt.Fprintln(stderr, "pushclient:", err)
		fs.Usage()
		return nil, err
	}
	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "monitors" {
		cmd, after, err := parseMonitorsCommand(rest)
		if err != nil {
			return bad("%v", err)
		}
		o.cmd, rest = cmd, after
	}
	switch len(rest) {
	case 0:
		o.username, o.password = getenv("RM_USERNAME"), getenv("RM_PASSWORD")
	case 2:
		o.username, o.password = rest[0], rest[1]
	default:
		return bad("want username and password, got %d arguments", len(rest))
	}
	if !o.demo && (o.username == "" || o.password == "") {
		return bad("username and password are required (arguments, or RM_USERNAME and RM_PASSWORD), or use -demo")
	}
	if !oneOf(o.compression, "none", "zlib", "gzip") {
		return bad("-compression must be none, zlib or gzip")
	}
	if !oneOf(o.format, "json", "xml") {
		return bad("-format must be json or xml")
	}
	if !oneOf(o.ack, "explicit", "off") {
		return bad("-ack must be explicit or off")
	}
	if !oneOf(o.output, "text", "ndjson") {
		return bad("-output must be text or ndjson")
	}
	if !oneOf(o.transport, "tcp", "http", "polling") {
		return bad("-transport must be tcp, http or polling")
	}
	if o.interval <= 0 {
		return bad("-interval must be positive")
	}
	if o.token != "" && !strings.Contains(o.token, ":") {
		return bad(`-token must be "user:password"`)
	}
	if o.transport == "http" && o.monitorID != 0 && o.token == "" {
		return bad("-transport http with -monitor-id needs the monitor's -token")
	}
	if o.batchSize < 1 || o.batchDuration < 0 || o.count < 0 || o.monitorID > 0xFFFFFFFF {
		return bad("-batchsize must be ≥ 1; -batchduration, -count and -monitor-id must not be negative or too large")
	}
	if strings.Trim(o.topics, ", ") == "" {
		return bad("-topics must name at least one topic")
	}
	if o.pushAddr != "" {
		if _, _, err := net.SplitHostPort(o.pushAddr); err != nil {
			return bad("-push-addr must be HOST:PORT")
		}
	}
	return o, nil
}

func oneOf(s string, choices ...string) bool {
	for _, c := range choices {
		if s == c {
			return true
		}
	}
	return false
}

// run is main without the process: testable, and every exit path returns
// its status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := session(ctx, o, log, stdout); err != nil {
		log.Error("pushclient: " + err.Error())
		return 1
	}
	return 0
}

// session is the whole program after flag parsing.
func session(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	apiURL := o.apiURL
	if apiURL == "" {
		scheme := "https"
		if o.insecure {
			scheme = "http"
		}
		apiURL = scheme + "://" + o.host
	}
	scfg := stream.Config{
		Host:      o.host,
		Addr:      o.pushAddr,
		Username:  o.username,
		Password:  secret.New(o.password),
		Plaintext: o.insecure,
		Logger:    log,
	}
	if o.pushAddr != "" {
		scfg.Host = "" // the TLS server name is then the push address's host
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ca-file %s holds no PEM certificate", o.caFile)
		}
		scfg.TLSConfig = &tls.Config{RootCAs: pool}
	}

	if o.demo {
		demo, err := startDemo(ctx, o, log)
		if err != nil {
			return err
		}
		defer demo.close()
		apiURL = demo.apiURL
		scfg.Addr, scfg.TLSConfig, scfg.Plaintext = demo.pushAddr, demo.tls, false
		scfg.Username, scfg.Password = o.username, secret.New(o.password)
	}

	api := monitor.NewClient(apiURL, monitor.WithBasicAuth(o.username, o.password))
	if o.cmd != nil {
		return monitorsCommand(ctx, api, o, stdout) // monitors.go
	}
	tr, err := prepareTransport(o, log) // transports.go
	if err != nil {
		return err
	}
	defer tr.shutdown()
	id := uint32(o.monitorID)
	if id == 0 {
		id, err = createMonitor(ctx, api, o, log, tr)
		if err != nil {
			return err
		}
		if !o.keep {
			defer func() {
				dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer dcancel()
				if err := api.Delete(dctx, id); err != nil {
					log.Warn("deleting monitor failed", "monitor_id", id, "err", err)
				} else {
					log.Info("monitor deleted", "monitor_id", id)
				}
			}()
		}
	}

	sub, err := tr.open(ctx, scfg, api, id) // tcp, http or polling
	if err != nil {
		return err
	}
	out := newPrinter(o.output, stdout)
	n := 0
	for ev := range sub.Events() {
		if err := out.print(ev); err != nil {
			cancel()
			sub.Close()
			return fmt.Errorf("writing output: %w", err)
		}
		n++
		if o.count > 0 && n >= o.count {
			cancel()
			break // events still in flight are not printed
		}
	}
	if err := sub.Close(); err != nil { // Close returns Err once ended
		if errors.Is(err, stream.ErrUnauthorized) {
			return fmt.Errorf("authentication failed: %w", err)
		}
		return err
	}
	log.Info("stopped", "events", n)
	return nil
}

// createMonitor replaces any monitor with the same topics by a new one,
// like the original client.
func createMonitor(ctx context.Context, api *monitor.Client, o *options, log *slog.Logger, tr *transport) (uint32, error) {
	topics := strings.Split(o.topics, ",")
	old, err := api.FindByTopics(ctx, topics)
	if err != nil {
		return 0, explain(err)
	}
	for _, m := range old {
		log.Info("deleting existing monitor with the same topics", "monitor_id", m.ID)
		if err := api.Delete(ctx, m.ID); err != nil && !errors.Is(err, monitor.ErrNotFound) {
			return 0, explain(err)
		}
	}
	spec := monitor.Spec{
		Topics:        topics,
		Format:        monitor.Format(o.format),
		Compression:   monitor.Compression(o.compression),
		BatchSize:     o.batchSize,
		BatchDuration: time.Duration(o.batchDuration) * time.Second,
		Ack:           monitor.AckOption(o.ack),
		Persistent:    o.replay,
		Description:   "pushclient",
	}
	if err := tr.spec(&spec); err != nil {
		return 0, err
	}
	id, err := api.Create(ctx, spec)
	if err != nil {
		return 0, explain(err)
	}
	log.Info("monitor created", "monitor_id", id, "topics", o.topics)
	return id, nil
}

func explain(err error) error {
	if errors.Is(err, monitor.ErrUnauthorized) {
		return fmt.Errorf("authentication failed (check username and password): %w", err)
	}
	return err
}
