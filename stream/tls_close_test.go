package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// TestCloseOverTLSWithServerNotReading: a TLS session whose server has
// stopped reading (it logged the client in, then went quiet) ends at once
// on Close and on Shutdown's expired context, as a plaintext one does.
// Dropping the connection must close the socket, not first write a TLS
// close_notify that crypto/tls gives 5 s to a server that does not read.
func TestCloseOverTLSWithServerNotReading(t *testing.T) {
	ca, leaf := tlsFixture(t, []string{"rm.test"}, time.Time{}, time.Time{})
	for _, how := range []string{"Close", "cancel", "Shutdown"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				d := &pipeDialer{serve: func(_ int, c net.Conn) {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf}})
					if _, ok := newFakeConn(t, tc).login(protocol.StatusOK); !ok {
						return
					}
					<-release // reads nothing more
				}}
				defer d.wg.Wait()
				defer close(release)
				cfg := testConfig(d)
				cfg.Plaintext, cfg.TLSConfig = false, &tls.Config{RootCAs: ca.Pool()}
				cfg.FrameTimeout, cfg.WriteTimeout = 24*time.Hour, 24*time.Hour
				sctx, scancel := context.WithCancel(t.Context())
				defer scancel()
				sub, err := Subscribe(sctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				if st := sub.State(); st != StateConnected {
					t.Fatalf("state %v, want connected", st)
				}
				start := time.Now()
				switch how {
				case "Close":
					sub.Close()
				case "cancel":
					scancel()
					<-sub.Done()
				case "Shutdown":
					ctx, cancel := context.WithTimeout(t.Context(), time.Second)
					defer cancel()
					sub.Shutdown(ctx)
				}
				if el, want := time.Since(start), map[string]time.Duration{"Shutdown": time.Second}[how]; el > want {
					t.Errorf("%s returned after %v, want %v", how, el, want)
				}
			})
		})
	}
}

// TestCloseThroughTLSProxyWithProxyNotReading: a push session tunnelled
// through an https:// proxy that has stopped reading ends at once on
// Close, as a direct one does: the tunnel's end closes the socket to the
// proxy, without first writing a TLS close_notify that crypto/tls gives
// 5 s to a proxy that does not read.
func TestCloseThroughTLSProxyWithProxyNotReading(t *testing.T) {
	ca, leaf := tlsFixture(t, []string{"rm.test", "proxy.test"}, time.Time{}, time.Time{})
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		proxy := &pipeDialer{serve: func(_ int, c net.Conn) {
			pc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf}})
			br := bufio.NewReader(pc)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := io.WriteString(pc, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
				return
			}
			tc := tls.Server(&bufferedConn{Conn: pc, r: br}, &tls.Config{Certificates: []tls.Certificate{leaf}})
			if _, ok := newFakeConn(t, tc).login(protocol.StatusOK); !ok {
				return
			}
			<-release // reads nothing more
		}}
		defer proxy.wg.Wait()
		defer close(release)
		d, err := HTTPProxyDialer("https://proxy.test:3128", proxy, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(d)
		cfg.Plaintext, cfg.TLSConfig = false, &tls.Config{RootCAs: ca.Pool()}
		cfg.FrameTimeout, cfg.WriteTimeout = 24*time.Hour, 24*time.Hour
		sub, err := Subscribe(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := sub.State(); st != StateConnected {
			t.Fatalf("state %v, want connected", st)
		}
		start := time.Now()
		sub.Close()
		if el := time.Since(start); el != 0 {
			t.Errorf("Close returned after %v, want 0s", el)
		}
	})
}
