package streamtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// A test starts a server, creates a monitor, connects a client (here a
// bare one written on package protocol) and publishes an event.
func Example() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"DataPoint"}})

	conn, err := net.Dial("tcp", srv.PushAddr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	req, _ := protocol.AppendConnectRequest(nil, "user", "password", id)
	conn.Write(req)
	rd := protocol.NewReader(conn, protocol.ReaderOptions{})
	f, _ := rd.ReadFrame()
	resp, _ := protocol.ParseConnectResponse(f.Payload)
	fmt.Println("connect:", resp.Status)

	// Events published once the client is connected reach it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.WaitConnected(ctx, id)
	srv.Publish(streamtest.Event{
		Topic:     "DataPoint/dev1/temperature",
		Operation: "INSERTION",
		Timestamp: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Body:      map[string]any{"streamId": "dev1/temperature", "data": 21.5},
	})

	f, _ = rd.ReadFrame()
	pm, _ := protocol.ParsePublishMessage(f.Payload)
	var doc struct {
		Document struct {
			Msg struct {
				Topic, Operation, Timestamp string
				DataPoint                   struct{ Data float64 }
			}
		}
	}
	json.Unmarshal(pm.Payload, &doc)
	m := doc.Document.Msg
	fmt.Println(pm.DataBlockID, pm.Count, m.Topic, m.Operation, m.Timestamp, m.DataPoint.Data)
	// Output:
	// connect: 200 OK
	// 0 1 1234/DataPoint/dev1/temperature INSERTION 2024-03-01T12:00:00.000Z 21.5
}
