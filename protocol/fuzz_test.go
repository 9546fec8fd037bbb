package protocol_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/pushmon/pushmon/protocol"
)

// Fuzz targets. Their seed corpora (f.Add below, plus testdata/fuzz) run as
// ordinary tests in every `go test`; `go test -fuzz=FuzzX` explores further.
// Each target checks bounded allocation, not only the absence of panics.

// readerSeeds are streams for FuzzReader: every hostile case of the tests
// and some valid traffic.
func readerSeeds() [][]byte {
	pub := func(m protocol.PublishMessage) []byte { b, _ := protocol.AppendPublishMessage(nil, m); return b }
	connReq, _ := protocol.AppendConnectRequest(nil, "pepsi", "cola", 260)
	connReqUTF8, _ := protocol.AppendConnectRequest(nil, "Jürgen", "пароль🔑", 7)
	seeds := [][]byte{
		nil,
		{0},
		{0, 3, 0},
		protocol.AppendConnectResponse(nil, protocol.StatusOK),
		append(protocol.AppendConnectResponse(nil, protocol.StatusOK),
			pub(protocol.PublishMessage{DataBlockID: 1, Count: 1, Format: protocol.FormatJSON, Payload: dataPointBatch(1)})...),
		pub(protocol.PublishMessage{DataBlockID: 0xFFFF, Count: 65535, Payload: []byte("x")}),
		pub(protocol.PublishMessage{Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: mustDeflate(dataPointBatch(5))}),
		pub(protocol.PublishMessage{Payload: make([]byte, 5000)}),
		protocol.AppendHeader(nil, protocol.TypePublishMessage, 0xFFFFFFFF),
		protocol.AppendHeader(nil, protocol.TypePublishMessage, 100000),
		rawPublish(100000, 1, 1, 0, 1, 99990, make([]byte, 3000)),
		rawPublish(12, 1, 1, 0, 1, 3, []byte("{}")),
		rawPublish(12, 1, 1, 0, 1, 1, []byte("{}")),
		rawPublish(12, 1, 1, 0, 1, 0xFFFFFFFF, []byte("{}")),
		rawPublish(12, 1, 1, 7, 1, 2, []byte("{}")),
		rawPublish(12, 1, 1, 0, 9, 2, []byte("{}")),
		protocol.AppendHeader(nil, protocol.TypePublishMessage, 9),
		append(protocol.AppendHeader(nil, 5, 4), 1, 2, 3, 4),
		protocol.AppendHeader(nil, 0xFFFF, 0),
		[]byte("\x15\x03\x03\x00\x02\x02\x28"),
		[]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
		[]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		connReq,
		connReqUTF8,
		protocol.AppendAck(nil, 0x01A7),
		protocol.AppendLegacyAck(protocol.AppendAck(nil, 1), 2),
		append(protocol.AppendHeader(nil, protocol.TypeConnectRequest, 12), 0, 1, 0, 9, 'a', 'b', 0, 0, 0, 0, 0, 0),
		append(protocol.AppendHeader(nil, protocol.TypeConnectResponse, 5), 0, 200, 0, 1, 0),
	}
	if v := vectorOrNil("connect-response-2012.bin"); v != nil {
		seeds = append(seeds, append(v, vectorOrNil("publish-message-2012.bin")...))
	}
	return seeds
}

// FuzzReader reads a stream with each kind of Reader. Properties: bounded
// allocation; typed, final errors; every frame's payload is exactly the
// bytes its header declared at that offset of the input (never longer);
// re-encoding a parsed frame reproduces its bytes; the result does not
// depend on how the bytes are split into reads.
func FuzzReader(f *testing.F) {
	for _, s := range readerSeeds() {
		for opts := range byte(8) {
			f.Add(s, opts)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, optBits byte) {
		opts := protocol.ReaderOptions{
			MaxFrameSize:    1 << 20,
			Side:            protocol.Side(optBits & 1),
			AcceptLegacyAck: optBits&2 != 0,
			PoisonBorrowed:  optBits&4 != 0,
		}
		if optBits&8 != 0 {
			opts.BufferSize = 64
		}
		// Allocation of the Reader alone: its buffer, large bodies that grow
		// with the bytes present (copies while growing included), errors.
		alloc := allocatedMin(3, func() {
			r := protocol.NewReader(bytes.NewReader(data), opts)
			for {
				if _, err := r.ReadFrame(); err != nil {
					return
				}
			}
		})
		if bound := uint64(16<<10 + 4*len(data)); alloc > bound {
			t.Fatalf("allocated %d bytes for %d input bytes (bound %d)", alloc, len(data), bound)
		}
		frames, err := readAllChecked(t, protocol.NewReader(bytes.NewReader(data), opts), data, opts)
		if !typedErr(err) {
			t.Fatalf("untyped error %T %v", err, err)
		}
		// The same frames and the same error, read one byte at a time.
		frames2, err2 := readAll(protocol.NewReader(iotest.OneByteReader(bytes.NewReader(data)), opts))
		if !equalFrames(frames, frames2) || !sameSentinel(err, err2) {
			t.Fatalf("one byte at a time: %d frames, %v; whole: %d frames, %v", len(frames2), err2, len(frames), err)
		}
	})
}

// readAllChecked reads r to its first error, checking each frame against
// the input.
func readAllChecked(t *testing.T, r *protocol.Reader, data []byte, opts protocol.ReaderOptions) ([]owned, error) {
	var frames []owned
	off := 0
	for {
		fr, err := r.ReadFrame()
		if err != nil {
			if _, again := r.ReadFrame(); again != err {
				t.Fatalf("error not final: %v then %v", err, again)
			}
			if err == io.EOF && off != len(data) {
				t.Fatalf("io.EOF after %d of %d bytes", off, len(data))
			}
			return frames, err
		}
		if len(data)-off < protocol.HeaderSize {
			t.Fatalf("frame at %d past the input", off)
		}
		hdr := data[off : off+protocol.HeaderSize]
		size := int(binary.BigEndian.Uint32(hdr[2:]))
		raw := data[off:]
		switch {
		case opts.AcceptLegacyAck && fr.Type == protocol.TypePublishMessageReceived && size != 4:
			// The 6-byte form: the "size" is the id and the status.
			if !bytes.Equal(fr.Payload, hdr[2:6]) {
				t.Fatalf("legacy ack payload % x, input % x", fr.Payload, hdr[2:6])
			}
			raw = raw[:6]
		default:
			if fr.Type != protocol.Type(binary.BigEndian.Uint16(hdr)) || len(fr.Payload) != size ||
				len(raw) < protocol.HeaderSize+size || !bytes.Equal(fr.Payload, raw[protocol.HeaderSize:protocol.HeaderSize+size]) {
				t.Fatalf("frame %v at %d does not match the %d bytes its header declares", fr, off, size)
			}
			raw = raw[:protocol.HeaderSize+size]
		}
		if fr.Type.FromServer() != (opts.Side == protocol.ClientSide) {
			t.Fatalf("%v accepted by side %d", fr.Type, opts.Side)
		}
		checkReencode(t, fr, raw)
		frames = append(frames, owned{fr.Type, bytes.Clone(fr.Payload)})
		off += len(raw)
	}
}

// checkReencode parses a frame and, when that succeeds, encodes the result
// again and compares it with the frame's bytes on the wire.
func checkReencode(t *testing.T, fr protocol.Frame, raw []byte) {
	var again []byte
	var err error
	switch fr.Type {
	case protocol.TypeConnectRequest:
		var c protocol.ConnectRequest
		if c, err = protocol.ParseConnectRequest(fr.Payload); err == nil {
			if c.Version != protocol.Version {
				// AppendConnectRequest writes only version 1: patch it.
				again, err = protocol.AppendConnectRequest(nil, string(c.Username), c.Password.Reveal(), c.MonitorID)
				binary.BigEndian.PutUint16(again[protocol.HeaderSize:], c.Version)
			} else {
				again, err = protocol.AppendConnectRequest(nil, string(c.Username), c.Password.Reveal(), c.MonitorID)
			}
		}
	case protocol.TypeConnectResponse:
		var c protocol.ConnectResponse
		if c, err = protocol.ParseConnectResponse(fr.Payload); err == nil {
			again = protocol.AppendConnectResponse(nil, c.Status)
			binary.BigEndian.PutUint16(again[8:], c.Version)
		}
	case protocol.TypePublishMessage:
		var m protocol.PublishMessage
		if m, err = protocol.ParsePublishMessage(fr.Payload); err == nil {
			if len(m.Payload) != len(fr.Payload)-protocol.PublishHeaderSize {
				t.Fatalf("document of %d bytes in a payload of %d", len(m.Payload), len(fr.Payload))
			}
			again, err = protocol.AppendPublishMessage(nil, m)
		}
	case protocol.TypePublishMessageReceived:
		var a protocol.Ack
		if a, err = protocol.ParseAck(fr.Payload); err == nil {
			if len(raw) == 6 {
				again = protocol.AppendLegacyAck(nil, a.DataBlockID)
			} else {
				again = protocol.AppendAck(nil, a.DataBlockID)
			}
			binary.BigEndian.PutUint16(again[len(again)-2:], uint16(a.Status))
		}
	}
	if err != nil {
		if !typedErr(err) {
			t.Fatalf("parse %v: untyped error %v", fr.Type, err)
		}
		return
	}
	if !bytes.Equal(again, raw) {
		t.Fatalf("re-encoded %v\n% x\nwire\n% x", fr.Type, again, raw)
	}
}

func equalFrames(a, b []owned) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Payload, b[i].Payload) {
			return false
		}
	}
	return true
}

// sameSentinel reports whether two errors are the same kind of failure.
func sameSentinel(a, b error) bool {
	if a == io.EOF || b == io.EOF {
		return a == b
	}
	for _, s := range sentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return true
}

// FuzzPublishMessage parses PublishMessage payloads. Properties: success
// costs no allocation and an error little; the document is exactly the
// declared bytes and aliases the input; re-encoding reproduces the frame;
// the Reader agrees with ParsePublishMessage on the same frame.
func FuzzPublishMessage(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 9))
	f.Add(rawPublish(11, 7, 65535, 0, 1, 1, []byte("x"))[protocol.HeaderSize:])
	f.Add(rawPublish(12, 1, 1, 0, 1, 3, []byte("{}"))[protocol.HeaderSize:])
	f.Add(rawPublish(12, 1, 1, 0, 1, 0xFFFFFFFF, []byte("{}"))[protocol.HeaderSize:])
	f.Add(rawPublish(12, 1, 1, 2, 1, 2, []byte("{}"))[protocol.HeaderSize:])
	f.Add(rawPublish(12, 1, 1, 1, 2, 2, []byte("{}"))[protocol.HeaderSize:])
	f.Add(rawPublish(0, 1, 1, 1, 1, 0, nil)[protocol.HeaderSize:])
	if v := vectorOrNil("publish-message-2012.bin"); v != nil {
		f.Add(v[protocol.HeaderSize:524])
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var m protocol.PublishMessage
		var err error
		alloc := allocatedMin(3, func() { m, err = protocol.ParsePublishMessage(payload) })
		if err != nil {
			if !typedErr(err) {
				t.Fatalf("untyped error %v", err)
			}
			var fe *protocol.FrameError
			if !errors.As(err, &fe) || fe.Type != protocol.TypePublishMessage || fe.Size != uint32(len(payload)) {
				t.Fatalf("FrameError %+v", fe)
			}
			if alloc > 1024 {
				t.Fatalf("an error cost %d bytes", alloc)
			}
		} else {
			if alloc != 0 {
				t.Fatalf("a successful parse allocated %d bytes", alloc)
			}
			if len(m.Payload) != len(payload)-protocol.PublishHeaderSize ||
				len(m.Payload) > 0 && &m.Payload[0] != &payload[protocol.PublishHeaderSize] {
				t.Fatal("the document is not the payload after the sub-header")
			}
			if cap(m.Payload) != len(m.Payload) {
				t.Fatal("the document's capacity reaches past it")
			}
			frame, err := protocol.AppendPublishMessage(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frame[protocol.HeaderSize:], payload) ||
				binary.BigEndian.Uint32(frame[2:]) != uint32(len(payload)) {
				t.Fatal("re-encoding differs")
			}
		}
		// Through a Reader, as a frame.
		frame := append(protocol.AppendHeader(nil, protocol.TypePublishMessage, uint32(len(payload))), payload...)
		fr, rerr := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{}).ReadFrame()
		if rerr == nil {
			_, rerr = protocol.ParsePublishMessage(fr.Payload)
		}
		if !sameSentinel(err, rerr) {
			t.Fatalf("Parse: %v, Reader: %v", err, rerr)
		}
	})
}

// FuzzInflate inflates arbitrary bytes and compares with compress/zlib.
// Properties: the same output or the same kind of error; never more than
// the limit produced; allocation bounded by the output, a quarter of the
// limit and fixed state; a second Inflate of the same input allocates
// nothing.
func FuzzInflate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x78, 0x9c})
	f.Add(mustDeflate(nil))
	f.Add(mustDeflate([]byte("a")))
	f.Add(mustDeflate(dataPointBatch(1)))
	f.Add(mustDeflate(dataPointBatch(30)))
	f.Add(mustDeflate(make([]byte, 3<<20))) // a small bomb against the fuzz limit
	good := mustDeflate(dataPointBatch(3))
	f.Add(good[:len(good)/2])
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	f.Add(bad)
	f.Add([]byte("this is not zlib at all"))
	f.Add([]byte{0x78, 0xbb, 0xde, 0xad, 0xbe, 0xef, 3, 0, 0, 0, 0, 1})
	f.Add([]byte{0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c', 0x02, 0x4d, 0x01, 0x27})
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		inf := protocol.NewInflater(limit)
		var out []byte
		var err error
		alloc := allocated(func() { out, err = inf.Inflate(data) })
		// Output, growth (≤ limit/4), the counting window and the error.
		if bound := uint64(len(out) + limit/4 + 128<<10); alloc > bound {
			t.Fatalf("allocated %d bytes for %d output bytes (bound %d)", alloc, len(out), bound)
		}
		if err == nil {
			out = bytes.Clone(out)
			again := allocatedMin(3, func() {
				var out2 []byte
				if out2, err = inf.Inflate(data); err != nil || !bytes.Equal(out2, out) {
					t.Fatalf("second Inflate: %v", err)
				}
			})
			if again != 0 {
				t.Fatalf("second Inflate of the same input allocated %d bytes", again)
			}
		}
		if err := checkAgainstRef(inf, data); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzConnectRequest round-trips credentials and parses arbitrary
// payloads. Properties: lengths in bytes; encode → Reader → Parse gives the
// input back; parsing never reads past the payload; errors are typed and
// never contain the credentials.
func FuzzConnectRequest(f *testing.F) {
	f.Add("pepsi", "cola", uint32(260))
	f.Add("", "", uint32(0))
	f.Add("Jürgen", "пароль🔑", uint32(0xFFFFFFFF))
	f.Add("\x00\xff", "\xff\xfe", uint32(1))
	f.Fuzz(func(t *testing.T, user, pass string, id uint32) {
		frame, err := protocol.AppendConnectRequest(nil, user, pass, id)
		if err != nil {
			t.Fatal(err) // fuzz inputs are far shorter than 64 KiB
		}
		if len(frame) != protocol.HeaderSize+10+len(user)+len(pass) {
			t.Fatalf("frame of %d bytes", len(frame))
		}
		r := protocol.NewReader(bytes.NewReader(frame), protocol.ReaderOptions{Side: protocol.ServerSide})
		fr, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		c, err := protocol.ParseConnectRequest(fr.Payload)
		if err != nil || c.Version != protocol.Version || string(c.Username) != user ||
			c.Password.Reveal() != pass || c.MonitorID != id {
			t.Fatalf("round trip: %v, %v", c, err)
		}
		// The strings as a raw payload.
		raw := []byte(user + pass)
		c, err = protocol.ParseConnectRequest(raw)
		if err != nil {
			if !errors.Is(err, protocol.ErrSizeMismatch) {
				t.Fatalf("untyped error %v", err)
			}
			// The error depends on the length fields alone: overwriting
			// every other byte (the would-be credentials) changes nothing,
			// so no credential byte can be in it.
			masked := bytes.Repeat([]byte{'Z'}, len(raw))
			keep := []int{2, 3}
			if len(raw) >= 4 {
				n := int(binary.BigEndian.Uint16(raw[2:]))
				keep = append(keep, 4+n, 5+n)
			}
			for _, i := range keep {
				if i < len(raw) {
					masked[i] = raw[i]
				}
			}
			if _, err2 := protocol.ParseConnectRequest(masked); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("the error depends on credential bytes: %q vs %v", err, err2)
			}
			return
		}
		if 10+len(c.Username)+c.Password.Len() != len(raw) {
			t.Fatal("lengths disagree with the payload")
		}
	})
}
