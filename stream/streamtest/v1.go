package streamtest

// The v1 JSON API: /ws/v1/monitors/inventory and /ws/v1/monitors/history
// (protocol package documentation §6). Monitors are the same objects as in the legacy API; this
// file maps their legacy elements to v1 fields with its own table, written
// independently of package monitor's, so that tests of one catch mistakes
// in the other.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

type v1Kind uint8

const (
	v1Text v1Kind = iota
	v1Number
	v1Bool
	v1List  // topics: JSON array ↔ comma list (outside brackets)
	v1Lines // headers: JSON array ↔ one per line
)

type v1Field struct {
	name, legacy string
	kind         v1Kind
	readOnly     bool
}

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

const (
	v1Prefix        = "/ws/v1/monitors/"
	v1InventoryPath = v1Prefix + "inventory"
)

func writeV1(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func writeV1Error(w http.ResponseWriter, status int, msg string) {
	b := []byte(`{"error_status":`)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"error_message":`...)
	b = appendJSONString(b, msg)
	writeV1(w, status, append(b, '}'))
}

// serveV1 routes /ws/v1/monitors/…
func (s *Server) serveV1(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, writeV1Error) {
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, v1Prefix), "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "inventory":
		switch r.Method {
		case http.MethodGet:
			s.v1List(w, r)
		case http.MethodPost:
			s.v1Create(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeV1Error(w, http.StatusMethodNotAllowed, "Method not allowed")
		}
		return
	case parts[0] == "inventory" && (len(parts) == 2 || len(parts) == 3 && parts[2] == "reset"),
		parts[0] == "history" && len(parts) == 2:
	default:
		writeV1Error(w, http.StatusNotFound, "Not found")
		return
	}
	m := s.monitorAt(parts[1])
	if m == nil {
		writeV1Error(w, http.StatusNotFound, "Monitor "+parts[1]+" not found")
		return
	}
	switch {
	case parts[0] == "history":
		s.v1History(w, r, m)
	case len(parts) == 3: // reset
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			writeV1Error(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		if err := s.ResetMonitor(m.id); err != nil {
			writeV1Error(w, http.StatusNotFound, "Monitor not found")
			return
		}
		s.v1Write(w, http.StatusOK, m)
	case r.Method == http.MethodGet:
		s.v1Write(w, http.StatusOK, m)
	case r.Method == http.MethodPut:
		s.v1Update(w, r, m)
	case r.Method == http.MethodDelete:
		s.DeleteMonitor(m.id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeV1Error(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
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

func (s *Server) v1Write(w http.ResponseWriter, status int, m *monitor) {
	m.mu.Lock()
	f := m.restFieldsLocked()
	m.mu.Unlock()
	writeV1(w, status, v1Object(nil, f))
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

func (s *Server) v1SpecError(w http.ResponseWriter, method string, err error) {
	var se *SpecError
	msg := "Invalid request"
	if errors.As(err, &se) {
		s.logf("streamtest: v1 %s: %v", method, se)
		msg = "Invalid " + se.Field + " specified"
		if f, ok := legacyToV1(se.Field); ok {
			msg = "Invalid " + f + " specified"
		}
	} else {
		s.logf("streamtest: v1 %s: %v", method, err)
	}
	writeV1Error(w, http.StatusBadRequest, msg)
}

func legacyToV1(legacy string) (string, bool) {
	for _, f := range v1Fields {
		if f.legacy == legacy {
			return f.name, true
		}
	}
	return "", false
}

func (s *Server) v1Create(w http.ResponseWriter, r *http.Request) {
	x, err := parseV1Body(w, r)
	if err != nil {
		s.v1SpecError(w, "POST", err)
		return
	}
	spec, filters, err := x.createSpec() // the legacy create's defaults
	if err != nil {
		s.v1SpecError(w, "POST", err)
		return
	}
	m, err := s.addMonitor(spec, filters)
	if err != nil {
		writeV1Error(w, http.StatusServiceUnavailable, "Server closed")
		return
	}
	w.Header().Set("Location", v1InventoryPath+"/"+strconv.FormatUint(uint64(m.id), 10))
	s.v1Write(w, http.StatusCreated, m)
}

func (s *Server) v1Update(w http.ResponseWriter, r *http.Request, m *monitor) {
	x, err := parseV1Body(w, r)
	if err != nil {
		s.v1SpecError(w, "PUT", err)
		return
	}
	found, err := m.patch(x)
	switch {
	case !found:
		writeV1Error(w, http.StatusNotFound, "Monitor not found")
	case err != nil:
		s.v1SpecError(w, "PUT", err)
	default:
		s.v1Write(w, http.StatusOK, m)
	}
}

func (s *Server) v1List(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, ok := v1Size(w, q)
	if !ok {
		return
	}
	start := 0
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeV1Error(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		start = n
	}
	cond, err := parseConditionFields(q.Get("query"), v1Legacy)
	if err != nil {
		writeV1Error(w, http.StatusBadRequest, "Invalid query: "+err.Error())
		return
	}
	orderField, desc := "monId", false
	if ob := strings.TrimSpace(q.Get("orderby")); ob != "" {
		name, dir, _ := strings.Cut(ob, " ")
		f, ok := v1FieldByName(name)
		switch strings.ToLower(strings.TrimSpace(dir)) {
		case "", "asc":
		case "desc":
			desc = true
		default:
			ok = false
		}
		if !ok {
			writeV1Error(w, http.StatusBadRequest, "Invalid orderby")
			return
		}
		orderField = f.legacy
	}
	rows := s.rows(cond)
	slices.SortStableFunc(rows, func(a, b []kv) int {
		x, y := field(a, orderField), field(b, orderField)
		c := strings.Compare(x, y)
		if nx, err1 := strconv.ParseInt(x, 10, 64); err1 == nil {
			if ny, err2 := strconv.ParseInt(y, 10, 64); err2 == nil {
				c = cmp.Compare(nx, ny)
			}
		}
		if desc {
			c = -c
		}
		return c
	})
	lo := min(start, len(rows))
	hi := min(lo+size, len(rows))
	cursor := ""
	if hi < len(rows) {
		cursor = strconv.Itoa(hi)
	}
	b := v1PageStart(r, hi-lo, size, cursor)
	for i, row := range rows[lo:hi] {
		if i > 0 {
			b = append(b, ',')
		}
		b = v1Object(b, row)
	}
	writeV1(w, http.StatusOK, append(b, "]}"...))
}

// v1Size reads a v1 list's "size" parameter, 1…1000 (default 1000); on
// error it answers 400 and returns false.
func v1Size(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("size")
	if v == "" {
		return defaultPage, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > defaultPage {
		writeV1Error(w, http.StatusBadRequest, "Invalid size")
		return 0, false
	}
	return n, true
}

// v1PageStart begins a v1 list answer: {"count":…,"size":…, then, when
// cursor is not "" (more records follow), "cursor" and "next_uri" (the
// request's URI with that cursor), then "list":[.
func v1PageStart(r *http.Request, count, size int, cursor string) []byte {
	b := []byte(`{"count":`)
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(size), 10)
	if cursor != "" {
		next := *r.URL
		nq := next.Query()
		nq.Set("cursor", cursor)
		next.RawQuery = nq.Encode()
		b = append(b, `,"cursor":`...)
		b = appendJSONString(b, cursor)
		b = append(b, `,"next_uri":`...)
		b = appendJSONString(b, next.RequestURI())
	}
	return append(b, `,"list":[`...)
}
