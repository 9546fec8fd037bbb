// Command simulator runs the project's in-process Remote Manager
// (package streamtest) as a standalone server, so that any push client —
// this project's, or older Python and Java ones — can be pointed at it.
//
//	simulator [-http ADDR] [-https ADDR] [-push ADDR] [-push-tls ADDR] [-rate N]
//	          [-devices N] [-users user:pass,...] [-ca-out FILE] [-strict-ack]
//	          [-inflight N] [-max-queued N] [-seed N] [-v]
//
// It serves the REST API (/ws/Monitor, the v1 monitor API, /ws/DeviceCore
// for credential checks) over HTTP and, with -https, over HTTPS; the push
// protocol in plain text and over TLS; and generates device, data point
// and file events for every monitor created. HTTPS and TLS push share one
// generated CA (written to -ca-out), whose certificate names 127.0.0.1 (as
// an IP address and as a DNS name), ::1 and localhost.
//
// Each monitor queues at most -max-queued events (default 100 000; while
// its queue is full, newer events are dropped, logged with -v) and, when
// persistent or polling, keeps about as many for the history API (oldest
// dropped first). A persistent monitor records every event it matches,
// connected or not, so a simulator left running for days with one (the
// old clients' way: never deleted) would otherwise hold the library's
// default of a million events, a few kilobytes each.
//
// The 6-byte ack of the old Python clients is accepted; -strict-ack
// refuses it, as the documented protocol does. Every ack the simulator
// refuses is logged in one line that names the fix. -v also logs every
// connection and every REST call.
//
// It prints one line per listener ("rest http://…", "rest-https
// https://…", "push …", "push-tls …", "ca FILE") on stdout, logs on
// stderr, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pushmon/pushmon/stream/streamtest"
)

// defaultMaxQueued is -max-queued's default: 100 000 events, about half a
// gigabyte of the generator's events at most (measured: a persistent
// monitor at -rate 2000 levels off near 550 MB), instead of the library's
// 1 000 000 (streamtest.DefaultMaxQueuedEvents), meant for tests that end.
const defaultMaxQueued = 100_000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http", "127.0.0.1:8081", "REST listen address (\"-\": none)")
	httpsAddr := fs.String("https", "-", "REST over HTTPS listen address, with the TLS push CA (\"-\": none)")
	pushAddr := fs.String("push", "127.0.0.1:3200", "plaintext push listen address (\"-\": none)")
	tlsAddr := fs.String("push-tls", "127.0.0.1:3201", "TLS push listen address (\"-\": none)")
	rate := fs.Float64("rate", 10, "generated events per second (0: none)")
	devices := fs.Int("devices", 5, "simulated devices")
	users := fs.String("users", "user:password", "accepted credentials, user:password[,user:password…]")
	caOut := fs.String("ca-out", "", "write the TLS CA certificate (PEM) to this file")
	strictAck := fs.Bool("strict-ack", false, "refuse the 6-byte ack of old Python clients (accepted by default)")
	legacyAck := fs.Bool("legacy-ack", true, "accept the 6-byte ack of old Python clients (the default; see -strict-ack)")
	inflight := fs.Int("inflight", 0, "most un-acked blocks per connection (0: unlimited, 1: stop-and-wait)")
	maxQueued := fs.Int("max-queued", defaultMaxQueued, "most events each monitor queues, and records for replay and history if persistent or polling")
	seed := fs.Int64("seed", 1, "generator seed")
	verbose := fs.Bool("v", false, "log every connection and every REST call")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	creds := map[string]string{}
	for _, up := range strings.Split(*users, ",") {
		u, p, ok := strings.Cut(strings.TrimSpace(up), ":")
		if !ok || u == "" {
			fmt.Fprintln(stderr, "simulator: -users wants user:password pairs")
			fs.Usage()
			return 2
		}
		creds[u] = p
	}
	var bad string
	switch {
	case fs.NArg() != 0:
		// Not quoted: an argument may be a password given where a flag's
		// value was meant.
		bad = fmt.Sprintf("%d unexpected argument(s) (the simulator takes flags only)", fs.NArg())
	case *devices < 1:
		bad = "-devices must be at least 1"
	case *inflight < 0:
		bad = "-inflight must not be negative"
	case *maxQueued < 1:
		bad = "-max-queued must be at least 1"
	}
	if bad != "" {
		fmt.Fprintln(stderr, "simulator:", bad)
		fs.Usage()
		return 2
	}
	gen := streamtest.Generator{Devices: *devices, Rate: *rate, Seed: *seed}
	if _, err := gen.Events(0, time.Time{}); err != nil { // -rate and -devices in range
		fmt.Fprintln(stderr, "simulator:", err)
		fs.Usage()
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts := streamtest.Options{
		Users: creds, HTTPAddr: *httpAddr, HTTPSAddr: *httpsAddr, PushAddr: *pushAddr, PushTLSAddr: *tlsAddr,
		AcceptLegacyAck: *legacyAck && !*strictAck, InFlight: *inflight, MaxQueuedEvents: *maxQueued,
		Warnf: func(format string, a ...any) { log.Warn(fmt.Sprintf(format, a...)) },
	}
	if *verbose {
		opts.Logf = func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }
	}
	srv, err := streamtest.Start(opts)
	if err != nil {
		log.Error("simulator: " + err.Error())
		return 1
	}
	defer srv.Close()
	if u := srv.URL(); u != "" {
		fmt.Fprintln(stdout, "rest", u)
	}
	if u := srv.HTTPSURL(); u != "" {
		fmt.Fprintln(stdout, "rest-https", u)
	}
	if a := srv.PushAddr(); a != "" {
		fmt.Fprintln(stdout, "push", a)
	}
	if a := srv.PushTLSAddr(); a != "" {
		fmt.Fprintln(stdout, "push-tls", a)
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, srv.CACertPEM(), 0o644); err != nil {
			log.Error("simulator: " + err.Error())
			return 1
		}
		fmt.Fprintln(stdout, "ca", *caOut)
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}
	if *rate > 0 {
		// Generate blocks until ctx ends; gen was checked above, so an
		// error here is the server's.
		if err := srv.Generate(ctx, gen); err != nil {
			log.Error("simulator: " + err.Error())
			return 1
		}
	} else {
		<-ctx.Done()
	}
	log.Info("simulator: stopping")
	return 0
}
