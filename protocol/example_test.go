package protocol_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/pushmon/pushmon/protocol"
)

// A client's read loop: read frames, parse them, copy what must outlive the
// next read, and ack each block into a reused buffer.
func ExampleReader() {
	// What a server might send: the answer to the ConnectRequest and two
	// blocks of events.
	var server []byte
	server = protocol.AppendConnectResponse(server, protocol.StatusOK)
	for id, op := range []string{"UPDATE", "DELETE"} {
		doc := `{"Document":{"Msg":{"topic":"1654/DeviceCore/6283/0","operation":"` + op + `"}}}`
		server, _ = protocol.AppendPublishMessage(server, protocol.PublishMessage{
			DataBlockID: uint16(id), Count: 1, Format: protocol.FormatJSON, Payload: []byte(doc)})
	}

	r := protocol.NewReader(bytes.NewReader(server), protocol.ReaderOptions{Side: protocol.ClientSide})
	var acks []byte // reused for every ack: encoding allocates nothing
	var kept [][]byte
	for {
		f, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("read:", err) // then close the connection
			return
		}
		switch f.Type {
		case protocol.TypeConnectResponse:
			resp, err := protocol.ParseConnectResponse(f.Payload)
			if err != nil || resp.Status != protocol.StatusOK {
				fmt.Println("refused:", resp.Status, err)
				return
			}
			fmt.Println("connected:", resp.Status)
		case protocol.TypePublishMessage:
			m, err := protocol.ParsePublishMessage(f.Payload)
			if err != nil {
				fmt.Println("bad block:", err)
				return
			}
			// m.Payload is borrowed until the next ReadFrame: copy it.
			kept = append(kept, bytes.Clone(m.Payload))
			fmt.Printf("block %d: %d event(s), %v, %d bytes\n", m.DataBlockID, m.Count, m.Format, len(m.Payload))
			acks = protocol.AppendAck(acks[:0], m.DataBlockID)
			fmt.Printf("ack: % x\n", acks) // write acks to the connection
		}
	}
	fmt.Println("kept", len(kept), "documents")
	// Output:
	// connected: 200 OK
	// block 0: 1 event(s), json, 76 bytes
	// ack: 00 04 00 00 00 04 00 00 00 c8
	// block 1: 1 event(s), json, 76 bytes
	// ack: 00 04 00 00 00 04 00 01 00 c8
	// kept 2 documents
}

// The documented ConnectRequest. Lengths are byte lengths, and a credential
// that does not fit is refused rather than truncated.
func ExampleAppendConnectRequest() {
	frame, err := protocol.AppendConnectRequest(nil, "pepsi", "cola", 260)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", frame)

	frame, _ = protocol.AppendConnectRequest(nil, "Jürgen", "pässwörd", 260)
	fmt.Println(len(frame), "bytes: user and password lengths count bytes, not characters")

	_, err = protocol.AppendConnectRequest(nil, "pepsi", string(make([]byte, 70000)), 260)
	fmt.Println(errors.Is(err, protocol.ErrCredentialTooLong))
	// Output:
	// 00 01 00 00 00 13 00 01 00 05 70 65 70 73 69 00 04 63 6f 6c 61 00 00 01 04
	// 33 bytes: user and password lengths count bytes, not characters
	// true
}

// Inflating zlib blocks with one Inflater per connection: its output is
// reused, and a payload that would inflate past the limit is refused.
func ExampleInflater() {
	compress := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	inf := protocol.NewInflater(1 << 20) // at most 1 MiB per block

	doc, err := inf.Inflate(compress(`{"Document":{"Msg":[{"operation":"INSERTION"},{"operation":"INSERTION"}]}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(doc)) // borrowed until the next Inflate

	_, err = inf.Inflate(compress(string(make([]byte, 2<<20))))
	fmt.Println(errors.Is(err, protocol.ErrDecompressedTooLarge))

	_, err = inf.Inflate([]byte("not zlib"))
	fmt.Println(errors.Is(err, protocol.ErrCorruptPayload))
	// Output:
	// {"Document":{"Msg":[{"operation":"INSERTION"},{"operation":"INSERTION"}]}}
	// true
	// true
}
