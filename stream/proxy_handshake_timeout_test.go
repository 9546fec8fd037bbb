package stream

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestProxyStallInSubscribeIsAHandshakeTimeout: a proxy that stalls the
// CONNECT exchange of a Subscription (reads nothing, answers nothing,
// dribbles its status line or an endless header) is given up at
// HandshakeTimeout, with an error matching ErrHandshakeTimeout that names
// it, as a stall of the push server itself is. Before, the proxy's read
// deadline (the handshake's) could fire an instant before the handshake's
// context noticed, and the error was a bare "context deadline exceeded".
func TestProxyStallInSubscribeIsAHandshakeTimeout(t *testing.T) {
	dribble := func(s string) func(net.Conn) {
		return func(c net.Conn) {
			for i := 0; ; i++ {
				time.Sleep(time.Second)
				if _, err := io.WriteString(c, s[min(i, len(s)-1):min(i+1, len(s))]); err != nil {
					return
				}
			}
		}
	}
	for _, tc := range []struct {
		name  string
		proxy *scriptedProxy
	}{
		{"CONNECT never read", &scriptedProxy{silent: true}},
		{"no answer", &scriptedProxy{answer: func(c net.Conn) { <-closedBy(c) }}},
		{"status line a byte a second", &scriptedProxy{answer: dribble("HTTP/1.1 200 Connection established\r\n\r\n")}},
		{"endless header", &scriptedProxy{answer: dribble("HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 64))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fw := tc.proxy.dialer()
				pd, err := HTTPProxyDialer("http://proxy.test:3128", fw, nil)
				if err != nil {
					t.Fatal(err)
				}
				cfg := testConfig(pd)
				cfg.HandshakeTimeout = 8 * time.Second
				cfg.NewBackOff = func() backoffBackOff { return stopBackOff{} }
				start := time.Now()
				sub, err := Subscribe(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				waitDone(t, sub)
				err = sub.Err()
				if got := time.Since(start); got != cfg.HandshakeTimeout {
					t.Errorf("gave up after %v, want %v", got, cfg.HandshakeTimeout)
				}
				if !errors.Is(err, ErrHandshakeTimeout) || !strings.Contains(err.Error(), cfg.HandshakeTimeout.String()) {
					t.Errorf("err %v: want ErrHandshakeTimeout naming %v", err, cfg.HandshakeTimeout)
				}
				fw.wg.Wait()
			})
		})
	}
}
