package main

// The -transport choices: tcp (stream.Subscribe), http (stream.HTTPReceiver
// served on -listen, registered as -public-url) and polling (stream.Poller
// every -interval). All three print the same events.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/pushmon/pushmon/internal/urlredact"
	"github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

// receiverPath is the path of the URL -demo registers (the receiver
// answers on every path).
const receiverPath = "/pushmon"

// transport is the part of a session that depends on -transport: set up
// before the monitor is created (the http listener must be open when the
// server first pushes), opened once its id is known.
type transport struct {
	o     *options
	log   *slog.Logger
	ln    net.Listener  // http
	token secret.String // http: the push token
	url   string        // http: the URL registered on the monitor
	close []func()
}

// prepareTransport opens what must exist before the monitor: the http
// listener. With -demo the server is the embedded simulator, which pushes
// to loopback.
func prepareTransport(o *options, log *slog.Logger) (*transport, error) {
	t := &transport{o: o, log: log}
	if o.transport != "http" {
		return t, nil
	}
	t.token = o.token
	if t.token.IsZero() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		t.token = secret.New("pushclient:" + hex.EncodeToString(b[:]))
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, err
	}
	t.ln = ln
	t.close = append(t.close, func() { ln.Close() })
	t.url = o.publicURL
	if t.url == "" && o.demo {
		t.url = "http://" + ln.Addr().String() + receiverPath
	}
	return t, nil
}

// spec fills in the transport's monitor fields, Transport included.
func (t *transport) spec(s *monitor.Spec) error {
	s.Transport = monitor.Transport(t.o.transport)
	if t.o.schemaFile != "" {
		tmpl, err := os.ReadFile(t.o.schemaFile)
		if err != nil {
			return fmt.Errorf("-schema: %w", err)
		}
		s.SchemaType, s.Schema = "handlebars", string(tmpl)
	}
	if t.o.transport == "http" {
		if t.url == "" {
			return fmt.Errorf("-transport http needs -public-url: the URL at which Remote Manager reaches -listen")
		}
		s.URL, s.Method = t.url, "POST"
		setToken(s, t.token)
		s.Ack = "" // tcp only
	}
	if t.o.transport == "polling" {
		s.Ack, s.Compression = "", ""
	}
	return nil
}

// setToken is the one place the push token goes into a Spec.
func setToken(s *monitor.Spec, token secret.String) { s.Token = token }

// open starts receiving monitor id's events. It returns the Source and
// stop, the one way to end it, which returns the Source's Err: it may be
// called from any goroutine and any number of times, runs once, and a
// later call waits for the first to finish. A Source ends when ctx does,
// or when stop is called.
//
// A push subscription outlives ctx: when ctx ends (a signal, -count, a
// closed stdout), stop ends it with Shutdown, which writes the acks of the
// events already printed before it closes the connection. Cancelling it
// would drop the connection at once, with acks still held back, and a
// persistent monitor kept for the next run (-keep, -monitor-id) would
// send those events again.
func (t *transport) open(ctx context.Context, scfg stream.Config, api *monitor.Client, id uint32) (src stream.Source, stop func() error, err error) {
	switch t.o.transport {
	case "http", "polling":
		src, err := t.openOther(ctx, api, id)
		if err != nil {
			return nil, nil, err
		}
		return src, sync.OnceValue(src.Close), nil
	}
	scfg.MonitorID = id
	sub, err := stream.Subscribe(context.WithoutCancel(ctx), scfg)
	if err != nil {
		return nil, nil, err
	}
	stop = sync.OnceValue(func() error { return shutdownPush(sub) })
	// The caller's ctx always ends (session cancels it on return), so
	// this runs once stop has, or calls it first; never Close: a Close
	// while Shutdown waits would drop the connection at once.
	context.AfterFunc(ctx, func() { stop() })
	return sub, stop, nil
}

// shutdownTimeout bounds a push session's graceful end: the acks written,
// the server given a moment to read them and close.
const shutdownTimeout = 5 * time.Second

// shutdownPush ends sub with Shutdown, so that the acks of every event
// handed over reach the server first; after shutdownTimeout it is closed
// at once. It returns sub's Err.
func shutdownPush(sub *stream.Subscription) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return sub.Shutdown(ctx)
}

// openOther opens the http or the polling Source, which ends with ctx.
func (t *transport) openOther(ctx context.Context, api *monitor.Client, id uint32) (stream.Source, error) {
	switch t.o.transport {
	case "http":
		rcv, err := stream.NewHTTPReceiver(ctx, stream.HTTPConfig{MonitorID: id, Token: t.token,
			HandoffTimeout: 4 * time.Second, Logger: t.log})
		if err != nil {
			return nil, err
		}
		// Every path: a reverse proxy in front may keep or rewrite the
		// public URL's path.
		// Timeouts: see examples/httpreceiver.
		hs := &http.Server{Handler: rcv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 45 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = hs.Serve(t.ln)
		}()
		t.close = append(t.close, func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			rcv.Close()
			_ = hs.Shutdown(sctx)
			<-served
		})
		t.log.Info("receiving pushes", "listen", t.ln.Addr().String(), "url", urlredact.String(t.url))
		return rcv, nil
	}
	return stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: id, Interval: t.o.interval, Logger: t.log})
}

// shutdown releases the listener and server, in reverse order.
func (t *transport) shutdown() {
	for i := len(t.close) - 1; i >= 0; i-- {
		t.close[i]()
	}
}
