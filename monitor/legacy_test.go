package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
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

func monitorItems(n int) []item {
	var out []item
	for i := 1; i <= n; i++ {
		out = append(out, item{
			"monId": strconv.Itoa(100 + i), "cstId": "7603", "monTopic": "DeviceCore,DataPoint",
			"monTransportType": "tcp", "monStatus": "INACTIVE",
		})
	}
	return out
}

func TestListPaging(t *testing.T) {
	for _, asXML := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "xml"}[asXML], func(t *testing.T) {
			ls := &listServer{items: monitorItems(5), asXML: asXML, ignoreCondition: true}
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
			got, err := fs.client(WithPageSize(2)).List(context.Background(), "monTransportType='tcp'")
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint32
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if want := []uint32{101, 102, 103, 104, 105}; !slices.Equal(ids, want) {
				t.Errorf("ids = %v, want %v", ids, want)
			}
			reqs := fs.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3", len(reqs))
			}
			for i, r := range reqs {
				if r.Method != http.MethodGet || r.Path != "/ws/Monitor" {
					t.Errorf("request %d: %s %s", i, r.Method, r.Path)
				}
				if got, want := r.Query.Get("start"), strconv.Itoa(2*i); got != want {
					t.Errorf("request %d: start=%s, want %s", i, got, want)
				}
				if got := r.Query.Get("size"); got != "2" {
					t.Errorf("request %d: size=%s, want 2", i, got)
				}
				if got := r.Query.Get("condition"); got != "monTransportType='tcp'" {
					t.Errorf("request %d: condition=%q", i, got)
				}
				if strings.ContainsAny(r.RawQuery, "' ") {
					t.Errorf("request %d: query not escaped: %q", i, r.RawQuery)
				}
				if got := r.Header.Get("Accept"); got != "application/json" {
					t.Errorf("request %d: Accept=%q", i, got)
				}
			}
		})
	}
}

func TestListNoConditionOmitsParameter(t *testing.T) {
	ls := &listServer{items: monitorItems(1)}
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
	got, err := fs.client().List(context.Background(), "")
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v", got, err)
	}
	if q := fs.requests()[0].Query; q.Has("condition") || q.Get("size") != strconv.Itoa(DefaultPageSize) {
		t.Errorf("query = %v", q)
	}
}

func TestListServerCapsPageSize(t *testing.T) {
	ls := &listServer{items: monitorItems(5), capSize: 2}
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
	got, err := fs.client(WithPageSize(1000)).List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d monitors, want 5 (a capped page must not skip monitors)", len(got))
	}
	var starts []string
	for _, r := range fs.requests() {
		starts = append(starts, r.Query.Get("start"))
	}
	if want := []string{"0", "2", "4"}; !slices.Equal(starts, want) {
		t.Errorf("starts = %v, want %v", starts, want)
	}
}

func TestListNoProgressIsAnError(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"resultTotalRows": "9", "remainingSize": "9", "items": []any{}})
	})
	_, err := fs.client().List(context.Background(), "")
	if !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
	if n := len(fs.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestAllStopsWhenConsumerBreaks(t *testing.T) {
	ls := &listServer{items: monitorItems(5)}
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
	n := 0
	for m, err := range fs.client(WithPageSize(2)).All(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if m.ID == 101 {
			break
		}
	}
	if n != 1 || len(fs.requests()) != 1 {
		t.Errorf("consumed %d, requests %d; want 1 and 1", n, len(fs.requests()))
	}
}

func TestListMalformedAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"not json or xml": "hello",
		"empty":           "",
		"bad monId":       `{"remainingSize":"0","items":[{"monId":"x"}]}`,
		"missing monId":   `{"remainingSize":"0","items":[{"monTopic":"A"}]}`,
		"monId too large": `{"remainingSize":"0","items":[{"monId":"4294967296"}]}`,
		"bad remaining":   `{"remainingSize":"many","items":[]}`,
		"object value":    `{"remainingSize":"0","items":[{"monId":{"a":1}}]}`,
		"bad batch size":  `<result><remainingSize>0</remainingSize><Monitor><monId>1</monId><monBatchSize>-1</monBatchSize></Monitor></result>`,
		"bad bool":        `<result><Monitor><monId>1</monId><monAutoReplayOnConnect>maybe</monAutoReplayOnConnect></Monitor></result>`,
		"wrong root":      `<html><body>hi</body></html>`,
		"error in 200":    `{"error":["GET Monitor error. Something"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				_, _ = w.Write([]byte(body))
			})
			got, err := fs.client().List(context.Background(), "")
			if !errors.Is(err, ErrMalformedResponse) || got != nil {
				t.Fatalf("List = %v, %v; want nil, ErrMalformedResponse", got, err)
			}
		})
	}
}

func TestGetMapsEveryField(t *testing.T) {
	it := item{
		"monId": "178007", "cstId": "7603", "monTopic": "DeviceCore, [group=A,B]devices",
		"monTransportType": "HTTP", "monFormatType": "json", "monBatchSize": "1", "monBatchDuration": "10",
		"monCompression": "gzip", "monAckOption": "explicit", "monAutoReplayOnConnect": "TRUE",
		"monDescription": "<desc> & more", "monTransportUrl": "https://h.example.com/p",
		"monTransportToken": "u:p", "monTransportMethod": "post",
		"monTransportHeaders": "X-A: 1\r\nX-B: 2\n", "monConnectTimeout": "0", "monResponseTimeout": "2500",
		"monSchemaType": "handlebars", "monSchemaData": "{{x}}", "monStatus": "SUSPENDED",
		"monLastConnect": "2014-02-05T18:57:49.603Z", "monLastSent": "2014-02-11T02:38:46Z",
		"monLastSentUuid": "a18afa9d-92c5-11e3-a346-bc764e1023af", "monSomethingNew": "ignored",
	}
	want := Monitor{
		ID: 178007, CustomerID: 7603,
		Spec: Spec{
			Topics: []string{"DeviceCore", "[group=A,B]devices"}, Transport: TransportHTTP, Format: JSON,
			Compression: Zlib, BatchSize: 1, BatchDuration: 10 * time.Second, Ack: AckExplicit,
			Persistent: true, Description: "<desc> & more", URL: "https://h.example.com/p", Token: sec("u:p"),
			Method: "POST", Headers: headers("X-A: 1", "X-B: 2"), ResponseTimeout: 2500 * time.Millisecond,
			SchemaType: "handlebars", Schema: "{{x}}",
		},
		Status:       StatusSuspended,
		LastConnect:  time.Date(2014, 2, 5, 18, 57, 49, 603e6, time.UTC),
		LastSent:     time.Date(2014, 2, 11, 2, 38, 46, 0, time.UTC),
		LastSentUUID: "a18afa9d-92c5-11e3-a346-bc764e1023af",
	}
	for _, asXML := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "xml"}[asXML], func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeList(w, []item{it}, 0, 1000, 1, asXML)
			})
			got, err := fs.client().Get(context.Background(), 178007)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Get:\n got %#v\nwant %#v", *got, want)
			}
			r := fs.requests()[0]
			if r.Method != http.MethodGet || r.Path != "/ws/Monitor/178007" || r.Header.Get("Accept") != "application/json" {
				t.Errorf("request %s %s Accept %q", r.Method, r.Path, r.Header.Get("Accept"))
			}
		})
	}
}

func TestGetBareMonitorXMLAndLatin1(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		// "café" in ISO-8859-1: é is the single byte 0xE9.
		writeXML(w, 200, "<Monitor><monId>5</monId><monDescription>caf\xe9</monDescription></Monitor>")
	})
	m, err := fs.client().Get(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 5 || m.Description != "café" {
		t.Errorf("got %d %q, want 5 \"café\"", m.ID, m.Description)
	}
}

func TestGetNotFound(t *testing.T) {
	t.Run("404", func(t *testing.T) {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeXML(w, 404, "<result><error>Monitor not found</error></result>")
		})
		_, err := fs.client().Get(context.Background(), 9)
		var ae *APIError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Message != "Monitor not found" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("200 without the monitor", func(t *testing.T) {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"error": []string{"GET Monitor error. Error reading Monitor entity id='9'"}})
		})
		_, err := fs.client().Get(context.Background(), 9)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Error reading Monitor entity") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("id 0", func(t *testing.T) {
		c := NewClient("http://127.0.0.1:1")
		ctx := context.Background()
		for name, err := range map[string]error{
			"get":    func() error { _, err := c.Get(ctx, 0); return err }(),
			"update": c.Update(ctx, 0, Spec{Topics: []string{"A"}}),
			"reset":  c.Reset(ctx, 0),
			"delete": c.Delete(ctx, 0),
		} {
			if !errors.Is(err, ErrInvalidID) {
				t.Errorf("%s: err = %v, want ErrInvalidID", name, err)
			}
		}
	})
}

func TestFindByTopics(t *testing.T) {
	items := []item{
		{"monId": "1", "monTopic": "DeviceCore"},
		{"monId": "2", "monTopic": "DeviceCore,DataPoint"},
		{"monId": "3", "monTopic": "DataPoint,DeviceCore"},
		{"monId": "4", "monTopic": " DeviceCore , DataPoint "},
		{"monId": "5", "monTopic": "DeviceCore,DataPoint,FileData"},
		{"monId": "6", "monTopic": "it's,DeviceCore"},
		{"monId": "7", "monTopic": "DataPoint"},
	}
	tests := []struct {
		name   string
		topics []string
		sloppy bool // the server ignores the condition
		want   []uint32
		cond   string
	}{
		{"single", []string{"DeviceCore"}, false, []uint32{1}, "monTopic='DeviceCore'"},
		{"single sloppy server", []string{" DeviceCore "}, true, []uint32{1}, "monTopic='DeviceCore'"},
		{"pair any order", []string{"DeviceCore", "DataPoint"}, false, []uint32{2, 3},
			"monTopic='DataPoint,DeviceCore' or monTopic='DeviceCore,DataPoint'"},
		{"pair sloppy server sees spaces", []string{"DataPoint", "DeviceCore"}, true, []uint32{2, 3, 4}, ""},
		{"comma list element", []string{"DeviceCore,DataPoint"}, false, []uint32{2, 3}, ""},
		{"quote escaped", []string{"DeviceCore", "it's"}, false, []uint32{6},
			"monTopic='DeviceCore,it''s' or monTopic='it''s,DeviceCore'"},
		{"none", []string{"FileData"}, false, nil, "monTopic='FileData'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := &listServer{items: items, ignoreCondition: tt.sloppy}
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
			got, err := fs.client().FindByTopics(context.Background(), tt.topics)
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint32
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
			if tt.cond != "" {
				if c := fs.requests()[0].Query.Get("condition"); c != tt.cond {
					t.Errorf("condition = %q, want %q", c, tt.cond)
				}
			}
		})
	}
	t.Run("server without or", func(t *testing.T) {
		ls := &listServer{items: items, noOr: true}
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { ls.serve(t, w, r) })
		got, err := fs.client().FindByTopics(context.Background(), []string{"DataPoint", "DeviceCore"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != 2 || got[1].ID != 3 || got[2].ID != 4 {
			t.Errorf("got %v", got)
		}
		reqs := fs.requests()
		if len(reqs) != 2 || !reqs[0].Query.Has("condition") || reqs[1].Query.Has("condition") {
			t.Errorf("requests: %+v", reqs)
		}
	})
	t.Run("single topic 400 is not retried unconditioned", func(t *testing.T) {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			writeXML(w, 400, "<result><error>GET Monitor error. Invalid request.</error></result>")
		})
		_, err := fs.client().FindByTopics(context.Background(), []string{"DeviceCore"})
		if !errors.Is(err, ErrBadRequest) || len(fs.requests()) != 1 {
			t.Errorf("err = %v after %d requests", err, len(fs.requests()))
		}
	})
	t.Run("empty", func(t *testing.T) {
		_, err := NewClient("http://127.0.0.1:1").FindByTopics(context.Background(), []string{" "})
		if !errors.Is(err, ErrInvalidSpec) {
			t.Fatalf("err = %v, want ErrInvalidSpec", err)
		}
	})
}

func TestTopicCondition(t *testing.T) {
	c, err := TopicCondition([]string{"C", "A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	terms := strings.Split(c, " or ")
	if len(terms) != 6 {
		t.Fatalf("%d terms, want 6: %s", len(terms), c)
	}
	seen := map[string]bool{}
	for _, term := range terms {
		seen[term] = true
	}
	for _, p := range []string{"A,B,C", "A,C,B", "B,A,C", "B,C,A", "C,A,B", "C,B,A"} {
		if !seen["monTopic='"+p+"'"] {
			t.Errorf("missing ordering %s in %s", p, c)
		}
	}
	if c, _ := TopicCondition([]string{"A", "A"}); c != "monTopic='A,A'" {
		t.Errorf("duplicates: %q", c)
	}
	if c, _ := TopicCondition([]string{"A", "B", "C", "D", "E"}); c != "" {
		t.Errorf("five topics: %q, want \"\"", c)
	}
	if _, err := TopicCondition(nil); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("nil topics: err = %v", err)
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

func TestParseTimestamp(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                            {},
		"2014-02-05T18:57:49.603Z":    time.Date(2014, 2, 5, 18, 57, 49, 603e6, time.UTC),
		"2014-02-05T18:57:49Z":        time.Date(2014, 2, 5, 18, 57, 49, 0, time.UTC),
		"2014-02-05T20:57:49.5+02:00": time.Date(2014, 2, 5, 18, 57, 49, 5e8, time.UTC),
		"2014-02-05T20:57:49.5+0200":  time.Date(2014, 2, 5, 18, 57, 49, 5e8, time.UTC),
		"2014-02-05T18:57:49.603":     time.Date(2014, 2, 5, 18, 57, 49, 603e6, time.UTC),
		"2014-02-05 18:57:49":         time.Date(2014, 2, 5, 18, 57, 49, 0, time.UTC),
		"1434307047694":               time.UnixMilli(1434307047694).UTC(),
		"99999999999999999999999":     {},
		"yesterday":                   {},
		"2014-13-05T18:57:49Z":        {},
	} {
		if got := parseTimestamp(in); !got.Equal(want) {
			t.Errorf("parseTimestamp(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestListJSONNumbersAndBooleans(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("\xEF\xBB\xBF" + `{"resultTotalRows":1,"remainingSize":0,"items":[` +
			`{"monId":17,"cstId":3,"monBatchSize":5,"monAutoReplayOnConnect":true,"monDescription":null,"monTopic":"A"}]}`))
	})
	got, err := fs.client().List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 17 || got[0].CustomerID != 3 || got[0].BatchSize != 5 || !got[0].Persistent {
		t.Errorf("got %+v", got)
	}
}
