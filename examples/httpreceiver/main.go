// Command httpreceiver receives a Remote Manager monitor's events over the
// HTTP transport: it serves stream.HTTPReceiver on -listen, creates an
// http monitor whose URL is -public-url (the address Remote Manager can
// reach, e.g. behind a reverse proxy or tunnel), prints the events, and
// deletes the monitor on exit.
//
//	httpreceiver -public-url https://hooks.example.com/rm [flags] username password
//	httpreceiver -demo                      # embedded simulator pushing to -listen
//
// The monitor's push token (-token, random by default) is checked on every
// request: pushes without it are answered 401. Credentials may also come
// from RM_USERNAME and RM_PASSWORD. Events go to stdout (-output text or
// ndjson), logs to stderr. Exit status: 0 on Ctrl-C or after -count
// events, 1 on errors, 2 on bad usage.
//
// Remote Manager refuses loopback URLs; -demo works because the simulator
// does not.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/examples/internal/eventjson"
	"github.com/pushmon/pushmon/internal/urlredact"
	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	listen, path, publicURL string
	apiURL, topics, token   string
	monitorID               uint
	keep, demo              bool
	count                   int
	output, format          string
	username, password      string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("httpreceiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve the receiver on")
	fs.StringVar(&o.path, "path", "/rm/push", "URL path of the receiver")
	fs.StringVar(&o.publicURL, "public-url", "", "URL Remote Manager pushes to (required unless -demo or -monitor-id)")
	fs.StringVar(&o.apiURL, "api-url", "https://remotemanager.digi.com", "REST base URL")
	fs.StringVar(&o.topics, "topics", "DeviceCore", "comma-separated topics to monitor")
	fs.StringVar(&o.token, "token", "", `push token "user:password" (default: random; with -monitor-id, the monitor's)`)
	fs.UintVar(&o.monitorID, "monitor-id", 0, "use this existing http monitor (no create, no delete)")
	fs.BoolVar(&o.keep, "keep", false, "do not delete the monitor on exit")
	fs.BoolVar(&o.demo, "demo", false, "run an embedded simulator with generated events that pushes to -listen")
	fs.IntVar(&o.count, "count", 0, "exit after this many events (0: run until interrupted)")
	fs.StringVar(&o.output, "output", "text", "output: text or ndjson")
	fs.StringVar(&o.format, "format", "json", "monitor format: json or xml")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: httpreceiver -public-url URL [flags] username password\n"+
			"       httpreceiver -demo [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err} // the flag package printed it and the usage text
	}
	bad := func(format string, a ...any) (*options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintln(stderr, "httpreceiver:", err)
		fs.Usage()
		return nil, usageError{err}
	}
	switch fs.NArg() {
	case 0:
		o.username, o.password = getenv("RM_USERNAME"), getenv("RM_PASSWORD")
	case 2:
		o.username, o.password = fs.Arg(0), fs.Arg(1)
	default:
		return bad("want username and password, got %d arguments", fs.NArg())
	}
	if !o.demo && (o.username == "" || o.password == "") {
		return bad("username and password are required (or -demo)")
	}
	if !o.demo && o.monitorID == 0 && o.publicURL == "" {
		return bad("-public-url is required to create the monitor")
	}
	if o.monitorID > 0 && o.token == "" {
		return bad("-monitor-id needs the monitor's -token")
	}
	if _, pass, ok := strings.Cut(o.token, ":"); o.token != "" && (!ok || pass == "") {
		// Refused now, as the receiver would refuse it, before a
		// monitor is created with it.
		return bad(`-token must be "user:password" with a password`)
	}
	if o.output != "text" && o.output != "ndjson" {
		return bad("-output must be text or ndjson")
	}
	if o.format != "json" && o.format != "xml" {
		return bad("-format must be json or xml")
	}
	if o.count < 0 || o.monitorID > 0xFFFFFFFF || !strings.HasPrefix(o.path, "/") {
		return bad("-count must not be negative, -monitor-id must fit 32 bits, -path must start with /")
	}
	if !o.demo && o.monitorID == 0 {
		// The monitor receive will create, checked by the monitor package
		// before anything is opened. (-demo derives -public-url later.)
		if err := o.spec().Validate(); err != nil {
			return bad("%v (from -public-url, -topics, -format and -token)", err)
		}
	}
	return o, nil
}

// spec is the monitor to create: an http monitor pushing to -public-url.
func (o *options) spec() monitor.Spec {
	return monitor.Spec{
		Topics: strings.Split(o.topics, ","), Transport: monitor.TransportHTTP,
		Format: monitor.Format(o.format), URL: o.publicURL, Token: secret.New(o.token), Method: "POST",
		BatchSize: 10, BatchDuration: time.Second, Description: "httpreceiver",
	}
}

// usageError is bad usage. parseFlags returns one (or flag.ErrHelp) only
// after the message and the usage text are on stderr, and run exits 2 on
// it.
type usageError struct{ error }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := receive(ctx, o, log, stdout); err != nil {
		log.Error("httpreceiver: " + err.Error())
		return 1
	}
	return 0
}

func receive(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.token == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.token = "rm:" + hex.EncodeToString(b[:])
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	defer ln.Close() // also closed by the server's Shutdown: twice is harmless
	if o.demo {
		if o.username == "" {
			o.username, o.password = "demo", "demo"
		}
		srv, err := streamtest.Start(streamtest.Options{Users: map[string]string{o.username: o.password},
			PushAddr: "-", PushTLSAddr: "-", HTTPRetryInterval: time.Second})
		if err != nil {
			return err
		}
		defer srv.Close()
		var wg sync.WaitGroup
		defer wg.Wait()
		gctx, stopGen := context.WithCancel(ctx)
		defer stopGen()
		wg.Go(func() { srv.Generate(gctx, streamtest.Generator{Devices: 3, Rate: 20}) })
		o.apiURL = srv.URL()
		o.publicURL = "http://" + ln.Addr().String() + o.path
		log.Info("demo: simulator running", "rest", o.apiURL)
	}

	// The listener is open, so pushes that arrive before Serve starts wait
	// in its backlog; the monitor is created first so that the receiver
	// knows its id.
	api := monitor.NewClient(o.apiURL, monitor.WithBasicAuth(o.username, o.password))
	defer api.CloseIdleConnections()
	id := uint32(o.monitorID)
	if id == 0 {
		m, err := api.V1().Create(ctx, o.spec())
		if err != nil {
			return err
		}
		id = m.ID
		log.Info("monitor created", "monitor_id", id, "url", urlredact.String(o.publicURL))
		if !o.keep {
			defer func() {
				dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer dcancel()
				if err := api.V1().Delete(dctx, id); err != nil {
					log.Warn("deleting monitor failed", "monitor_id", id, "err", err)
				}
			}()
		}
	}

	rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{Token: secret.New(o.token), MonitorID: id,
		HandoffTimeout: 4 * time.Second, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(o.path, rcv)
	// Timeouts: a client that trickles its headers or body, or keeps an
	// idle connection, is cut off. WriteTimeout runs from the end of the
	// headers: it covers the body (ReadTimeout) and the hand-off
	// (HandoffTimeout) with room to spare.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 45 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		cancel() // receiver: 503 to what still arrives
		_ = hs.Shutdown(sctx)
		<-serveErr
		rcv.Close()
	}()
	log.Info("receiving", "listen", ln.Addr().String(), "path", o.path, "monitor_id", id)

	out := bufio.NewWriter(stdout)
	n := 0
	for {
		select {
		case ev, ok := <-rcv.Events():
			if !ok {
				return nil
			}
			if err := printEvent(out, o.output, ev); err != nil {
				return err
			}
			n++
			if o.count > 0 && n >= o.count {
				log.Info("stopped", "events", n)
				return nil
			}
		case err := <-serveErr:
			serveErr <- err // for the deferred shutdown
			return fmt.Errorf("serving: %w", err)
		case <-ctx.Done():
			log.Info("stopped", "events", n)
			return nil
		}
	}
}

func printEvent(w *bufio.Writer, mode string, ev stream.Event) error {
	if mode == "ndjson" {
		line, err := eventjson.Line(ev)
		if err != nil {
			return err
		}
		w.Write(line)
	} else {
		fmt.Fprintf(w, "%s\n    %s\n", ev, ev.Body)
	}
	return w.Flush()
}
