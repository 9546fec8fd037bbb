package stream

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
)

// A proxy URL whose user name is its only credential ("http://TOKEN@proxy",
// the form of many proxy services' API keys) carries a token: the
// dialer's String and slog form do not print it, nor does the error
// when the proxy's refusal echoes it.
func TestProxyTokenUserName(t *testing.T) {
	const token = "tok-9f8e7d6c5b4a"
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProxy{answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 407 unknown key "+token+"\r\n\r\n")
			<-closedBy(c)
		}}
		fw := p.dialer()
		d, err := HTTPProxyDialer("http://"+token+"@proxy.test:3128", fw, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		slog.New(slog.NewTextHandler(&b, nil)).Info("m", "dialer", d)
		for _, out := range []string{d.String(), fmt.Sprintf("%v %+v %#v %s", d, d, d, d), b.String()} {
			if strings.Contains(out, token) {
				t.Errorf("the dialer prints its token: %s", out)
			}
		}
		_, err = d.DialContext(t.Context(), "tcp", "rm.test:3201")
		var pe *ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != 407 {
			t.Fatalf("err %v", err)
		}
		if strings.Contains(err.Error(), token) {
			t.Errorf("the error prints the token: %v", err)
		}
		fw.wg.Wait()
	})
}
