package streamtest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTryCreateMonitorValidation(t *testing.T) {
	s := NewServer(offline())
	defer s.Close()
	cases := []struct {
		spec  MonitorSpec
		field string
	}{
		{MonitorSpec{}, "monTopic"},
		{MonitorSpec{Topics: []string{"DeviceCore,DataPoint"}}, "monTopic"},
		{MonitorSpec{Topics: []string{"Nope"}}, "monTopic"},
		{MonitorSpec{Topics: []string{"DataPoint"}, Transport: "udp"}, "monTransportType"},
		{MonitorSpec{Topics: []string{"DataPoint"}, Format: "yaml"}, "monFormatType"},
		{MonitorSpec{Topics: []string{"DataPoint"}, Compression: "lz4"}, "monCompression"},
		{MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 70000}, "monBatchSize"},
		{MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: -1}, "monBatchSize"},
		{MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: "ftp://x"}, "monTransportUrl"},
		{MonitorSpec{Topics: []string{"DataPoint"}, TransportMethod: "GET"}, "monTransportMethod"},
		{MonitorSpec{Topics: []string{"DataPoint"}, SchemaType: "mustache"}, "monSchemaType"},
		{MonitorSpec{Topics: []string{"DataPoint"}, ConnectTimeout: -1}, "monConnectTimeout"},
	}
	for _, c := range cases {
		id, err := s.TryCreateMonitor(c.spec)
		var se *SpecError
		if id != 0 || !errors.Is(err, ErrInvalidMonitor) || !errors.As(err, &se) || se.Field != c.field {
			t.Errorf("%v: id %d err %v, want a SpecError for %s", c.spec, id, err, c.field)
		} else if !strings.HasPrefix(err.Error(), "Invalid "+c.field+" specified") {
			t.Errorf("message %q", err)
		}
	}
	var logged []string
	s2 := NewServer(Options{HTTPAddr: "-", PushAddr: "-", PushTLSAddr: "-",
		Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	defer s2.Close()
	if id := s2.CreateMonitor(MonitorSpec{}); id != 0 || len(logged) != 1 {
		t.Errorf("CreateMonitor of a bad spec: id %d, logs %q", id, logged)
	}
	// Defaults of a direct create.
	id := s.CreateMonitor(MonitorSpec{Topics: []string{" DataPoint "}})
	info, _ := s.MonitorInfo(id)
	want := MonitorSpec{Topics: []string{"DataPoint"}, Transport: "tcp", Format: "json", Compression: "none",
		BatchSize: 1, BatchDuration: 10 * time.Second, TransportMethod: "PUT",
		ConnectTimeout: 5 * time.Second, ResponseTimeout: 5 * time.Second}
	if fmt.Sprintf("%+v", info.Spec) != fmt.Sprintf("%+v", want) || info.CustomerID != DefaultCustomerID || info.ID != id {
		t.Errorf("defaults:\n got %+v\nwant %+v", info.Spec, want)
	}
	if ms := s.Monitors(); len(ms) != 1 || ms[0].ID != id {
		t.Errorf("Monitors() = %+v", ms)
	}
}

func TestRESTHTTPMonitorFields(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	id := c.create(`<Monitor><monTopic>[group=A,B]devices,DeviceCore</monTopic><monTransportType>http</monTransportType>
<monTransportUrl>https://example.com/hook</monTransportUrl><monTransportToken>bob:tok3n</monTransportToken>
<monTransportMethod>post</monTransportMethod><monTransportHeaders>X-A: 1</monTransportHeaders>
<monConnectTimeout>2500</monConnectTimeout><monResponseTimeout>0</monResponseTimeout>
<monSchemaType>handlebars</monSchemaType><monSchemaData>{{topic}}</monSchemaData></Monitor>`)
	info, _ := s.MonitorInfo(id)
	if sp := info.Spec; len(sp.Topics) != 2 || string(sp.TransportToken) != "bob:tok3n" || sp.TransportMethod != "POST" ||
		sp.ConnectTimeout != 2500*time.Millisecond || sp.ResponseTimeout != 5*time.Second || sp.SchemaData != "{{topic}}" {
		t.Errorf("spec %+v", sp)
	}
	c.accept = "application/json"
	_, _, body := c.do(http.MethodGet, fmt.Sprintf("/ws/Monitor/%d", id), "")
	item := parseJSONResult(t, body).Items[0]
	want := map[string]string{"monTopic": "[group=A,B]devices,DeviceCore", "monTransportType": "http",
		"monTransportUrl": "https://example.com/hook", "monTransportMethod": "POST", "monTransportHeaders": "X-A: 1",
		"monConnectTimeout": "2500", "monResponseTimeout": "5000", "monSchemaType": "handlebars",
		"monSchemaData": "{{topic}}", "monStatus": "INACTIVE"}
	for k, v := range want {
		if item[k] != v {
			t.Errorf("%s = %q, want %q", k, item[k], v)
		}
	}
	if strings.Contains(body, "tok3n") {
		t.Errorf("token echoed: %s", body)
	}
	// http monitors queue events for their sender (which waits for the
	// 10 s batch duration: nothing reaches example.com before Close).
	if n := s.Publish(Event{Topic: "DeviceCore/1"}); n != 1 {
		t.Errorf("queued %d for an http monitor", n)
	}
}

func TestAckHistoryIsBounded(t *testing.T) {
	m := &monitor{}
	for i := range 2*maxAckRecords + 1 {
		m.recordAckLocked(AckRecord{Events: i})
	}
	if n := len(m.acks); n < maxAckRecords || n > 2*maxAckRecords {
		t.Fatalf("%d records kept", n)
	}
	if last := m.acks[len(m.acks)-1].Events; last != 2*maxAckRecords {
		t.Errorf("last record %d", last)
	}
}
