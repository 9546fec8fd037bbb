package streamtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	rm "github.com/pushmon/pushmon/monitor"
	"github.com/pushmon/pushmon/secret"
)

func newAPI(t *testing.T, s *Server) *rm.Client {
	t.Helper()
	api := rm.NewClient(s.URL(), rm.WithBasicAuth("user", "password"), rm.WithRetry(0, 0))
	t.Cleanup(api.CloseIdleConnections)
	return api
}

// TestV1CreateReadsBackThroughBothAPIs creates monitors through the v1 API
// of package monitor and reads them through both APIs: the simulator's
// v1 table and package monitor's mapping are independent, so a mistake in
// either shows up here.
func TestV1CreateReadsBackThroughBothAPIs(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := newAPI(t, s)
	ctx := context.Background()
	spec := rm.Spec{
		Topics:    []string{"DeviceCore", "[group=A,B]devices", "DataPoint/*/temp"},
		Transport: rm.TransportHTTP, Format: rm.XML, Compression: rm.Zlib,
		BatchSize: 7, BatchDuration: 30 * time.Second, Persistent: true,
		Description: `quote " and <tag> & é`, URL: "http://127.0.0.1:1/hook", Token: secret.New("hook:tok3n-secret"),
		Method: "POST", Headers: []secret.String{secret.New("X-Api-Key: k1"), secret.New("X-Other: v2")},
		ConnectTimeout: 1500 * time.Millisecond, ResponseTimeout: 2 * time.Second,
		SchemaType: "handlebars", Schema: `{{#each this}}{{topic}}{{/each}}`,
	}
	created, err := api.V1().Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := s.MonitorInfo(created.ID)
	if !ok {
		t.Fatalf("monitor %d not on the server", created.ID)
	}
	if string(info.Spec.TransportToken) != "hook:tok3n-secret" || info.Spec.TransportHeaders != "X-Api-Key: k1\nX-Other: v2" ||
		info.Spec.BatchDuration != 30*time.Second || !info.Spec.Persistent || info.Spec.SchemaType != "handlebars" {
		t.Errorf("stored spec %+v", info.Spec)
	}
	viaV1, err := api.V1().Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	viaLegacy, err := api.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaV1, viaLegacy) {
		t.Errorf("v1     %#v\nlegacy %#v", viaV1, viaLegacy)
	}
	want := spec
	want.Token = secret.String{} // never echoed
	want.Ack = rm.AckOff         // the server reports its default
	if !reflect.DeepEqual(viaV1.Spec, want) || viaV1.CustomerID != DefaultCustomerID || viaV1.Status != rm.StatusInactive {
		t.Errorf("read back %#v\nwant spec %#v", viaV1, want)
	}

	// And the other way round: created through the legacy API.
	id, err := api.Create(ctx, rm.Spec{Topics: []string{"DataPoint"}, Transport: rm.TransportPolling})
	if err != nil {
		t.Fatal(err)
	}
	a, err1 := api.V1().Get(ctx, id)
	b, err2 := api.Get(ctx, id)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || a.Transport != rm.TransportPolling || a.BatchSize != 100 {
		t.Errorf("v1 %v (%v)\nlegacy %v (%v)", a, err1, b, err2)
	}
}

func TestV1ListQueryOrderPaging(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := newAPI(t, s)
	ctx := context.Background()
	var polling []uint32
	for i := range 7 {
		tr := rm.TransportTCP
		if i%2 == 0 {
			tr = rm.TransportPolling
		}
		m, err := api.V1().Create(ctx, rm.Spec{Topics: []string{fmt.Sprintf("DataPoint/dev%d", i)}, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		if tr == rm.TransportPolling {
			polling = append(polling, m.ID)
		}
	}
	got, err := api.V1().List(ctx, rm.ListQuery{Query: "type='polling'", OrderBy: "id desc", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(polling) {
		t.Fatalf("%d monitors, want %d", len(got), len(polling))
	}
	for i, m := range got {
		if want := polling[len(polling)-1-i]; m.ID != want {
			t.Errorf("position %d: %d, want %d", i, m.ID, want)
		}
	}
	all, err := api.V1().List(ctx, rm.ListQuery{PageSize: 2})
	if err != nil || len(all) != 7 || all[0].ID != FirstMonitorID {
		t.Fatalf("list all: %d monitors, %v", len(all), err)
	}
	or, err := api.V1().List(ctx, rm.ListQuery{Query: "topics='DataPoint/dev1' or topics='DataPoint/dev2'"})
	if err != nil || len(or) != 2 {
		t.Errorf("or query: %v %v", or, err)
	}
	for _, q := range []rm.ListQuery{{Query: "nosuch='x'"}, {OrderBy: "nosuch"}, {OrderBy: "id sideways"}} {
		if _, err := api.V1().List(ctx, q); !errors.Is(err, rm.ErrBadRequest) {
			t.Errorf("%+v: %v", q, err)
		}
	}
}

func TestV1UpdateResetDelete(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	api := newAPI(t, s)
	ctx := context.Background()
	m, err := api.V1().Create(ctx, rm.Spec{Topics: []string{"DeviceCore"}})
	if err != nil {
		t.Fatal(err)
	}
	up, err := api.V1().Update(ctx, m.ID, rm.Spec{Topics: []string{"DeviceCore", "DataPoint"}, BatchSize: 5, Description: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Topics) != 2 || up.BatchSize != 5 || up.Description != "x" {
		t.Errorf("updated %v", up)
	}
	if err := api.V1().Reset(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	info, _ := s.MonitorInfo(m.ID)
	if info.Kicks != 1 || info.Updates != 1 {
		t.Errorf("kicks %d updates %d", info.Kicks, info.Updates)
	}
	if err := api.V1().Delete(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := api.V1().Get(ctx, m.ID); !errors.Is(err, rm.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := api.V1().Reset(ctx, m.ID); !errors.Is(err, rm.ErrNotFound) {
		t.Errorf("reset after delete: %v", err)
	}
	if _, err := api.V1().Create(ctx, rm.Spec{Topics: []string{"NoSuchResource"}}); !errors.Is(err, rm.ErrBadRequest) {
		t.Errorf("bad topic: %v", err)
	}
	if _, err := api.V1().Create(ctx, rm.Spec{Topics: []string{"DeviceCore"}, SchemaType: "handlebars", Schema: "{{#each this}}"}); !errors.Is(err, rm.ErrBadRequest) {
		t.Errorf("bad template: %v", err)
	}
}

func TestV1RejectsWrongTypesAndUnknownFields(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	for _, body := range []string{
		`{"topics":"DeviceCore"}`,
		`{"topics":["DeviceCore"],"batch_size":"10"}`,
		`{"topics":["DeviceCore"],"persistent":"true"}`,
		`{"topics":["DeviceCore"],"colour":"red"}`,
		`[1]`,
	} {
		req, _ := http.NewRequest("POST", s.URL()+"/ws/v1/monitors/inventory", strings.NewReader(body))
		req.SetBasicAuth("user", "password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
	if n := len(s.Monitors()); n != 0 {
		t.Errorf("%d monitors created", n)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/ws/v1/monitors/inventory", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no auth: %d", resp.StatusCode)
	}
}

// TestCreateRacingDelete deletes each monitor as soon as it exists while
// both REST APIs create monitors: a create must answer with the monitor
// it made, not look its id up again (which the DELETE may have emptied).
func TestCreateRacingDelete(t *testing.T) {
	s := NewServer(offline())
	defer s.Close()
	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for id := uint32(FirstMonitorID); id < FirstMonitorID+2*n; id++ {
			for !s.DeleteMonitor(id) {
			}
		}
	}()
	h := s.Handler()
	for i := range n {
		for _, c := range []struct{ path, body string }{
			{"/ws/v1/monitors/inventory", `{"topics":["DataPoint"]}`},
			{"/ws/Monitor", `<Monitor><monTopic>DataPoint</monTopic></Monitor>`},
		} {
			req := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
			req.SetBasicAuth("user", "password")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				t.Fatalf("create %d on %s: %d %s", i, c.path, rec.Code, rec.Body)
			}
			if c.path[4] == 'v' && !strings.Contains(rec.Body.String(), `"id":`) {
				t.Fatalf("v1 create %d: body %s", i, rec.Body)
			}
		}
	}
	<-done
}
