package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A hostile or broken proxy costs a bounded amount of memory and never
// holds a dial past its deadline.

// scriptedProxy is a proxy on the far end of a net.Pipe: it reads the
// CONNECT request (unless silent) and then runs answer.
type scriptedProxy struct {
	silent bool // never read the request
	answer func(c net.Conn)
	reqs   chan *http.Request
}

func (p *scriptedProxy) dialer() *pipeDialer {
	return &pipeDialer{serve: func(_ int, c net.Conn) {
		if p.silent {
			// Read nothing: on a net.Pipe the client's first write blocks.
			// A write (of nothing) returns once the client closes.
			c.Write(nil)
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		if p.reqs != nil {
			p.reqs <- req
		}
		p.answer(c)
	}}
}

// closedBy returns a channel closed once the peer has closed c (a read
// fails). It reads and discards whatever arrives meanwhile.
func closedBy(c net.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, c)
	}()
	return done
}

// flood writes prefix and then filler until limit bytes have gone, then
// waits for the client to close.
func flood(prefix, filler string, limit int) func(net.Conn) {
	return func(c net.Conn) {
		if _, err := io.WriteString(c, prefix); err != nil {
			return
		}
		chunk := []byte(strings.Repeat(filler, 4096/len(filler)))
		for n := 0; n < limit; n += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
		<-closedBy(c)
	}
}

// TestProxyAnswerIsBounded: an endless status line, an endless header
// line and endless headers (8 MiB of each, then silence) fail with
// ErrProxyAnswer as soon as MaxProxyAnswer bytes have arrived, at once on
// the fake clock, having allocated less than 1 MiB.
func TestProxyAnswerIsBounded(t *testing.T) {
	const flooded = 8 << 20
	cases := []struct{ name, prefix, filler string }{
		{"status line", "HTTP/1.1 200 ", "a"},
		{"header line", "HTTP/1.1 200 Connection established\r\nX-Filler: ", "a"},
		{"headers", "HTTP/1.1 200 Connection established\r\n", "a: b\r\n"},
		{"header lines of bare newlines", "HTTP/1.1 407 Proxy Authentication Required\r\nX: y\n", "z\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &scriptedProxy{answer: flood(c.prefix, c.filler, flooded)}
				fw := p.dialer()
				d, err := HTTPProxyDialer("http://proxy.test:3128", fw, nil)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				defer cancel()
				start := time.Now()
				n := allocated(func() {
					_, err = d.DialContext(ctx, "tcp", "rm.test:3201")
				})
				t.Logf("%v after %v, %d B allocated", err, time.Since(start), n)
				if !errors.Is(err, ErrProxyAnswer) || IsPermanent(err) {
					t.Errorf("err = %v, want ErrProxyAnswer (transient)", err)
				}
				if time.Since(start) != 0 {
					t.Errorf("failed after %v of fake time, want at once", time.Since(start))
				}
				if n > 1<<20 {
					t.Errorf("%d B allocated reading the answer, want < 1 MiB", n)
				}
				fw.wg.Wait()
			})
		})
	}
}

// TestProxyDeadlineCoversTheWholeExchange: a proxy that stalls at any step
// of the exchange (the TCP dial aside) is given up at the deadline exactly,
// on the fake clock: ctx's, or DefaultHandshakeTimeout when ctx has none.
func TestProxyDeadlineCoversTheWholeExchange(t *testing.T) {
	trickle := func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n")
		for {
			time.Sleep(time.Second)
			if _, err := io.WriteString(c, "X"); err != nil { // a header line that never ends
				return
			}
		}
	}
	cases := []struct {
		name   string
		scheme string
		proxy  *scriptedProxy
	}{
		{"CONNECT never read", "http", &scriptedProxy{silent: true}},
		{"no answer", "http", &scriptedProxy{answer: func(c net.Conn) { <-closedBy(c) }}},
		{"a header byte a second", "http", &scriptedProxy{answer: trickle}},
		{"TLS to the proxy never answered", "https", &scriptedProxy{silent: true}},
	}
	for _, c := range cases {
		for _, timeout := range []time.Duration{5 * time.Second, 0} {
			t.Run(fmt.Sprintf("%s/timeout %v", c.name, timeout), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					fw := c.proxy.dialer()
					d, err := HTTPProxyDialer(c.scheme+"://proxy.test:3128", fw, &tls.Config{})
					if err != nil {
						t.Fatal(err)
					}
					ctx, want := t.Context(), DefaultHandshakeTimeout
					if timeout > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, timeout)
						defer cancel()
						want = timeout
					}
					start := time.Now()
					_, err = d.DialContext(ctx, "tcp", "rm.test:3201")
					if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != want {
						t.Errorf("after %v: %v; want DeadlineExceeded after %v", time.Since(start), err, want)
					}
					fw.wg.Wait()
				})
			})
		}
	}
	// A forward *net.Dialer's Timeout bounds the whole exchange too.
	synctest.Test(t, func(t *testing.T) {
		d, _ := HTTPProxyDialer("http://proxy.test:3128", &net.Dialer{Timeout: 7 * time.Second}, nil)
		ctx, cancel := d.exchangeContext(t.Context())
		defer cancel()
		if dl, ok := ctx.Deadline(); !ok || dl.Sub(time.Now()) != 7*time.Second {
			t.Errorf("exchange deadline %v (%v), want in 7 s", dl, ok)
		}
	})
}

// TestProxyAnswerParsing: what follows a 2xx answer's headers is the
// tunnel's; a refusal's status text is cut and stripped of control bytes;
// the credentials go to the proxy only as Proxy-Authorization and are held
// redacted.
func TestProxyAnswerParsing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProxy{reqs: make(chan *http.Request, 1), answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.0 200\r\nVia: test\r\n\r\nFIRST BYTES")
			<-closedBy(c)
		}}
		fw := p.dialer()
		const pass = "pr0xy-" + SentinelPassword
		d, err := HTTPProxyDialer("http://proxyuser:"+pass+"@proxy.test:3128", fw, nil)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := d.DialContext(t.Context(), "tcp", "rm.test:3201")
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 11)
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != "FIRST BYTES" {
			t.Errorf("tunnel read %q, %v", got, err)
		}
		conn.Close()
		req := <-p.reqs
		if u, pw, ok := (&http.Request{Header: http.Header{"Authorization": req.Header["Proxy-Authorization"]}}).BasicAuth(); !ok || u != "proxyuser" || pw != pass {
			t.Errorf("Proxy-Authorization carries %q, %q", u, pw)
		}
		if req.Method != "CONNECT" || req.Host != "rm.test:3201" {
			t.Errorf("request %s %s", req.Method, req.Host)
		}
		type holder struct{ d ProxyDialer }
		assertNoSecret(t, d, *d, holder{*d}, d.LogValue())
		if !strings.Contains(d.String(), "proxyuser:xxxxx@proxy.test:3128") {
			t.Errorf("String %q", d)
		}
		fw.wg.Wait()
	})
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProxy{answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 502 \x1b[2J"+strings.Repeat("bad gateway ", 100)+"\r\n\r\n")
			<-closedBy(c)
		}}
		fw := p.dialer()
		d, _ := HTTPProxyDialer("http://proxy.test:3128", fw, nil)
		_, err := d.DialContext(t.Context(), "tcp", "rm.test:3201")
		var pe *ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != 502 || len(pe.Status) > 68 || strings.ContainsRune(pe.Status, 0x1b) || !strings.HasPrefix(pe.Status, "502 [2Jbad gateway") {
			t.Errorf("err %v (%+v)", err, pe)
		}
		fw.wg.Wait()
	})
	for _, bad := range []string{"SSH-2.0-OpenSSH\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20\r\n\r\n", "\r\n"} {
		synctest.Test(t, func(t *testing.T) {
			p := &scriptedProxy{answer: func(c net.Conn) {
				io.WriteString(c, bad)
				<-closedBy(c)
			}}
			fw := p.dialer()
			d, _ := HTTPProxyDialer("http://proxy.test:3128", fw, nil)
			if _, err := d.DialContext(t.Context(), "tcp", "rm.test:3201"); !errors.Is(err, ErrProxyAnswer) {
				t.Errorf("%q: %v", bad, err)
			}
			fw.wg.Wait()
		})
	}
}

// TestProxyRefusalRedactsEchoedCredentials: a proxy that echoes the
// credentials it was sent in its reason phrase, as the header value, the
// base64 token, "user:password" or the password (twice overlapping, once
// across the 68-byte cut), gets none of them into the error.
func TestProxyRefusalRedactsEchoedCredentials(t *testing.T) {
	const user, pass = "proxyuser", "pw-Kx7Qpw-Kx7Q" // overlaps itself: "pw-Kx7Qpw-Kx7Qpw-Kx7Q"
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	reasons := []string{
		"bad Proxy-Authorization: Basic " + token,
		"bad token " + token + " for " + user + ":" + pass,
		"wrong password " + pass + "pw-Kx7Q",
		strings.Repeat("x", 60) + pass, // straddles the cut
	}
	for _, reason := range reasons {
		synctest.Test(t, func(t *testing.T) {
			p := &scriptedProxy{answer: func(c net.Conn) {
				io.WriteString(c, "HTTP/1.1 407 "+reason+"\r\n\r\n")
				<-closedBy(c)
			}}
			fw := p.dialer()
			d, err := HTTPProxyDialer("http://"+user+":"+pass+"@proxy.test:3128", fw, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.DialContext(t.Context(), "tcp", "rm.test:3201")
			var pe *ProxyError
			if !errors.As(err, &pe) || pe.StatusCode != 407 || len(pe.Status) > 68 {
				t.Fatalf("err %v", err)
			}
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", pe)} {
				for _, part := range []string{pass[:4], "Kx7Q", token[:8], token[len(token)-8:]} {
					if strings.Contains(s, part) {
						t.Errorf("%q shows %q of the credentials", s, part)
					}
				}
			}
			if !strings.HasPrefix(pe.Status, "407 ") {
				t.Errorf("status %q", pe.Status)
			}
			fw.wg.Wait()
		})
	}
}

// A proxy URL whose password holds an unescaped '/' ("http://bob:2024/pw@
// proxy:3128") parses without user info, as host bob, port 2024 and a
// path holding the password, which the dialer's String printed. It is an
// ErrInvalidConfig that does not quote it.
func TestHTTPProxyDialerPasswordBehindSlashRefused(t *testing.T) {
	for _, u := range []string{"http://bob:2024/s3cr3t@proxy.example:3128", "https://bob:1?s3cr3t@proxy.example"} {
		d, err := HTTPProxyDialer(u, nil, nil)
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: HTTPProxyDialer = %v, %v; want ErrInvalidConfig", u, d, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the password: %v", u, err)
		}
	}
	// The same URL from the environment (HTTPS_PROXY, read once per
	// process, so given here through the dialer's hook) is refused
	// before anything is dialled or named.
	for _, u := range []string{"http://bob:2024/s3cr3t@proxy.example:3128", "https://bob:1#s3cr3t@proxy.example"} {
		dialed := false
		d := &ProxyDialer{
			forward: dialFunc(func(context.Context, string, string) (net.Conn, error) {
				dialed = true
				return nil, errors.New("dialled")
			}),
			proxyFor: func(string) (*url.URL, error) { return url.Parse(u) },
		}
		_, err := d.DialContext(t.Context(), "tcp", "rm.example:3201")
		if !errors.Is(err, ErrInvalidConfig) || dialed || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "2024") {
			t.Errorf("%s from the environment: DialContext = %v (dialled %v); want ErrInvalidConfig naming no part of the password", u, err, dialed)
		}
	}
	if d, err := HTTPProxyDialer("http://bob:pa%2Fss@proxy.example:3128", nil, nil); err != nil || strings.Contains(d.String(), "pa/ss") || strings.Contains(d.String(), "pa%2Fss") {
		t.Errorf("percent-encoded password: %v, %v; want a dialer that prints no password", d, err)
	}
}
