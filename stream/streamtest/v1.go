package streamtest

// The v1 JSON API: /ws/v1/monitors/inventory and /ws/v1/monitors/history
// (protocol package documentation §6): its routing, the inventory's
// handlers (create, read, update, reset, delete, and lists with query,
// order and paging) and its JSON answers. Monitors are the same objects
// as in the legacy API; v1_fields.go maps their legacy elements to v1
// fields with its own table, written independently of package monitor's,
// so that tests of one catch mistakes in the other.

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

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

func (s *Server) v1Write(w http.ResponseWriter, status int, m *monitor) {
	m.mu.Lock()
	f := m.restFieldsLocked()
	m.mu.Unlock()
	writeV1(w, status, v1Object(nil, f))
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
