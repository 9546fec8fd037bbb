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

// open starts receiving monitor id's events.
func (t *transport) open(ctx context.Context, scfg stream.Config, api *monitor.Client, id uint32) (stream.Source, error) {
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
	case "polling":
		return stream.NewPoller(ctx, stream.PollerConfig{Client: api, MonitorID: id, Interval: t.o.interval, Logger: t.log})
	}
	scfg.MonitorID = id
	return stream.Subscribe(ctx, scfg)
}

// shutdown releases the listener and server, in reverse order.
func (t *transport) shutdown() {
	for i := len(t.close) - 1; i >= 0; i-- {
		t.close[i]()
	}
}
