package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// demo is the embedded simulator of -demo, with a generator running.
type demo struct {
	srv      *streamtest.Server
	apiURL   string
	pushAddr string
	tls      *tls.Config
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startDemo starts the simulator on loopback with TLS push and generated
// traffic. The user name and password, when not given, are the
// simulator's.
func startDemo(ctx context.Context, o *options, log *slog.Logger) (*demo, error) {
	if o.username == "" {
		o.username, o.password = "demo", secret.New("demo")
	}
	srv, err := streamtest.Start(streamtest.Options{
		Users:             map[string]string{o.username: o.password.Reveal()}, // the simulator's account table
		PushAddr:          "-",
		HTTPRetryInterval: time.Second, // -transport http: retry a failed push soon
	})
	if err != nil {
		return nil, fmt.Errorf("starting the simulator: %w", err)
	}
	d := &demo{srv: srv, apiURL: srv.URL(), pushAddr: srv.PushTLSAddr(), tls: srv.ClientTLSConfig()}
	gctx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		srv.Generate(gctx, streamtest.Generator{Devices: 5, Rate: 20})
	}()
	log.Info("demo: simulator running", "rest", d.apiURL, "push_tls", d.pushAddr)
	return d, nil
}

func (d *demo) close() {
	d.cancel()
	d.wg.Wait()
	d.srv.Close()
}
