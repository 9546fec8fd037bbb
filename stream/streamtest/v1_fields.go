package streamtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The v1 monitor object: its fields, mapped to the legacy elements by a
// table of this package's own, rendered from a monitor's legacy fields and
// read into the legacy request form.

// v1Kind is how a v1 field's JSON value maps to its legacy element's text.
type v1Kind uint8

const (
	v1Text v1Kind = iota
	v1Number
	v1Bool
	v1List  // topics: JSON array ↔ comma list (outside brackets)
	v1Lines // headers: JSON array ↔ one per line
)

// v1Field is one field of the v1 monitor object and the legacy element
// it stands for; read-only fields are ignored in request bodies.
type v1Field struct {
	name, legacy string
	kind         v1Kind
	readOnly     bool
}

// v1Fields are the v1 monitor object's fields, in the order they are
// written.
var v1Fields = []v1Field{
	{"id", "monId", v1Number, true},
	{"customer_id", "cstId", v1Number, true},
	{"topics", "monTopic", v1List, false},
	{"type", "monTransportType", v1Text, false},
	{"format", "monFormatType", v1Text, false},
	{"batch_size", "monBatchSize", v1Number, false},
	{"batch_duration", "monBatchDuration", v1Number, false},
	{"compression", "monCompression", v1Text, false},
	{"acknowledgement", "monAckOption", v1Text, false},
	{"persistent", "monAutoReplayOnConnect", v1Bool, false},
	{"description", "monDescription", v1Text, false},
	{"url", "monTransportUrl", v1Text, false},
	{"auth_token", "monTransportToken", v1Text, false},
	{"method", "monTransportMethod", v1Text, false},
	{"headers", "monTransportHeaders", v1Lines, false},
	{"connect_timeout", "monConnectTimeout", v1Number, false},
	{"response_timeout", "monResponseTimeout", v1Number, false},
	{"schema_type", "monSchemaType", v1Text, false},
	{"schema", "monSchemaData", v1Text, false},
	{"status", "monStatus", v1Text, true},
	{"last_connect", "monLastConnect", v1Text, true},
	{"last_sent", "monLastSent", v1Text, true},
	{"last_sent_uuid", "monLastSentUuid", v1Text, true},
}

func v1FieldByName(name string) (v1Field, bool) {
	for _, f := range v1Fields {
		if f.name == name {
			return f, true
		}
	}
	return v1Field{}, false
}

// v1Legacy maps a v1 field name to its legacy element, for conditions.
func v1Legacy(name string) (string, bool) {
	f, ok := v1FieldByName(name)
	return f.legacy, ok
}

// v1Object renders one monitor's fields (legacy kv) as a v1 JSON object.
func v1Object(b []byte, fields []kv) []byte {
	b = append(b, '{')
	first := true
	for _, f := range v1Fields {
		i := slices.IndexFunc(fields, func(x kv) bool { return x.k == f.legacy })
		if i < 0 {
			continue
		}
		v := fields[i].v
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, f.name)
		b = append(b, ':')
		switch f.kind {
		case v1Number, v1Bool:
			b = append(b, v...)
		case v1List, v1Lines:
			var items []string
			if f.kind == v1List {
				items = splitTopics(v)
			} else {
				for _, line := range strings.Split(v, "\n") {
					if line = strings.TrimSpace(line); line != "" {
						items = append(items, line)
					}
				}
			}
			b = append(b, '[')
			for j, it := range items {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, it)
			}
			b = append(b, ']')
		default:
			b = appendJSONString(b, v)
		}
	}
	return append(b, '}')
}

// parseV1Body reads a v1 monitor object into the legacy request form, so
// that create and update share the legacy validation. Read-only fields
// are ignored; unknown fields and wrong JSON types are errors.
func parseV1Body(w http.ResponseWriter, r *http.Request) (*monitorXML, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %v", err)
	}
	x := &monitorXML{}
	ptrs := map[string]**string{
		"monTopic": &x.Topic, "monTransportType": &x.TransportType, "monFormatType": &x.FormatType,
		"monBatchSize": &x.BatchSize, "monBatchDuration": &x.BatchDuration, "monCompression": &x.Compression,
		"monAckOption": &x.AckOption, "monAutoReplayOnConnect": &x.AutoReplay, "monDescription": &x.Description,
		"monTransportUrl": &x.TransportURL, "monTransportToken": &x.TransportToken, "monTransportMethod": &x.TransportMethod,
		"monTransportHeaders": &x.TransportHeaders, "monConnectTimeout": &x.ConnectTimeout,
		"monResponseTimeout": &x.ResponseTimeout, "monSchemaType": &x.SchemaType, "monSchemaData": &x.SchemaData,
	}
	for name, v := range obj {
		f, ok := v1FieldByName(name)
		if !ok {
			return nil, &SpecError{Field: name, Reason: "unknown field"}
		}
		if f.readOnly {
			continue
		}
		bad := &SpecError{Field: name, Reason: "wrong JSON type"}
		var text string
		switch f.kind {
		case v1Text:
			s, ok := v.(string)
			if !ok {
				return nil, bad
			}
			text = s
		case v1Number:
			n, ok := v.(json.Number)
			if !ok {
				return nil, bad
			}
			text = n.String()
		case v1Bool:
			bv, ok := v.(bool)
			if !ok {
				return nil, bad
			}
			text = strconv.FormatBool(bv)
		case v1List, v1Lines:
			arr, ok := v.([]any)
			if !ok {
				return nil, bad
			}
			parts := make([]string, len(arr))
			for i, it := range arr {
				if parts[i], ok = it.(string); !ok {
					return nil, bad
				}
			}
			sep := ","
			if f.kind == v1Lines {
				sep = "\n"
			}
			text = strings.Join(parts, sep)
		}
		*ptrs[f.legacy] = &text
	}
	return x, nil
}

func legacyToV1(legacy string) (string, bool) {
	for _, f := range v1Fields {
		if f.legacy == legacy {
			return f.name, true
		}
	}
	return "", false
}
