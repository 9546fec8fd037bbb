package stream_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
	"github.com/pushmon/pushmon/stream/streamtest"
)

// Route events on their resource and decode each with its accessor; a
// resource without a typed accessor of its own, or members a type does not
// name, are read with Record.
func ExampleEvent_AlarmStatus() {
	srv := streamtest.NewServer(streamtest.Options{})
	defer srv.Close()
	id := srv.CreateMonitor(streamtest.MonitorSpec{Topics: []string{"AlarmStatus", "Job"}, Persistent: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := stream.Subscribe(ctx, stream.Config{
		Addr: srv.PushAddr(), Plaintext: true,
		Username: "user", Password: secret.New("password"), MonitorID: id,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.Publish(
		streamtest.Event{Topic: "AlarmStatus/142/46911", Body: map[string]any{
			"id":         map[string]any{"almId": 142, "almsSourceEntityId": "46911"},
			"almsStatus": 1, "almsTopic": "Alarm.System.Monitor.inactive",
		}},
		streamtest.Event{Topic: "Job/7", Body: map[string]any{"jobId": 7, "jobStatus": "complete"}},
	)
	for n := 0; n < 2; n++ {
		ev := <-sub.Events()
		switch ev.Resource {
		case "AlarmStatus":
			as, err := ev.AlarmStatus()
			if err != nil {
				log.Print(err)
				continue
			}
			fmt.Println(as.ID.AlarmID, as.ID.SourceEntityID, as.Topic, "triggered:", as.Triggered())
		case "Job":
			job, err := ev.Job()
			if err != nil {
				log.Print(err)
				continue
			}
			status, _ := job.Get("jobStatus")
			fmt.Println("job", status)
		}
	}
	// Output:
	// 142 46911 Alarm.System.Monitor.inactive triggered: true
	// job complete
}
