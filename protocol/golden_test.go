package protocol_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The documented ConnectRequest (package documentation §2.1).
const goldenConnectRequest = "00 01 00 00 00 13 00 01 00 05 70 65 70 73 69 00 04 63 6f 6c 61 00 00 01 04"

// The documented ack of block 0x01A7 (package documentation §2.4).
const goldenAck = "00 04 00 00 00 04 01 a7 00 c8"

func TestConnectRequestGolden(t *testing.T) {
	want := unhex(t, goldenConnectRequest)
	got, err := protocol.AppendConnectRequest(nil, "pepsi", "cola", 260)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendConnectRequest = % x\nwant                   % x", got, want)
	}

	// Appending keeps what dst held.
	prefix := []byte("xyz")
	got, err = protocol.AppendConnectRequest(prefix, "pepsi", "cola", 260)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("xyz"), want...)) {
		t.Fatalf("AppendConnectRequest after a prefix = % x", got)
	}

	// Decoding the documented bytes.
	r := protocol.NewReader(bytes.NewReader(want), protocol.ReaderOptions{Side: protocol.ServerSide})
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != protocol.TypeConnectRequest || len(f.Payload) != 0x13 {
		t.Fatalf("frame = %v", f)
	}
	c, err := protocol.ParseConnectRequest(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || string(c.Username) != "pepsi" || c.Password.Reveal() != "cola" || c.MonitorID != 260 {
		t.Fatalf("parsed version %d user %q monitor %d (password ok: %v)",
			c.Version, c.Username, c.MonitorID, c.Password.Reveal() == "cola")
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the only frame: %v, want io.EOF", err)
	}
}

func TestAckGolden(t *testing.T) {
	want := unhex(t, goldenAck)
	if got := protocol.AppendAck(nil, 0x01A7); !bytes.Equal(got, want) {
		t.Fatalf("AppendAck = % x, want % x", got, want)
	}
	if len(want) != protocol.AckSize {
		t.Fatalf("AckSize = %d, the documented ack is %d bytes", protocol.AckSize, len(want))
	}
	r := protocol.NewReader(bytes.NewReader(want), protocol.ReaderOptions{Side: protocol.ServerSide})
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	a, err := protocol.ParseAck(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(protocol.Ack{DataBlockID: 0x01A7, Status: protocol.StatusOK}, a); diff != "" {
		t.Fatalf("ParseAck (-want +got):\n%s", diff)
	}
}

func TestConnectResponseCapture(t *testing.T) {
	capture := readVector(t, "connect-response-2012.bin")
	r := protocol.NewReader(bytes.NewReader(capture), protocol.ReaderOptions{})
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != protocol.TypeConnectResponse {
		t.Fatalf("type %v", f.Type)
	}
	resp, err := protocol.ParseConnectResponse(f.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != protocol.StatusOK || resp.Version != 1 {
		t.Fatalf("ConnectResponse = %+v, want status 200 version 1", resp)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the capture: %v, want io.EOF", err)
	}
	if got := protocol.AppendConnectResponse(nil, protocol.StatusOK); !bytes.Equal(got, capture) {
		t.Fatalf("AppendConnectResponse(200) = % x, capture % x", got, capture)
	}
	if len(capture) != protocol.ConnectResponseSize {
		t.Fatalf("ConnectResponseSize = %d, capture is %d bytes", protocol.ConnectResponseSize, len(capture))
	}
}

func TestPublishMessageCapture(t *testing.T) {
	capture := readVector(t, "publish-message-2012.bin")
	if len(capture) != 1048 {
		t.Fatalf("capture is %d bytes, want 1048", len(capture))
	}
	r := protocol.NewReader(bytes.NewReader(capture), protocol.ReaderOptions{})
	var reencoded []byte
	for i, op := range []string{"UPDATE", "DELETE"} {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Type != protocol.TypePublishMessage || len(f.Payload) != 0x206 {
			t.Fatalf("frame %d: %v", i, f)
		}
		m, err := protocol.ParsePublishMessage(f.Payload)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if m.DataBlockID != uint16(i) || m.Count != 1 || m.Compression != protocol.CompressionNone ||
			m.Format != protocol.FormatJSON || len(m.Payload) != 508 {
			t.Fatalf("frame %d: id %d count %d %v %v %d bytes", i, m.DataBlockID, m.Count,
				m.Compression, m.Format, len(m.Payload))
		}
		var doc struct {
			Document struct {
				Msg struct {
					Topic      string          `json:"topic"`
					Operation  string          `json:"operation"`
					DeviceCore json.RawMessage `json:"DeviceCore"`
				}
			}
		}
		if err := json.Unmarshal(m.Payload, &doc); err != nil {
			t.Fatalf("frame %d: document is not JSON: %v", i, err)
		}
		if got := doc.Document.Msg; got.Operation != op || got.Topic != "1654/DeviceCore/6283/0" || len(got.DeviceCore) == 0 {
			t.Fatalf("frame %d: operation %q topic %q", i, got.Operation, got.Topic)
		}
		reencoded = publish(t, m)
		if !bytes.Equal(reencoded, capture[i*524:(i+1)*524]) {
			t.Fatalf("frame %d: re-encoding differs from the capture", i)
		}
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after two frames: %v, want io.EOF", err)
	}
}

// roundTrip encodes frames, reads them back with a Reader of the given side
// and returns what Parse made of each.
func roundTrip(t *testing.T, side protocol.Side, bufSize int, stream []byte) []any {
	t.Helper()
	r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{Side: side, BufferSize: bufSize})
	var out []any
	for {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		var v any
		switch f.Type {
		case protocol.TypeConnectRequest:
			c, err := protocol.ParseConnectRequest(f.Payload)
			c.Username = bytes.Clone(c.Username)
			v = c
			if err != nil {
				v = err
			}
		case protocol.TypeConnectResponse:
			v, err = protocol.ParseConnectResponse(f.Payload)
		case protocol.TypePublishMessage:
			m, err2 := protocol.ParsePublishMessage(f.Payload)
			m.Payload, err = bytes.Clone(m.Payload), err2
			v = m
		case protocol.TypePublishMessageReceived:
			v, err = protocol.ParseAck(f.Payload)
		}
		if err != nil {
			t.Fatalf("frame %d (%v): %v", len(out), f, err)
		}
		out = append(out, v)
	}
}

// cmpOpts compares ConnectRequests by field (their Format method would
// otherwise hide the password from the diff, and nil equals empty).
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b protocol.ConnectRequest) bool {
		return a.Version == b.Version && bytes.Equal(a.Username, b.Username) &&
			a.Password.Equal(b.Password) && a.MonitorID == b.MonitorID
	}),
	cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) }),
}

func TestRoundTripClientToServer(t *testing.T) {
	creds := []struct{ user, pass string }{
		{"pepsi", "cola"},
		{"", ""},
		{"Jürgen Müller", "pässwörd"},
		{"東京ユーザー", "пароль🔑"},
		{strings.Repeat("u", protocol.MaxCredentialLen), strings.Repeat("p", protocol.MaxCredentialLen)},
		{"api-key-id", strings.Repeat("é", protocol.MaxCredentialLen/2)}, // 65 534 bytes, 32 767 runes
	}
	var stream []byte
	var want []any
	for i, c := range creds {
		var err error
		stream, err = protocol.AppendConnectRequest(stream, c.user, c.pass, uint32(i)*0x01010101)
		if err != nil {
			t.Fatalf("%q: %v", c.user, err)
		}
		want = append(want, protocol.ConnectRequest{Version: 1, Username: []byte(c.user),
			Password: secret.New(c.pass), MonitorID: uint32(i) * 0x01010101})
	}
	for _, id := range []uint16{0, 1, 0x01A7, 0xFFFE, 0xFFFF} {
		stream = protocol.AppendAck(stream, id)
		want = append(want, protocol.Ack{DataBlockID: id, Status: protocol.StatusOK})
	}
	for _, bufSize := range []int{0, 64, 1000, 200000} {
		t.Run(fmt.Sprint("buffer", bufSize), func(t *testing.T) {
			got := roundTrip(t, protocol.ServerSide, bufSize, stream)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// Lengths on the wire are byte lengths, not rune counts.
func TestConnectRequestByteLengths(t *testing.T) {
	user, pass := "Jürgen", "пароль🔑"
	if utf8.RuneCountInString(user) == len(user) || utf8.RuneCountInString(pass) == len(pass) {
		t.Fatal("test credentials must be non-ASCII")
	}
	b, err := protocol.AppendConnectRequest(nil, user, pass, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.AppendHeader(nil, protocol.TypeConnectRequest, uint32(10+len(user)+len(pass)))
	want = append(want, 0, 1, 0, byte(len(user)))
	want = append(want, user...)
	want = append(want, 0, byte(len(pass)))
	want = append(want, pass...)
	want = append(want, 0, 0, 0, 7)
	if !bytes.Equal(b, want) {
		t.Fatalf("got  % x\nwant % x", b, want)
	}
}

func TestRoundTripServerToClient(t *testing.T) {
	var stream []byte
	var want []any
	for _, s := range []protocol.Status{protocol.StatusOK, protocol.StatusUnauthorized, protocol.StatusBadRequest} {
		stream = protocol.AppendConnectResponse(stream, s)
		want = append(want, protocol.ConnectResponse{Status: s, Version: 1})
	}
	docs := [][]byte{nil, {'x'}, dataPointBatch(1), jsonDoc(4086), jsonDoc(4096), jsonDoc(70000)}
	for i, doc := range docs {
		for _, comp := range []protocol.Compression{protocol.CompressionNone, protocol.CompressionZlib} {
			for _, format := range []protocol.Format{protocol.FormatXML, protocol.FormatJSON} {
				payload := doc
				if comp == protocol.CompressionZlib {
					payload = deflate(t, doc)
				}
				m := protocol.PublishMessage{DataBlockID: uint16(0xFFFF - i), Count: uint16(i * 3),
					Compression: comp, Format: format, Payload: payload}
				stream = append(stream, publish(t, m)...)
				want = append(want, m)
			}
		}
	}
	for _, bufSize := range []int{0, 64, 5000, 1 << 20} {
		t.Run(fmt.Sprint("buffer", bufSize), func(t *testing.T) {
			got := roundTrip(t, protocol.ClientSide, bufSize, stream)
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	// The zlib payloads inflate back to the documents.
	inf := protocol.NewInflater(0)
	for _, v := range roundTrip(t, protocol.ClientSide, 0, stream) {
		m, ok := v.(protocol.PublishMessage)
		if !ok || m.Compression != protocol.CompressionZlib {
			continue
		}
		doc, err := inf.Inflate(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if want := docs[0xFFFF-int(m.DataBlockID)]; !bytes.Equal(doc, want) {
			t.Fatalf("block %d inflates to %d bytes, want %d", m.DataBlockID, len(doc), len(want))
		}
	}
}

func TestLegacyAck(t *testing.T) {
	legacy := protocol.AppendLegacyAck(nil, 0x01A7)
	if want := unhex(t, "00 04 01 a7 00 c8"); !bytes.Equal(legacy, want) {
		t.Fatalf("AppendLegacyAck = % x, want % x", legacy, want)
	}
	var stream []byte
	ids := []uint16{0x01A7, 0, 5, 0xFFFF, 9}
	for i, id := range ids {
		if i%2 == 0 {
			stream = protocol.AppendLegacyAck(stream, id)
		} else {
			stream = protocol.AppendAck(stream, id)
		}
	}
	stream = append(stream, unhex(t, goldenConnectRequest)...)

	for _, bufSize := range []int{0, 64} {
		r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{
			Side: protocol.ServerSide, AcceptLegacyAck: true, BufferSize: bufSize})
		for _, id := range ids {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			a, err := protocol.ParseAck(f.Payload)
			if err != nil || a != (protocol.Ack{DataBlockID: id, Status: protocol.StatusOK}) {
				t.Fatalf("ack %#x: got %+v, %v", id, a, err)
			}
		}
		// The stream stays in sync after the 6-byte form.
		f, err := r.ReadFrame()
		if err != nil || f.Type != protocol.TypeConnectRequest {
			t.Fatalf("after the acks: %v, %v", f, err)
		}
	}

	// Without the option the 6-byte form is a size mismatch.
	r := protocol.NewReader(bytes.NewReader(legacy), protocol.ReaderOptions{Side: protocol.ServerSide})
	_, err := r.ReadFrame()
	if !errors.Is(err, protocol.ErrSizeMismatch) {
		t.Fatalf("legacy ack without AcceptLegacyAck: %v, want ErrSizeMismatch", err)
	}
	// A client never accepts acks, legacy or not.
	r = protocol.NewReader(bytes.NewReader(legacy), protocol.ReaderOptions{AcceptLegacyAck: true})
	if _, err := r.ReadFrame(); !errors.Is(err, protocol.ErrWrongDirection) {
		t.Fatalf("legacy ack at a client: %v, want ErrWrongDirection", err)
	}
	// The option does not make other ack sizes acceptable.
	bad := protocol.AppendHeader(nil, protocol.TypePublishMessageReceived, 5)
	bad = append(bad, 1, 2, 3, 4, 5)
	r = protocol.NewReader(bytes.NewReader(bad), protocol.ReaderOptions{Side: protocol.ServerSide, AcceptLegacyAck: true})
	if _, err := r.ReadFrame(); !errors.Is(err, protocol.ErrSizeMismatch) {
		t.Fatalf("5-byte ack with AcceptLegacyAck: %v, want ErrSizeMismatch", err)
	}
}

func TestDirection(t *testing.T) {
	connReq := unhex(t, goldenConnectRequest)
	ack := unhex(t, goldenAck)
	connResp := protocol.AppendConnectResponse(nil, protocol.StatusOK)
	pub := publish(t, protocol.PublishMessage{Payload: []byte("{}"), Format: protocol.FormatJSON})
	cases := []struct {
		name  string
		side  protocol.Side
		frame []byte
		ok    bool
	}{
		{"client reads ConnectResponse", protocol.ClientSide, connResp, true},
		{"client reads PublishMessage", protocol.ClientSide, pub, true},
		{"client reads ConnectRequest", protocol.ClientSide, connReq, false},
		{"client reads ack", protocol.ClientSide, ack, false},
		{"server reads ConnectRequest", protocol.ServerSide, connReq, true},
		{"server reads ack", protocol.ServerSide, ack, true},
		{"server reads ConnectResponse", protocol.ServerSide, connResp, false},
		{"server reads PublishMessage", protocol.ServerSide, pub, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// As the first frame and after a valid one.
			var first []byte
			if c.side == protocol.ClientSide {
				first = protocol.AppendConnectResponse(nil, protocol.StatusOK)
			} else {
				first = protocol.AppendAck(nil, 1)
			}
			for _, stream := range [][]byte{c.frame, append(first, c.frame...)} {
				r := protocol.NewReader(bytes.NewReader(stream), protocol.ReaderOptions{Side: c.side})
				frames, err := readAll(r)
				if c.ok {
					if err != io.EOF {
						t.Fatalf("got %v", err)
					}
					continue
				}
				if !errors.Is(err, protocol.ErrWrongDirection) {
					t.Fatalf("got %v after %d frames, want ErrWrongDirection", err, len(frames))
				}
				var fe *protocol.FrameError
				if !errors.As(err, &fe) || !fe.Type.Valid() || fe.Type.FromServer() != (c.side == protocol.ServerSide) {
					t.Fatalf("FrameError %+v", fe)
				}
			}
		})
	}
	if protocol.ClientSide != (protocol.ReaderOptions{}).Side {
		t.Fatal("the zero ReaderOptions must be client side")
	}
}

func TestStringsAndRedaction(t *testing.T) {
	for want, v := range map[string]fmt.Stringer{
		"ConnectRequest":         protocol.TypeConnectRequest,
		"ConnectResponse":        protocol.TypeConnectResponse,
		"PublishMessage":         protocol.TypePublishMessage,
		"PublishMessageReceived": protocol.TypePublishMessageReceived,
		"Type(9)":                protocol.Type(9),
		"none":                   protocol.CompressionNone,
		"zlib":                   protocol.CompressionZlib,
		"Compression(2)":         protocol.Compression(2),
		"xml":                    protocol.FormatXML,
		"json":                   protocol.FormatJSON,
		"Format(7)":              protocol.Format(7),
		"200 OK":                 protocol.StatusOK,
		"400 Bad Request":        protocol.StatusBadRequest,
		"403 Unauthorized":       protocol.StatusUnauthorized,
		"500":                    protocol.Status(500),
	} {
		if got := v.String(); got != want {
			t.Errorf("%T String = %q, want %q", v, got, want)
		}
	}

	const secret = "s3cr3t-Pässword"
	frame, err := protocol.AppendConnectRequest(nil, "pepsi", secret, 260)
	if err != nil {
		t.Fatal(err)
	}
	c, err := protocol.ParseConnectRequest(frame[protocol.HeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	f := protocol.Frame{Type: protocol.TypeConnectRequest, Payload: frame[protocol.HeaderSize:]}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{c, &c, f, []protocol.ConnectRequest{c}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) ||
				strings.Contains(out, fmt.Sprintf("%X", secret)) ||
				strings.Contains(out, strings.Trim(fmt.Sprintf("%d", []byte(secret)), "[]")) {
				t.Errorf("fmt %s of %T reveals the password: %s", verb, v, out)
			}
		}
	}
	if s := c.String(); !strings.Contains(s, "pepsi") || !strings.Contains(s, "260") || !strings.Contains(s, "REDACTED") {
		t.Errorf("String = %q: want the user, the monitor and a redaction mark", s)
	}
	if s, want := f.String(), fmt.Sprintf("ConnectRequest(%d bytes)", len(f.Payload)); s != want {
		t.Errorf("Frame.String = %q", s)
	}
}
