package protocol_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pushmon/pushmon/protocol"
)

// A ConnectRequest in a field of a caller's struct — unexported, where fmt
// cannot call its methods — or in a gob stream or a go-cmp diff does not
// print the password, in text, hex or decimal bytes.
func TestConnectRequestNestedDoesNotPrintThePassword(t *testing.T) {
	frame, err := protocol.AppendConnectRequest(nil, "user", "hunter2-pw", 5)
	if err != nil {
		t.Fatal(err)
	}
	r, err := protocol.ParseConnectRequest(frame[protocol.HeaderSize:])
	if err != nil || r.Password.Reveal() != "hunter2-pw" {
		t.Fatalf("parse: %v", err)
	}
	type holder struct {
		name string
		req  protocol.ConnectRequest
	}
	type exported struct{ Req protocol.ConnectRequest }
	check := func(what, out string) {
		t.Helper()
		for _, form := range []string{"hunter2", "68756e74", "68756E74", "104 117 110 116", "0x68,"} {
			if strings.Contains(out, form) {
				t.Errorf("%s prints the password: %s", what, out)
			}
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		check("holder "+verb, fmt.Sprintf(verb, holder{"x", r}))
		check("&holder "+verb, fmt.Sprintf(verb, &holder{"x", r}))
		check("exported "+verb, fmt.Sprintf(verb, exported{r}))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "h", holder{"x", r})
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "h", exported{r})
	check("slog", buf.String())
	buf.Reset()
	_ = gob.NewEncoder(&buf).Encode(r)
	check("gob", buf.String())
	frame2, _ := protocol.AppendConnectRequest(nil, "user", "hunter2-other", 5)
	r2, _ := protocol.ParseConnectRequest(frame2[protocol.HeaderSize:])
	d := cmp.Diff(r, r2)
	if d == "" {
		t.Error("cmp.Diff sees no difference between two passwords")
	}
	check("cmp.Diff", d)
}
