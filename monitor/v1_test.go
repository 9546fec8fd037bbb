package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestV1GetAndNotFound(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws/v1/monitors/inventory/12":
			writeJSON(w, 200, map[string]any{"id": 12, "customer_id": 3, "topics": []string{"DeviceCore"}, "type": "tcp", "status": "ACTIVE"})
		case "/ws/v1/monitors/inventory/13":
			// A list envelope holding another monitor.
			writeJSON(w, 200, map[string]any{"count": 1, "list": []any{map[string]any{"id": 99, "topics": []string{"X"}}}})
		default:
			writeJSON(w, 404, map[string]any{"error_status": 404, "error_message": "Monitor not found"})
		}
	})
	v := fs.client().V1()
	m, err := v.Get(context.Background(), 12)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 12 || m.CustomerID != 3 || m.Transport != TransportTCP || m.Status != StatusActive || len(m.Topics) != 1 {
		t.Errorf("Get = %#v", m)
	}
	if _, err := v.Get(context.Background(), 13); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get 13: %v", err)
	}
	_, err = v.Get(context.Background(), 14)
	var ae *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Message != "Monitor not found" {
		t.Errorf("Get 14: %v", err)
	}
	if _, err := v.Get(context.Background(), 0); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Get 0: %v", err)
	}
	if r := fs.requests()[0]; r.Method != "GET" || r.Header.Get("Accept") != "application/json" {
		t.Errorf("request %+v", r)
	}
}

func TestV1ListPagesWithCursor(t *testing.T) {
	const total = 7
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, _ := strconv.Atoi(q.Get("size"))
		start := 0
		if c := q.Get("cursor"); c != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(c, "c"))
		}
		var list []any
		for i := start; i < min(start+size, total); i++ {
			list = append(list, map[string]any{"id": 100 + i, "topics": []string{"DataPoint"}, "type": "polling"})
		}
		resp := map[string]any{"count": len(list), "size": size, "list": list}
		if start+size < total {
			resp["cursor"] = fmt.Sprintf("c%d", start+size)
		}
		writeJSON(w, 200, resp)
	})
	v := fs.client().V1()
	ms, err := v.List(context.Background(), ListQuery{Query: "type='polling'", OrderBy: "id asc", PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != total {
		t.Fatalf("%d monitors, want %d", len(ms), total)
	}
	for i, m := range ms {
		if m.ID != uint32(100+i) || m.Transport != TransportPolling {
			t.Errorf("monitor %d = %v", i, m)
		}
	}
	reqs := fs.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Query.Get("query") != "type='polling'" || r.Query.Get("orderby") != "id asc" || r.Query.Get("size") != "3" {
			t.Errorf("request %d query %q", i, r.RawQuery)
		}
		if want := []string{"", "c3", "c6"}[i]; r.Query.Get("cursor") != want {
			t.Errorf("request %d cursor %q, want %q", i, r.Query.Get("cursor"), want)
		}
	}
	// Breaking out early stops paging.
	n := 0
	for range v.All(context.Background(), ListQuery{PageSize: 3}) {
		n++
		if n == 2 {
			break
		}
	}
	if got := len(fs.requests()); got != 4 {
		t.Errorf("%d requests after an early break, want 4", got)
	}
}

func TestV1ListRepeatedCursorIsAnError(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"list": []any{map[string]any{"id": 1}}, "cursor": "same"})
	})
	_, err := fs.client().V1().List(context.Background(), ListQuery{})
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v", err)
	}
	if n := len(fs.requests()); n != 2 {
		t.Errorf("%d requests", n)
	}
}

func TestV1UpdateDeleteReset(t *testing.T) {
	var resetPosts atomic.Int32
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "PUT" && r.URL.Path == "/ws/v1/monitors/inventory/7":
			writeJSON(w, 200, map[string]any{"id": 7, "status": "INACTIVE"})
		case r.Method == "DELETE" && r.URL.Path == "/ws/v1/monitors/inventory/7":
			w.WriteHeader(204)
		case r.Method == "POST" && r.URL.Path == "/ws/v1/monitors/inventory/7/reset":
			resetPosts.Add(1)
			writeJSON(w, 405, map[string]any{"error_message": "use PUT"})
		case r.Method == "PUT" && r.URL.Path == "/ws/v1/monitors/inventory/7/reset":
			w.WriteHeader(200)
		default:
			writeJSON(w, 400, map[string]any{"error_message": "unexpected " + r.Method + " " + r.URL.Path})
		}
	})
	v := fs.client().V1()
	ctx := context.Background()
	spec := Spec{Topics: []string{"DataPoint"}, Transport: "HTTP", URL: "https://example.com/x", Token: sec("u:tok-secret-1"),
		Headers: headers("X-Api-Key: hdr-secret-2")}
	m, err := v.Update(ctx, 7, spec)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 7 || m.Status != StatusInactive || m.Transport != TransportHTTP || m.URL != spec.URL {
		t.Errorf("Update = %#v", m)
	}
	body := string(fs.requests()[0].Body)
	if !strings.Contains(body, `"type":"http"`) || !strings.Contains(body, `"auth_token":"u:tok-secret-1"`) || !strings.Contains(body, `"persistent":false`) ||
		!strings.Contains(body, `"headers":["X-Api-Key: hdr-secret-2"]`) {
		t.Errorf("update body %s", body)
	}
	if err := v.Delete(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if err := v.Reset(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if resetPosts.Load() != 1 {
		t.Errorf("%d reset POSTs", resetPosts.Load())
	}
	if _, err := v.Update(ctx, 7, Spec{}); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("invalid spec: %v", err)
	}
	if err := v.Reset(ctx, 8); !errors.Is(err, ErrBadRequest) {
		t.Errorf("reset 8: %v", err)
	}
	for _, err := range []error{v.Delete(ctx, 0), v.Reset(ctx, 0)} {
		if !errors.Is(err, ErrInvalidID) {
			t.Errorf("id 0: %v", err)
		}
	}
}

func TestV1CreateErrorsAreScrubbed(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{"error_status": 400, "error_message": "bad token hook:s3cret-token-value"})
	})
	_, err := fs.client().V1().Create(context.Background(), Spec{Topics: []string{"DeviceCore"}, Token: sec("hook:s3cret-token-value")})
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestV1CreateAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		header string
		wantID uint32
		ok     bool
	}{
		{"full object", 201, `{"id":5,"topics":["DeviceCore"],"type":"tcp","status":"INACTIVE"}`, "", 5, true},
		{"id only", 201, `{"id":"6"}`, "", 6, true},
		{"list envelope", 200, `{"list":[{"id":7}]}`, "", 7, true},
		{"location header", 201, `{}`, "/ws/v1/monitors/inventory/8", 8, true},
		{"location header, empty body", 201, ``, "/ws/v1/monitors/inventory/9", 9, true},
		{"location header, white space", 201, " \n", "http://host/ws/v1/monitors/inventory/10", 10, true},
		{"nothing", 201, `{}`, "", 0, false},
		{"empty body, no location", 201, ``, "", 0, false},
		{"not JSON", 201, `<result/>`, "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if c.header != "" {
					w.Header().Set("Location", c.header)
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			})
			m, err := fs.client().V1().Create(context.Background(), Spec{Topics: []string{"DeviceCore"}})
			if !c.ok {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != c.wantID || len(m.Topics) != 1 || m.Topics[0] != "DeviceCore" {
				t.Errorf("Create = %#v", m)
			}
		})
	}
}
