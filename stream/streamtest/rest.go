package streamtest

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The legacy REST API: /ws/Monitor (protocol package documentation §5).
//
// XML responses declare ISO-8859-1, as the service's do, and are pure
// ASCII (other characters are written as character references), so they
// are correct whatever charset a client assumes. JSON list output is
// chosen with "Accept: application/json" or a ".json" suffix
// (/ws/Monitor/.json, /ws/Monitor/{id}.json). Errors are always XML:
// <result><error>…</error></result>.

const (
	xmlDecl        = `<?xml version="1.0" encoding="ISO-8859-1"?>`
	xmlContentType = "text/xml; charset=ISO-8859-1"
	defaultPage    = 1000
	maxBody        = 1 << 20
)

// newHandler routes the REST APIs, behind the access log.
func (s *Server) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/Monitor", s.serveMonitor)
	mux.HandleFunc("/ws/Monitor/", s.serveMonitor)
	mux.HandleFunc("/ws/DeviceCore", s.serveDeviceCore) // devicecore.go
	mux.HandleFunc("/ws/DeviceCore/", s.serveDeviceCore)
	mux.HandleFunc(v1Prefix, s.serveV1) // v1.go
	return s.accessLog(mux)             // restserver.go
}

// admit is the front door of both REST APIs: it answers 503 once the
// server is closed, 401 without valid Basic auth and 429 while throttled,
// each through fail (the API's error format), and reports whether the
// request may go on.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, int, string)) bool {
	select {
	case <-s.done:
		fail(w, http.StatusServiceUnavailable, "Server closed")
		return false
	default:
	}
	user, pass, ok := r.BasicAuth()
	if !ok || !s.checkPassword(user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="streamtest"`)
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	if s.takeThrottle() {
		fail(w, http.StatusTooManyRequests, "Too many requests. Try again later.")
		return false
	}
	return true
}

// Throttle makes the next n REST calls (after authentication) answer 429
// Too Many Requests, for testing a client's retries. n ≤ 0 turns
// throttling off.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	s.throttle = max(n, 0)
	s.mu.Unlock()
}

func (s *Server) takeThrottle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle > 0 {
		s.throttle--
		return true
	}
	return false
}

func (s *Server) serveMonitor(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, writeError) {
		return
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/ws/Monitor"), "/")
	asJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	switch {
	case strings.HasSuffix(rest, ".json"):
		asJSON, rest = true, strings.TrimSuffix(rest, ".json")
	case strings.HasSuffix(rest, ".xml"):
		asJSON, rest = false, strings.TrimSuffix(rest, ".xml")
	}
	if rest == "" {
		switch r.Method {
		case http.MethodGet:
			s.restList(w, r, asJSON)
		case http.MethodPost:
			s.restCreate(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, http.StatusMethodNotAllowed, r.Method+" Monitor error. Method not allowed")
		}
		return
	}
	m := s.monitorAt(rest)
	if m == nil {
		writeError(w, http.StatusNotFound, r.Method+" Monitor error. Monitor "+rest+" not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.restGet(w, m, asJSON)
	case http.MethodPut:
		s.restUpdate(w, r, m)
	case http.MethodDelete:
		s.DeleteMonitor(m.id)
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeError(w, http.StatusMethodNotAllowed, r.Method+" Monitor error. Method not allowed")
	}
}

// monitorAt returns the monitor a URL path segment names, or nil.
func (s *Server) monitorAt(seg string) *monitor {
	id, err := strconv.ParseUint(seg, 10, 32)
	if err != nil {
		return nil
	}
	return s.lookup(uint32(id))
}

func (s *Server) restList(w http.ResponseWriter, r *http.Request, asJSON bool) {
	start, size, ok := listPage(w, r, "Monitor")
	if !ok {
		return
	}
	q := r.URL.Query()
	cond, err := parseCondition(q.Get("condition"))
	if err != nil {
		s.logf("streamtest: REST: condition %q: %v", q.Get("condition"), err)
		writeError(w, http.StatusBadRequest, "GET Monitor error. Invalid request. Unsupported condition: "+err.Error())
		return
	}
	rows := s.rows(cond)
	total := len(rows)
	lo := min(start, total)
	page := rows[lo : lo+min(size, total-lo)]
	writeList(w, asJSON, "Monitor", total, start, size, page)
}

// listPage reads a list's start and size parameters (0 and defaultPage
// when absent), answering 400 for bad ones, as the service does for
// resource.
func listPage(w http.ResponseWriter, r *http.Request, resource string) (start, size int, ok bool) {
	q := r.URL.Query()
	start, size = 0, defaultPage
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "GET "+resource+" error. Invalid request. Invalid start specified")
			return 0, 0, false
		}
		start = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "GET "+resource+" error. Invalid request. Invalid size specified")
			return 0, 0, false
		}
		size = n
	}
	return start, size, true
}

func (s *Server) restGet(w http.ResponseWriter, m *monitor, asJSON bool) {
	m.mu.Lock()
	f := m.restFieldsLocked()
	m.mu.Unlock()
	writeList(w, asJSON, "Monitor", 1, 0, defaultPage, [][]kv{f})
}

func (s *Server) restCreate(w http.ResponseWriter, r *http.Request) {
	x, err := readBody(w, r)
	if err != nil {
		s.logf("streamtest: REST POST: bad body: %v", err)
		writeError(w, http.StatusBadRequest, "POST Monitor error. Invalid request. Unable to parse the <Monitor> element")
		return
	}
	spec, filters, err := x.createSpec()
	if err != nil {
		s.restSpecError(w, "POST", err)
		return
	}
	m, err := s.addMonitor(spec, filters)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "POST Monitor error. Server closed")
		return
	}
	loc := "Monitor/" + strconv.FormatUint(uint64(m.id), 10)
	w.Header().Set("Location", loc)
	w.Header().Set("Content-Type", xmlContentType)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, xmlDecl+"<result><location>"+loc+"</location></result>")
}

func (s *Server) restUpdate(w http.ResponseWriter, r *http.Request, m *monitor) {
	x, err := readBody(w, r)
	if err != nil {
		s.logf("streamtest: REST PUT: bad body: %v", err)
		writeError(w, http.StatusBadRequest, "PUT Monitor error. Invalid request. Unable to parse the <Monitor> element")
		return
	}
	if x.MonID != nil && strings.TrimSpace(*x.MonID) != strconv.FormatUint(uint64(m.id), 10) {
		s.restSpecError(w, "PUT", specErr("monId", "does not match the URL"))
		return
	}
	found, err := m.patch(x)
	switch {
	case !found:
		writeError(w, http.StatusNotFound, "PUT Monitor error. Monitor not found")
	case err != nil:
		s.restSpecError(w, "PUT", err)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// restSpecError answers a spec error the way the service does:
// "<METHOD> Monitor error. Invalid request. Invalid <field> specified".
func (s *Server) restSpecError(w http.ResponseWriter, method string, err error) {
	var se *SpecError
	msg := "Invalid request"
	if errors.As(err, &se) {
		s.logf("streamtest: REST %s: %v", method, se)
		msg = "Invalid " + se.Field + " specified"
	}
	writeError(w, http.StatusBadRequest, method+" Monitor error. Invalid request. "+msg)
}

func readBody(w http.ResponseWriter, r *http.Request) (*monitorXML, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return parseMonitorXML(body)
}

// patch applies the elements present in x to m (a body with no writable
// element is a kick), as both REST APIs' PUT do. found is false when m has
// been deleted; err is a spec error.
func (m *monitor) patch(x *monitorXML) (found bool, err error) {
	m.mu.Lock()
	if m.deleted {
		m.mu.Unlock()
		return false, nil
	}
	spec, filters, err := x.overlay(cloneSpec(m.spec))
	if err != nil {
		m.mu.Unlock()
		return true, err
	}
	c := m.updateLocked(spec, filters, !x.writable())
	m.mu.Unlock()
	if c != nil {
		c.shutdown(false)
	}
	return true, nil
}
