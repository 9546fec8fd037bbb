package monitor_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/monitor"
)

// A proxy that refuses CONNECT with a reason phrase echoing the
// Proxy-Authorization it was sent: net/http reports the phrase, and the
// error must not carry the proxy's credentials.
func TestProxyRefusalEchoingCredentials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				pa := req.Header.Get("Proxy-Authorization")
				raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(pa, "Basic "))
				c.Write([]byte("HTTP/1.1 407 bad credentials " + pa + " (" + string(raw) + ")\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	pu, _ := url.Parse("http://proxyuser:proxy-hunter2@" + ln.Addr().String())
	tr := &http.Transport{Proxy: http.ProxyURL(pu)}
	c := monitor.NewClient("https://rm.example.com", monitor.WithBasicAuth("u", "acct-pass-123"),
		monitor.WithHTTPClient(&http.Client{Transport: tr}), monitor.WithRetry(0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	defer tr.CloseIdleConnections()
	_, err = c.Get(ctx, 1)
	if err == nil {
		t.Fatal("a refused CONNECT is no error")
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("proxyuser:proxy-hunter2"))
	if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), b64)) {
		t.Errorf("monitor client error leaks the proxy credentials: %v", err)
	}
}
