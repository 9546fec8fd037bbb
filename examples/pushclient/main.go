// Command pushclient creates a Remote Manager monitor, receives its events
// over the TCP push protocol and prints them; on exit it deletes the
// monitor. It succeeds the original push_client.py.
//
//	pushclient [flags] username password
//	pushclient -demo                       # embedded simulator, no account
//	pushclient -transport http -listen :8080 -public-url https://host/hook user pass
//	pushclient -transport polling -interval 30s user pass
//	pushclient [flags] monitors list|reset ID|delete ID [username password]
//
// It deletes only monitors it created: each carries the description
// "pushclient temporary: …" (or "pushclient kept: …" with -keep, never
// deleted). Another service's monitor on the same topics is left alone
// unless -replace-foreign is given. The monitor is deleted on Ctrl-C,
// SIGTERM or SIGHUP, after -count events and when stdout's reader goes
// away (pushclient | head); `pushclient -h` says it all.
//
// Credentials may also come from RM_USERNAME and RM_PASSWORD. Logs and
// status lines go to stderr, events to stdout (-output text or ndjson).
// Exit status: 0 on a signal or after -count events, 1 on errors
// (bad credentials included), 2 on bad usage, 3 when a monitor it created
// was left behind (its delete failed: stderr names it and the command
// that deletes it), 141 when stdout was closed.
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
	"slices"
	"sync"
	"syscall"

	"github.com/pushmon/pushmon/internal/urlredact"
	"github.com/pushmon/pushmon/stream"
)

// exitOutputClosed is the exit status when stdout's reader went away:
// what a shell reports for a command ended by SIGPIPE (128+13).
const exitOutputClosed = 141

// errOutputClosed ends a session whose stdout was closed by its reader.
var errOutputClosed = errors.New("stdout closed by its reader")

func main() {
	// A write to a closed pipe then fails with EPIPE, which the session
	// handles by cleaning up, instead of killing the process before it
	// deletes its monitor.
	signal.Ignore(syscall.SIGPIPE)
	sigs := stopSignals()
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	// Once stopping, a second Ctrl-C or SIGTERM ends the process at once.
	// A second SIGHUP does not: a terminal that closes sends its
	// foreground job two (the shell passes on its own, then the kernel
	// sends one as the shell exits), and no one is left to ask for a
	// quick exit; SIGHUP is then ignored, and the clean-up, bounded by
	// -rest-timeout, runs to its end.
	context.AfterFunc(ctx, func() {
		if slices.Contains(sigs, os.Signal(syscall.SIGHUP)) {
			signal.Ignore(syscall.SIGHUP)
		}
		stop()
	})
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stopSignals are the signals that stop the client with its clean-up:
// Ctrl-C, SIGTERM and SIGHUP (the terminal went away), except those the
// process was started with ignored (nohup, a background job of a script),
// which stay ignored.
func stopSignals() []os.Signal {
	var sigs []os.Signal
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// run is main without the process: testable, and every exit path returns
// its status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stopped := onDone(ctx, func() {
		log.Info("signal received: stopping and cleaning up (a second Ctrl-C or SIGTERM quits at once)",
			"rest_timeout", o.restTimeout)
	})
	left := &leftBehind{demo: o.demo}
	err = session(ctx, o, log, stdout, left)
	stopped()
	code := 0
	switch {
	case errors.Is(err, errOutputClosed):
		code = exitOutputClosed
	case err != nil:
		log.Error("pushclient: " + err.Error())
		code = 1
	}
	if len(left.monitors) > 0 {
		// Last on stderr, and a status of its own: a script must learn
		// that a monitor outlives the run.
		left.report(log, o)
		code = exitMonitorLeft
	}
	return code
}

// onDone calls f in its own goroutine once ctx is done, as
// context.AfterFunc does, and returns finish, for when the caller is
// done: finish stops f if ctx is not done, and otherwise waits for f to
// return. So what f writes is written before the caller goes on, however
// late its goroutine ran: the clean-up it announces may finish first, and
// the process exit right after. finish may be called more than once.
func onDone(ctx context.Context, f func()) (finish func()) {
	ran := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(ran)
		f()
	})
	return sync.OnceFunc(func() {
		if !stop() {
			<-ran
		}
	})
}

// session is the whole program after flag parsing. It returns nil when
// ctx ended it (a signal), even during start-up. The monitors it created
// and could not delete go on left.
func session(ctx context.Context, o *options, log *slog.Logger, stdout io.Writer, left *leftBehind) error {
	ctx, cancelCause := context.WithCancelCause(ctx)
	defer cancelCause(nil)
	cancel := func() { cancelCause(nil) }
	if f, ok := stdout.(*os.File); ok && o.cmd == nil {
		// The reader may go away while no event comes to fail a write.
		stop := watchOutput(f, func() {
			log.Info("stdout closed by its reader; stopping")
			cancelCause(errOutputClosed)
		})
		defer stop()
	}

	ep, err := resolveEndpoints(o, log)
	if err != nil {
		return err
	}
	if o.demo {
		demo, err := startDemo(ctx, o, log)
		if err != nil {
			return err
		}
		defer demo.close()
		ep.apiURL, ep.tls = demo.apiURL, nil
		ep.push = stream.Config{Addr: demo.pushAddr, TLSConfig: demo.tls}
	}
	scfg := ep.push
	scfg.Username, scfg.Password, scfg.Logger = o.username, o.password, log

	api := newAPI(ep, o)
	if o.cmd != nil {
		err := monitorsCommand(ctx, api, o, stdout) // monitors.go
		if errors.Is(err, syscall.EPIPE) {
			return errOutputClosed
		}
		return err
	}
	tr, err := prepareTransport(o, log) // transports.go
	if err != nil {
		return err
	}
	defer tr.shutdown()
	id := uint32(o.monitorID)
	if id == 0 {
		log.Info(fmt.Sprintf("connecting to %s (REST) …", showURL(ep.apiURL)))
		id, err = createMonitor(ctx, api, o, log, tr, left) // owner.go
		if id != 0 {
			if o.keep {
				defer log.Info("monitor kept: reuse it with -monitor-id, delete it with 'pushclient monitors delete ID'", "monitor_id", id)
			} else {
				defer deleteMonitor(ctx, api, o, log, id, left)
			}
		}
		if ctx.Err() != nil {
			return quit(ctx) // a signal during start-up
		}
		if err != nil {
			return err
		}
	}

	// Every way out ends the Source with stop: on a push subscription, a
	// Shutdown, whoever calls it first (ctx's end or this function), and
	// only one.
	src, stop, err := tr.open(ctx, scfg, api, id) // tcp, http or polling
	if err != nil {
		if ctx.Err() != nil {
			return quit(ctx)
		}
		return err
	}
	defer stop()
	prog := &progress{log: log, id: id, addr: pushAddr(scfg)}
	every := o.statsInterval
	if !o.verbose {
		every = 0
	}
	stopWatch := prog.watch(ctx, src, every)
	defer stopWatch()

	// stdout's reader may stop reading while staying there (a paused
	// pager, a pipe into a stuck process), and leave a write blocked for
	// good: once ctx has ended and the Source with it (a push session's
	// acks written, within shutdownTimeout), the write under way is
	// abandoned, so that the run goes on to delete its monitor.
	w := newAbandonable(stdout)
	context.AfterFunc(ctx, func() {
		stop()
		w.abandon()
	})
	out := newPrinter(o.output, w)
	n := 0
	for ev := range src.Events() {
		if err := out.print(ev); err != nil {
			if errors.Is(err, errWriteAbandoned) {
				log.Warn("stdout is not being read: the event being written is abandoned", "events", n)
				return quit(ctx)
			}
			if errors.Is(err, syscall.EPIPE) {
				if context.Cause(ctx) != errOutputClosed { // else the watcher said it
					log.Info("stdout closed by its reader; stopping", "events", n)
				}
				cancelCause(errOutputClosed)
				return errOutputClosed
			}
			cancel()
			return fmt.Errorf("writing output: %w", err)
		}
		prog.seen(ev)
		n++
		if o.count > 0 && n >= o.count {
			cancel()
			break // events still in flight are not printed
		}
	}
	if context.Cause(ctx) == errOutputClosed {
		return errOutputClosed
	}
	if err := stop(); err != nil { // the Source's Err
		switch {
		case errors.Is(err, stream.ErrUnauthorized):
			return fmt.Errorf("authentication failed: %w", err)
		case errors.Is(err, stream.ErrPortExpectsTLS):
			return fmt.Errorf("%w (run without -insecure)", err)
		case errors.Is(err, stream.ErrPortNotTLS):
			return fmt.Errorf("%w (-insecure connects in plaintext)", err)
		}
		return err
	}
	log.Info("stopped", "events", n)
	return nil
}

// quit is session's result when ctx has ended it: errOutputClosed when
// stdout's reader went away, else nil (a signal).
func quit(ctx context.Context) error {
	if context.Cause(ctx) == errOutputClosed {
		return errOutputClosed
	}
	return nil
}

// showURL is u for a status line or log: its password hidden, and a user
// name given alone ("https://TOKEN@host", which the REST client takes for
// a token) hidden too. url.URL.Redacted would print such a user name.
func showURL(u string) string { return urlredact.String(u) }
