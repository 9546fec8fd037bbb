package stream_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/internal/certs"
	"github.com/pushmon/pushmon/stream"
)

// stalledTLSProxy is the forward dialer of an https:// proxy that
// completes TLS, reads the CONNECT request and then neither answers nor
// reads again until release is closed.
type stalledTLSProxy struct {
	cfg     *tls.Config
	release chan struct{}
	got     chan struct{} // closed once the CONNECT request was read
	wg      sync.WaitGroup
}

func (p *stalledTLSProxy) DialContext(context.Context, string, string) (net.Conn, error) {
	a, b := net.Pipe()
	p.wg.Go(func() {
		defer b.Close()
		tc := tls.Server(b, p.cfg)
		if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
			return
		}
		close(p.got)
		<-p.release
	})
	return a, nil
}

// TestProxyTLSExchangeEndsAtOnce: through an https:// proxy that has read
// the CONNECT request and answers nothing, cancelling the dial ends it at
// once, and the exchange's deadline ends it at that deadline: closing the
// proxy connection must not first wait to write a TLS close_notify to a
// proxy that does not read (crypto/tls gives that write 5 s).
func TestProxyTLSExchangeEndsAtOnce(t *testing.T) {
	ca, err := certs.NewCA("proxy tls cancel test")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Leaf([]string{"proxy.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cancel", "deadline"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fw := &stalledTLSProxy{cfg: &tls.Config{Certificates: []tls.Certificate{leaf}},
					release: make(chan struct{}), got: make(chan struct{})}
				defer fw.wg.Wait()
				defer close(fw.release)
				d, err := stream.HTTPProxyDialer("https://proxy.test:3128", fw, &tls.Config{RootCAs: ca.Pool()})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				start := time.Now()
				done := make(chan error, 1)
				go func() {
					c, err := d.DialContext(ctx, "tcp", "rm.test:3201")
					if c != nil {
						c.Close()
					}
					done <- err
				}()
				<-fw.got
				want, wantErr := 10*time.Second, context.DeadlineExceeded
				if name == "cancel" {
					time.Sleep(time.Second)
					cancel()
					want, wantErr = time.Second, context.Canceled
				}
				err = <-done
				if el := time.Since(start); el != want || !errors.Is(err, wantErr) {
					t.Errorf("DialContext returned after %v (want %v): %v", el, want, err)
				}
			})
		})
	}
}
