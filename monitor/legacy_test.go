package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fullSpec sets every field, with text that breaks naive XML building.
func fullSpec() Spec {
	return Spec{
		Topics:          []string{"DeviceCore", " [group=A,B]devices ", "DataPoint/*/metrics/cellular,FileData/*.*"},
		Transport:       "HTTP",
		Format:          JSON,
		Compression:     "gzip",
		BatchSize:       250,
		BatchDuration:   90 * time.Second,
		Ack:             AckExplicit,
		Persistent:      true,
		Description:     "a < b && c > d \"q\" 'x' ]]> é\nline2\ttab",
		URL:             "https://hooks.example.com/push?x=1&y=<2>",
		Token:           sec("hookuser:p&ss<word>"),
		Method:          "post",
		Headers:         headers("X-Api-Key: k&<v>", "  Authorization :  Bearer abc  "),
		ConnectTimeout:  1500 * time.Millisecond,
		ResponseTimeout: 7 * time.Second,
		SchemaType:      "handlebars",
		Schema:          "{{#each this}}<v a=\"{{this.value}}\">&amp;</v>{{/each}}",
	}
}

func TestCreateRequestBodyExact(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "Monitor/1234")
		writeXML(w, http.StatusCreated, "<result>\n   <location>Monitor/1234</location>\n</result>")
	})
	id, err := fs.client().Create(context.Background(), fullSpec())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if id != 1234 {
		t.Errorf("id = %d, want 1234", id)
	}
	reqs := fs.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/ws/Monitor" {
		t.Errorf("request %s %s, want POST /ws/Monitor", req.Method, req.Path)
	}
	if ct := req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		t.Errorf("Content-Type = %q", ct)
	}
	want := []xmlElement{
		{"monTopic", "DeviceCore,[group=A,B]devices,DataPoint/*/metrics/cellular,FileData/*.*"},
		{"monTransportType", "http"},
		{"monFormatType", "json"},
		{"monBatchSize", "250"},
		{"monBatchDuration", "90"},
		{"monCompression", "zlib"},
		{"monAckOption", "explicit"},
		{"monAutoReplayOnConnect", "true"},
		{"monDescription", "a < b && c > d \"q\" 'x' ]]> é\nline2\ttab"},
		{"monTransportUrl", "https://hooks.example.com/push?x=1&y=<2>"},
		{"monTransportToken", "hookuser:p&ss<word>"},
		{"monTransportMethod", "POST"},
		{"monTransportHeaders", "X-Api-Key: k&<v>\nAuthorization: Bearer abc"},
		{"monConnectTimeout", "1500"},
		{"monResponseTimeout", "7000"},
		{"monSchemaType", "handlebars"},
		{"monSchemaData", "{{#each this}}<v a=\"{{this.value}}\">&amp;</v>{{/each}}"},
	}
	got := parseBody(t, req.Body)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body elements:\n got %q\nwant %q", got, want)
	}
	// The raw bytes must carry the markup characters escaped.
	for _, raw := range []string{"a < b", "&& c", "<v a=", "p&ss"} {
		if strings.Contains(string(req.Body), raw) {
			t.Errorf("raw body contains unescaped %q:\n%s", raw, req.Body)
		}
	}
}

func TestCreateMinimalSpecSendsOnlySetFields(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, http.StatusCreated, "<result><location>Monitor/7</location></result>")
	})
	if _, err := fs.client().Create(context.Background(), Spec{Topics: []string{"DeviceCore"}}); err != nil {
		t.Fatal(err)
	}
	got := parseBody(t, fs.requests()[0].Body)
	want := []xmlElement{{"monTopic", "DeviceCore"}, {"monAutoReplayOnConnect", "false"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body elements %q, want %q", got, want)
	}
}

func TestCreateID(t *testing.T) {
	tests := []struct {
		name     string
		location string // Location header, "" for none
		body     string // written with writeXML unless it starts with '{'
		want     uint32
		wantErr  error
	}{
		{"body", "", "<result>\n   <location>Monitor/115848</location>\n</result>", 115848, nil},
		{"body wins over header", "Monitor/1", "<result><location>Monitor/2</location></result>", 2, nil},
		{"relative header", "Monitor/1234567", "<result/>", 1234567, nil},
		{"absolute header", "https://rm.example.com/ws/Monitor/99/", "", 99, nil},
		{"json body", "", `{"location":"Monitor/31"}`, 31, nil},
		{"garbage body, header", "/ws/Monitor/5", "not xml", 5, nil},
		{"neither", "", "<result/>", 0, ErrMalformedResponse},
		{"non-numeric", "Monitor/abc", "<result><location>Monitor/x</location></result>", 0, ErrMalformedResponse},
		{"zero", "", "<result><location>Monitor/0</location></result>", 0, ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				switch {
				case strings.HasPrefix(tt.body, "{"):
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusCreated)
					_, _ = w.Write([]byte(tt.body))
				case strings.HasPrefix(tt.body, "<"):
					writeXML(w, http.StatusCreated, tt.body)
				default:
					w.WriteHeader(http.StatusCreated)
					_, _ = w.Write([]byte(tt.body))
				}
			})
			id, err := fs.client().Create(context.Background(), Spec{Topics: []string{"DeviceCore"}})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("Create = %d, %v; want %d", id, err, tt.want)
			}
		})
	}
}

func TestCreateValidatesBeforeSending(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent for an invalid spec")
	})
	_, err := fs.client().Create(context.Background(), Spec{})
	var se *SpecError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) || se.Field != "Topics" {
		t.Fatalf("err = %v, want *SpecError on Topics", err)
	}
	if err := fs.client().Update(context.Background(), 3, Spec{Topics: []string{"A"}, Transport: "carrier-pigeon"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Update err = %v, want ErrInvalidSpec", err)
	}
}

func TestUpdateResetDelete(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodDelete:
			writeXML(w, 200, "<result>\n   <message>1 items deleted</message>\n</result>")
		default:
			writeXML(w, 200, "<result/>")
		}
	})
	c := fs.client()
	ctx := context.Background()
	if err := c.Update(ctx, 42, Spec{Topics: []string{"DataPoint"}, Description: "x&y"}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := c.Reset(ctx, 42); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if err := c.Delete(ctx, 42); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	reqs := fs.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, want := range []string{"PUT /ws/Monitor/42", "PUT /ws/Monitor/42", "DELETE /ws/Monitor/42"} {
		if got := reqs[i].Method + " " + reqs[i].Path; got != want {
			t.Errorf("request %d: %s, want %s", i, got, want)
		}
	}
	wantUpdate := []xmlElement{{"monId", "42"}, {"monTopic", "DataPoint"}, {"monAutoReplayOnConnect", "false"}, {"monDescription", "x&y"}}
	if got := parseBody(t, reqs[0].Body); !reflect.DeepEqual(got, wantUpdate) {
		t.Errorf("update body %q, want %q", got, wantUpdate)
	}
	if got := string(reqs[1].Body); got != "<Monitor><monId>42</monId></Monitor>" {
		t.Errorf("reset body %q", got)
	}
	if len(reqs[2].Body) != 0 {
		t.Errorf("delete has a body: %q", reqs[2].Body)
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		status   int
		body     string // XML unless it starts with '{'; "text:" prefix for plain text
		sentinel error
		message  string
	}{
		{400, "<result>\n   <error>POST Monitor error. Invalid request. Invalid monTopic specified</error>\n</result>",
			ErrBadRequest, "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{400, `{"error":["first","second"]}`, ErrBadRequest, "first; second"},
		{401, "text:<html><body>\n  401   Unauthorized\n</body></html>", ErrUnauthorized, "<html><body> 401 Unauthorized </body></html>"},
		{403, `{"error":"no push monitor service"}`, ErrUnauthorized, "no push monitor service"},
		{404, "<result><error>not here</error></result>", ErrNotFound, "not here"},
		{429, "<result><error>slow down</error></result>", ErrThrottled, "slow down"},
		{500, "text:" + strings.Repeat("x", 500), nil, strings.Repeat("x", 200) + "…"},
	}
	all := []error{ErrBadRequest, ErrUnauthorized, ErrNotFound, ErrThrottled}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.sentinel), func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasPrefix(tt.body, "{"):
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(tt.body))
				case strings.HasPrefix(tt.body, "text:"):
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(strings.TrimPrefix(tt.body, "text:")))
				default:
					writeXML(w, tt.status, tt.body)
				}
			})
			_, err := fs.client().Create(context.Background(), Spec{Topics: []string{"Bogus"}})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if ae.StatusCode != tt.status || ae.Method != "POST" || ae.Path != "/ws/Monitor" || ae.Message != tt.message {
				t.Errorf("APIError = %+v", *ae)
			}
			for _, s := range all {
				if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.status)) || !strings.Contains(err.Error(), "POST /ws/Monitor") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	ls := &listServer{items: monitorItems(3)}
	var mu sync.Mutex
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/ws/Monitor/") {
			id := strings.TrimPrefix(r.URL.Path, "/ws/Monitor/")
			writeList(w, []item{{"monId": id, "monTopic": "A"}}, 0, 1000, 1, false)
			return
		}
		ls.serve(t, w, r)
	})
	c := fs.client()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			m, err := c.Get(context.Background(), uint32(i+1))
			if err == nil && m.ID != uint32(i+1) {
				err = fmt.Errorf("got id %d, want %d", m.ID, i+1)
			}
			errs <- err
		})
		wg.Go(func() {
			ms, err := c.List(context.Background(), "")
			if err == nil && len(ms) != 3 {
				err = fmt.Errorf("got %d monitors", len(ms))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
