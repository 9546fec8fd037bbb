package stream

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
)

// TestProxyRefusalShortPasswordNotSpelledOut: a short proxy password turns
// up by chance in a reason phrase anyone can guess, and marking it where
// it stood spelled it out ("407 [REDACTED]roxy Authentication Re…" for
// the password "P"). Such a reason is withheld whole; the code stays.
func TestProxyRefusalShortPasswordNotSpelledOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &scriptedProxy{answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
			<-closedBy(c)
		}}
		fw := p.dialer()
		d, err := HTTPProxyDialer("http://proxyuser:P@proxy.test:3128", fw, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.DialContext(t.Context(), "tcp", "rm.test:3201")
		var pe *ProxyError
		if !errors.As(err, &pe) || pe.StatusCode != 407 {
			t.Fatalf("err %v", err)
		}
		if want := "407 [REDACTED] (reason withheld: it holds a short secret)"; pe.Status != want {
			t.Errorf("Status = %q, want %q", pe.Status, want)
		}
		if strings.Contains(err.Error(), "Authentication") {
			t.Errorf("error %q shows the text around the password", err)
		}
		fw.wg.Wait()
	})
}
