package stream_test

import (
	"fmt"
	"log"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// handle is the consumer under test: it routes events by resource.
func handle(ev stream.Event) string {
	switch ev.Resource {
	case "DataPoint":
		dp, err := ev.DataPoint()
		if err != nil {
			return "bad DataPoint: " + err.Error()
		}
		return fmt.Sprintf("%s = %s", dp.StreamID, dp.Data)
	}
	return "ignored " + ev.Resource
}

// Build the events a consumer would receive, without a server: render the
// document the simulator would push and parse it as a subscription does.
// The same call parses a Block.Document read back from an archive.
func ExampleParseDocument() {
	doc, err := streamtest.AppendDocument(nil, protocol.FormatJSON, 0,
		streamtest.Event{Topic: "DataPoint/dev1/temp", Operation: "INSERTION", Timestamp: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
			Body: map[string]any{"id": "a", "streamId": "dev1/temp", "data": 21.5}},
		streamtest.Event{Topic: "DeviceCore/882/7", Body: map[string]any{"dpConnectionStatus": 1}},
	)
	if err != nil {
		log.Fatal(err)
	}
	events, err := stream.ParseDocument(doc, stream.FormatJSON)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range events {
		fmt.Println(ev.Topic, "→", handle(ev))
	}
	// A hand-built event works too: a zero Format is told by the body.
	ev := stream.Event{Resource: "DataPoint", Body: []byte(`{"streamId":"dev2/hum","data":40}`)}
	fmt.Println(handle(ev))
	// Output:
	// 1234/DataPoint/dev1/temp → dev1/temp = 21.5
	// 1234/DeviceCore/882/7 → ignored DeviceCore
	// dev2/hum = 40
}
