package stream_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// A nil *ProxyDialer, *HTTPReceiver, *Poller, *Subscription,
// *BatchSubscription or *streamtest.Server (a
// field not set yet, a constructor's result before its error was checked)
// prints "<nil>" like the monitor Client does: its String does not panic
// when called directly, and slog does not log a panic and a stack instead
// of the value.
func TestNilValuesPrint(t *testing.T) {
	for name, v := range map[string]fmt.Stringer{
		"ProxyDialer":       (*stream.ProxyDialer)(nil),
		"HTTPReceiver":      (*stream.HTTPReceiver)(nil),
		"Poller":            (*stream.Poller)(nil),
		"Subscription":      (*stream.Subscription)(nil),
		"BatchSubscription": (*stream.BatchSubscription)(nil),
		"Server":            (*streamtest.Server)(nil),
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("String of a nil *%s panicked: %v", name, r)
				}
			}()
			if s := v.String(); s != "<nil>" {
				t.Errorf("String of a nil *%s = %q", name, s)
			}
		}()
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "value", v)
		if s := buf.String(); strings.Contains(s, "panicked") {
			t.Errorf("slog of a nil *%s: %s", name, s)
		}
	}
}
