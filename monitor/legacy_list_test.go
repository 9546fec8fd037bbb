package monitor

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

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
