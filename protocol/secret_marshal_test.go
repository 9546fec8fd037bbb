package protocol_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/protocol"
)

// A ConnectRequest, and the frame that carries one, print no password in
// JSON or in log/slog either (a server or proxy logging what it reads as
// JSON), not only in fmt.
func TestConnectRequestNotInJSONOrSlog(t *testing.T) {
	const pw = "Pw-frame-s3cret"
	raw, err := protocol.AppendConnectRequest(nil, "alice", pw, 7)
	if err != nil {
		t.Fatal(err)
	}
	f, err := protocol.NewReader(bytes.NewReader(raw), protocol.ReaderOptions{Side: protocol.ServerSide}).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	req, err := protocol.ParseConnectRequest(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	type wrapper struct {
		Req   protocol.ConnectRequest
		Frame protocol.Frame
	}
	var out []string
	for _, v := range []any{req, &req, f, &f, wrapper{req, f}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var tb, jb bytes.Buffer
		slog.New(slog.NewTextHandler(&tb, nil)).Info("read", "v", v)
		slog.New(slog.NewJSONHandler(&jb, nil)).Info("read", "v", v)
		out = append(out, string(b), tb.String(), jb.String())
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(pw))[:16]
	for _, s := range out {
		if strings.Contains(s, pw) || strings.Contains(s, b64) || strings.Contains(s, base64.StdEncoding.EncodeToString(f.Payload)[:24]) {
			t.Errorf("the password is printed: %s", s)
		}
	}
}
