package streamtest

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGeneratorEventsDeterministic(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	g := Generator{Devices: 3, Rate: 4, Seed: 42}
	a, err := g.Events(300, start)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := g.Events(300, start)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different events")
	}
	c, _ := Generator{Devices: 3, Rate: 4, Seed: 43}.Events(300, start)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same events")
	}
	if a[1].Timestamp.Sub(a[0].Timestamp) != 250*time.Millisecond {
		t.Errorf("spacing %v at Rate 4", a[1].Timestamp.Sub(a[0].Timestamp))
	}

	kinds := map[string]int{}
	status := map[string]float64{} // device topic → last dpConnectionStatus
	for i, ev := range a {
		r, err := prepare(ev, DefaultCustomerID, start)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if err := r.renderXML(); err != nil {
			t.Fatalf("event %d XML: %v", i, err)
		}
		msgs, _, err := decodeJSONDoc(appendDocument(nil, false, []qitem{{ev: r}}))
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		m := msgs[0]
		kinds[m.Resource]++
		body := m.Body
		if body["cstId"] != float64(DefaultCustomerID) {
			t.Errorf("event %d cstId %v", i, body["cstId"])
		}
		switch m.Resource {
		case "DataPoint":
			id, _ := body["id"].(string)
			sid, _ := body["streamId"].(string)
			_, isNum := body["data"].(float64)
			ts, _ := body["timestamp"].(float64)
			if !uuidRE.MatchString(id) || !strings.HasPrefix(sid, "dev") || !isNum || m.Operation != "INSERTION" ||
				m.Topic != "1234/DataPoint/"+sid || int64(ts) != ev.Timestamp.UnixMilli() {
				t.Errorf("DataPoint %d: %+v", i, m)
			}
		case "DeviceCore":
			cs := body["dpConnectionStatus"].(float64)
			if prev, seen := status[m.Topic]; (seen && prev == cs) || (!seen && cs != 1) {
				t.Errorf("device %s: status %v after %v", m.Topic, cs, prev)
			}
			status[m.Topic] = cs
			cw, _ := body["devConnectwareId"].(string)
			idm, _ := body["id"].(map[string]any)
			if !strings.HasPrefix(cw, "00000000-00000000-00409DFF-FF") || len(cw) != 35 || m.Operation != "UPDATE" || idm["devId"] == nil {
				t.Errorf("DeviceCore %d: %+v", i, m)
			}
		case "FileData":
			idm, _ := body["id"].(map[string]any)
			data, err := base64.StdEncoding.DecodeString(body["fdData"].(string))
			if err != nil || float64(len(data)) != body["fdSize"] || idm["fdName"] == nil ||
				m.Topic != "1234/FileData"+idm["fdPath"].(string)+idm["fdName"].(string) {
				t.Errorf("FileData %d: %+v (%v)", i, m, err)
			}
		default:
			t.Errorf("event %d: resource %q", i, m.Resource)
		}
	}
	for _, k := range []string{"DataPoint", "DeviceCore", "FileData"} {
		if kinds[k] == 0 {
			t.Errorf("no %s events in 300: %v", k, kinds)
		}
	}
}

func TestGeneratorInvalid(t *testing.T) {
	for _, g := range []Generator{{Devices: -1}, {Rate: -1}, {Rate: math.NaN()}, {Rate: math.Inf(1)}} {
		if _, err := g.Events(1, time.Time{}); !errors.Is(err, ErrInvalidGenerator) {
			t.Errorf("%+v: %v", g, err)
		}
	}
	if _, err := (Generator{}).Events(-1, time.Time{}); !errors.Is(err, ErrInvalidGenerator) {
		t.Errorf("n=-1: %v", err)
	}
	s := NewServer(offline())
	defer s.Close()
	if err := s.Generate(t.Context(), Generator{Rate: -5}); !errors.Is(err, ErrInvalidGenerator) {
		t.Errorf("Generate: %v", err)
	}
}

func TestGenerate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore", "DataPoint", "FileData"},
			Compression: "zlib", BatchSize: 10, BatchDuration: time.Second})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second+time.Millisecond)
		defer cancel()
		if err := s.Generate(ctx, Generator{Rate: 50, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitIdle(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		// Events at 0, 20 ms, …, 2 s.
		st := s.Stats(id)
		if st.EventsSent != 101 {
			t.Errorf("%d events sent in 2 s at 50/s, want 101", st.EventsSent)
		}
		got := 0
		for got < st.EventsSent {
			b := recv(t, blocks)
			got += len(b.Msgs)
		}
		if got != 101 {
			t.Errorf("received %d", got)
		}

		// Generate also ends when the server closes.
		done := make(chan error)
		go func() { done <- s.Generate(context.Background(), Generator{}) }()
		time.Sleep(time.Second)
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("after Close: %v", err)
		}
	})
}
