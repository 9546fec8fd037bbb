package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// The documented mapping, written out independently
// of fieldTable.
var wantMapping = [][3]string{
	{"ID", "monId", "id"},
	{"CustomerID", "cstId", "customer_id"},
	{"Spec.Topics", "monTopic", "topics"},
	{"Spec.Transport", "monTransportType", "type"},
	{"Spec.Format", "monFormatType", "format"},
	{"Spec.BatchSize", "monBatchSize", "batch_size"},
	{"Spec.BatchDuration", "monBatchDuration", "batch_duration"},
	{"Spec.Compression", "monCompression", "compression"},
	{"Spec.Ack", "monAckOption", "acknowledgement"},
	{"Spec.Persistent", "monAutoReplayOnConnect", "persistent"},
	{"Spec.Description", "monDescription", "description"},
	{"Spec.URL", "monTransportUrl", "url"},
	{"Spec.Token", "monTransportToken", "auth_token"},
	{"Spec.Method", "monTransportMethod", "method"},
	{"Spec.Headers", "monTransportHeaders", "headers"},
	{"Spec.ConnectTimeout", "monConnectTimeout", "connect_timeout"},
	{"Spec.ResponseTimeout", "monResponseTimeout", "response_timeout"},
	{"Spec.SchemaType", "monSchemaType", "schema_type"},
	{"Spec.Schema", "monSchemaData", "schema"},
	{"Status", "monStatus", "status"},
	{"LastConnect", "monLastConnect", "last_connect"},
	{"LastSent", "monLastSent", "last_sent"},
	{"LastSentUUID", "monLastSentUuid", "last_sent_uuid"},
}

func TestFieldMappingsTable(t *testing.T) {
	got := FieldMappings()
	if len(got) != len(wantMapping) {
		t.Fatalf("%d mappings, want %d", len(got), len(wantMapping))
	}
	for i, w := range wantMapping {
		g := got[i]
		if g.Field != w[0] || g.Legacy != w[1] || g.V1 != w[2] {
			t.Errorf("row %d = %s/%s/%s, want %s/%s/%s", i, g.Field, g.Legacy, g.V1, w[0], w[1], w[2])
		}
		if g.Wire == "" {
			t.Errorf("row %s has no wire description", g.Field)
		}
	}
	// Every exported field of Monitor and Spec is mapped exactly once.
	var fields []string
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Monitor{})) {
		switch {
		case !f.IsExported() || f.Anonymous:
		case len(f.Index) == 2:
			fields = append(fields, "Spec."+f.Name)
		default:
			fields = append(fields, f.Name)
		}
	}
	var mapped []string
	for _, m := range got {
		mapped = append(mapped, m.Field)
	}
	slices.Sort(fields)
	slices.Sort(mapped)
	if !slices.Equal(fields, mapped) {
		t.Errorf("Go fields %q\nmapped   %q", fields, mapped)
	}
	// Read-only exactly for the server-maintained fields.
	for _, m := range got {
		want := !strings.HasPrefix(m.Field, "Spec.")
		if m.ReadOnly != want {
			t.Errorf("%s: ReadOnly %v", m.Field, m.ReadOnly)
		}
	}
	got[0].Legacy = "changed"
	if FieldMappings()[0].Legacy != "monId" {
		t.Error("FieldMappings returned the table itself")
	}
}

// TestCreateThroughBothAPIsSendsTheSameFields creates fullSpec through the
// legacy and the v1 API and checks, row by row of the mapping, that both
// bodies carry the same value.
func TestCreateThroughBothAPIsSendsTheSameFields(t *testing.T) {
	var legacyBody, v1Body []byte
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ws/Monitor":
			legacyBody = body
			writeXML(w, http.StatusCreated, "<result><location>Monitor/5</location></result>")
		case "/ws/v1/monitors/inventory":
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("v1 Content-Type %q", ct)
			}
			v1Body = body
			writeJSON(w, http.StatusCreated, map[string]any{"id": 5})
		default:
			http.NotFound(w, r)
		}
	})
	c := fs.client()
	ctx := context.Background()
	if _, err := c.Create(ctx, fullSpec()); err != nil {
		t.Fatal(err)
	}
	m, err := c.V1().Create(ctx, fullSpec())
	if err != nil {
		t.Fatal(err)
	}
	norm, _ := fullSpec().normalize()
	if m.ID != 5 || !reflect.DeepEqual(m.Spec, norm) {
		t.Errorf("v1 Create returned %#v", m)
	}
	legacy := map[string]string{}
	for _, e := range parseBody(t, legacyBody) {
		legacy[e.Name] = e.Text
	}
	var v1 map[string]json.RawMessage
	if err := json.Unmarshal(v1Body, &v1); err != nil {
		t.Fatalf("v1 body is not JSON: %v\n%s", err, v1Body)
	}
	for _, w := range wantMapping {
		lt, inLegacy := legacy[w[1]]
		raw, inV1 := v1[w[2]]
		if w[0] == "ID" || !strings.HasPrefix(w[0], "Spec.") {
			if inLegacy || inV1 {
				t.Errorf("read-only %s sent (legacy %v, v1 %v)", w[0], inLegacy, inV1)
			}
			continue
		}
		if !inLegacy || !inV1 {
			t.Errorf("%s: in legacy %v, in v1 %v", w[0], inLegacy, inV1)
			continue
		}
		// The v1 value, in the documented JSON type, must say what the
		// legacy text says.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		var asText string
		switch v := v.(type) {
		case string:
			asText = v
		case float64:
			asText = string(bytes.TrimSpace(raw))
		case bool:
			asText = map[bool]string{true: "true", false: "false"}[v]
		case []any:
			sep := ","
			if w[2] == "headers" {
				sep = "\n"
			}
			var parts []string
			for _, p := range v {
				parts = append(parts, p.(string))
			}
			asText = strings.Join(parts, sep)
		default:
			t.Errorf("%s: v1 value of type %T", w[2], v)
		}
		if asText != lt {
			t.Errorf("%s: legacy %q, v1 %s", w[0], lt, raw)
		}
	}
	// JSON types as documented.
	for field, kind := range map[string]byte{"topics": '[', "headers": '[', "persistent": 't', "batch_size": '2', "batch_duration": '9', "connect_timeout": '1', "type": '"'} {
		if raw := bytes.TrimSpace(v1[field]); len(raw) == 0 || raw[0] != kind {
			t.Errorf("v1 %s = %s", field, raw)
		}
	}
}

// TestBothAPIsDecodeToTheSameMonitor decodes one monitor as the legacy list
// (all strings) and as a v1 object (typed JSON) and compares.
func TestBothAPIsDecodeToTheSameMonitor(t *testing.T) {
	legacyItem := map[string]string{
		"monId": "178007", "cstId": "7603", "monTopic": "DeviceCore,[group=A,B]devices",
		"monTransportType": "http", "monFormatType": "json", "monBatchSize": "10", "monBatchDuration": "60",
		"monCompression": "gzip", "monAckOption": "off", "monAutoReplayOnConnect": "true",
		"monDescription": "d <&>", "monTransportUrl": "https://h.example/p", "monTransportToken": "u:p",
		"monTransportMethod": "post", "monTransportHeaders": "X-A: 1\nX-B: 2", "monConnectTimeout": "1500",
		"monResponseTimeout": "7000", "monSchemaType": "handlebars", "monSchemaData": "{{topic}}",
		"monStatus": "DISABLED", "monLastConnect": "2025-01-02T03:04:05.678Z", "monLastSent": "1735787045678",
		"monLastSentUuid": "u-1",
	}
	v1Obj := `{"id":178007,"customer_id":7603,"topics":["DeviceCore","[group=A,B]devices"],"type":"http",
		"format":"json","batch_size":10,"batch_duration":60,"compression":"zlib","acknowledgement":"off",
		"persistent":true,"description":"d <&>","url":"https://h.example/p","auth_token":"u:p","method":"POST",
		"headers":["X-A: 1","X-B: 2"],"connect_timeout":1500,"response_timeout":7000,"schema_type":"handlebars",
		"schema":"{{topic}}","status":"DISABLED","last_connect":"2025-01-02T03:04:05.678Z",
		"last_sent":"2025-01-02T03:04:05.678Z","last_sent_uuid":"u-1","unknown_field":{"x":1}}`
	lm, err := monitorFromFields(legacyItem)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := decodeV1Monitor([]byte(v1Obj))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lm, vm) {
		t.Errorf("legacy %#v\nv1     %#v", lm, vm)
	}
	want := Monitor{ID: 178007, CustomerID: 7603, Spec: Spec{
		Topics: []string{"DeviceCore", "[group=A,B]devices"}, Transport: TransportHTTP, Format: JSON,
		BatchSize: 10, BatchDuration: time.Minute, Compression: Zlib, Ack: AckOff, Persistent: true,
		Description: "d <&>", URL: "https://h.example/p", Token: sec("u:p"), Method: "POST",
		Headers: headers("X-A: 1", "X-B: 2"), ConnectTimeout: 1500 * time.Millisecond,
		ResponseTimeout: 7 * time.Second, SchemaType: "handlebars", Schema: "{{topic}}"},
		Status: StatusDisabled, LastConnect: time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC),
		LastSent: time.Date(2025, 1, 2, 3, 4, 5, 678e6, time.UTC), LastSentUUID: "u-1"}
	if !reflect.DeepEqual(vm, want) {
		t.Errorf("decoded %#v\nwant    %#v", vm, want)
	}
	// Tolerated variants: joined strings and a header object.
	alt, err := decodeV1Monitor([]byte(`{"id":"178007","topics":"DeviceCore,[group=A,B]devices","headers":{"X-B":"2","X-A":"1"},"batch_size":"10"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(alt.Topics, want.Topics) || !slices.EqualFunc(alt.Headers, want.Headers, secret.String.Equal) || alt.BatchSize != 10 {
		t.Errorf("variants decoded to %#v", alt)
	}
	for _, bad := range []string{`{"id":"x"}`, `{"id":1,"batch_size":{"a":1}}`, `{"id":1,"topics":[{"a":1}]}`, `[1]`} {
		if _, err := decodeV1Monitor([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}
