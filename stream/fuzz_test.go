package stream

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pushmon/pushmon/protocol"
)

// FuzzSession replays a server byte stream, as it would follow a valid
// ConnectResponse, to a real Subscription over net.Pipe; the server closes
// after the last byte. Whatever the bytes, nothing panics (the typed
// accessors of delivered events included), the session ends within 1 s of
// the server's close with a typed error, and no goroutine outlives it
// (synctest.Test fails on a goroutine left blocked in the bubble). The
// Events API and the Batches API (Batch.Events) deliver the same events
// and end with the same error.
func FuzzSession(f *testing.F) {
	doc, n := dpDoc("a", "b")
	one := frameOf(protocol.PublishMessage{Count: uint16(n), Format: protocol.FormatJSON, Payload: []byte(doc)})
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(doc))
	zw.Close()
	zipped := frameOf(protocol.PublishMessage{DataBlockID: 1, Count: uint16(n), Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: z.Bytes()})
	xml := frameOf(protocol.PublishMessage{DataBlockID: 2, Count: 1, Format: protocol.FormatXML,
		Payload: []byte(`<Document><Msg topic="3/DeviceCore/882/7" operation="UPDATE" timestamp="2012-04-17T14:14:07.028Z"><DeviceCore><id><devId>882</devId></id><dpConnectionStatus>1</dpConnectionStatus></DeviceCore></Msg></Document>`)})
	file := frameOf(protocol.PublishMessage{DataBlockID: 3, Count: 1, Format: protocol.FormatJSON,
		Payload: []byte(jsonDoc(jsonMsg("1/FileData/db/x/a.txt", "CREATE", "2012-04-17T14:14:07Z", "FileData", `{"id":{"fdPath":"/db/x/","fdName":"a.txt"},"fdData":"aGVsbG8=\n"}`, false)))})
	for _, seed := range [][]byte{
		nil,
		one,
		append(append(append(append([]byte(nil), one...), zipped...), xml...), file...),
		zipped[:len(zipped)-3],
		one[:4],
		{0, 3, 0xFF, 0xFF, 0xFF, 0xFF},
		protocol.AppendAck(nil, 1),
		protocol.AppendConnectResponse(nil, protocol.StatusOK),
		[]byte("HTTP/1.1 200 OK\r\n\r\n"),
		frameOf(protocol.PublishMessage{Count: 0xFFFF, Compression: protocol.CompressionZlib, Format: protocol.FormatJSON, Payload: []byte{0x78, 0x9c, 0xff}}),
		frameOf(protocol.PublishMessage{Count: 1, Format: protocol.FormatJSON, Payload: []byte(`{"Document":{"Msg":[{"topic":"1/DataPoint/x","DataPoint":{"id":`)}),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got [2][]Event
		var stats [2]Stats
		var errs [2]error
		for i, mode := range []mode{modeEvents, modeBatches} {
			synctest.Test(t, func(t *testing.T) {
				var closedAt time.Time
				d := &pipeDialer{serve: func(_ int, c net.Conn) {
					leanServer(data, false)(0, c)
					closedAt = time.Now()
				}}
				cfg := leanConfig(d)
				cfg.MaxDecompressed = 1 << 20
				sub, err := subscribeMode(t.Context(), cfg, mode)
				if err != nil {
					t.Fatal(err)
				}
				take := func(ev Event) {
					_ = ev.String()
					var v map[string]any
					_ = ev.Decode(&v)
					_, _ = ev.DataPoint()
					_, _ = ev.DeviceCore()
					_, _ = ev.FileData()
					got[i] = append(got[i], ev)
				}
				if mode == modeEvents {
					for ev := range sub.Events() {
						take(ev)
					}
				} else {
					for b := range sub.Batches() {
						for _, ev := range b.Events() {
							take(ev)
						}
					}
				}
				d.wg.Wait()
				if late := time.Since(closedAt); late > time.Second {
					t.Errorf("%s: session ended %v after the server closed", mode, late)
				}
				if errs[i] = sub.Err(); !typedSessionError(errs[i]) {
					t.Errorf("%s: session ended with an untyped error: %v", mode, errs[i])
				}
				stats[i] = sub.Stats()
			})
		}
		// Both modes deliver the same events, and end the same way.
		if diff := cmp.Diff(got[0], got[1]); diff != "" {
			t.Errorf("events (-modeEvents +modeBatches):\n%s", diff)
		}
		if fmt.Sprint(errs[0]) != fmt.Sprint(errs[1]) {
			t.Errorf("modeEvents ended with %v, modeBatches with %v", errs[0], errs[1])
		}
		e, b := stats[0], stats[1]
		if e.Blocks != b.Blocks || e.Events != b.Events || e.Duplicates != b.Duplicates || e.Raw != b.Raw || e.BadBlocks != b.BadBlocks || e.Acks != b.Acks {
			t.Errorf("stats differ: modeEvents %+v, modeBatches %+v", e, b)
		}
	})
}
