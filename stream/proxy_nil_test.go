package stream_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/stream"
)

// A nil *ProxyDialer (a Config built with one by mistake, a field not set
// yet) prints "<nil>" like the Client does: its String does not panic, and
// slog does not log a panic and a stack instead of the value.
func TestProxyDialerNilPrints(t *testing.T) {
	var d *stream.ProxyDialer
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("String of a nil *ProxyDialer panicked: %v", r)
			}
		}()
		if s := d.String(); s != "<nil>" {
			t.Errorf("String = %q", s)
		}
	}()
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "dialer", d)
	if s := buf.String(); strings.Contains(s, "panicked") {
		t.Errorf("slog of a nil *ProxyDialer: %s", s)
	}
}
