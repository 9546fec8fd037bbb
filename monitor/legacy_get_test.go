package monitor

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

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
