package streamtest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The legacy REST API: /ws/Monitor (PROTOCOL.md §5).
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

func (s *Server) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/Monitor", s.serveMonitor)
	mux.HandleFunc("/ws/Monitor/", s.serveMonitor)
	mux.HandleFunc(v1Prefix, s.serveV1) // v1.go
	return mux
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
	if !ok || !s.checkPassword(user, []byte(pass)) {
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

func writeError(w http.ResponseWriter, status int, msg string) {
	var b strings.Builder
	b.WriteString(xmlDecl)
	b.WriteString("<result><error>")
	escASCII(&b, msg)
	b.WriteString("</error></result>")
	w.Header().Set("Content-Type", xmlContentType)
	w.WriteHeader(status)
	io.WriteString(w, b.String())
}

// kv is one monitor field as the REST API shows it.
type kv struct{ k, v string }

// restFieldsLocked renders the monitor's elements. m.mu must be held.
func (m *monitor) restFieldsLocked() []kv {
	sp := &m.spec
	f := []kv{
		{"monId", strconv.FormatUint(uint64(m.id), 10)},
		{"cstId", strconv.FormatUint(uint64(m.s.cst), 10)},
		{"monTopic", strings.Join(sp.Topics, ",")},
		{"monTransportType", sp.Transport},
		{"monFormatType", sp.Format},
		{"monBatchSize", strconv.Itoa(sp.BatchSize)},
		{"monBatchDuration", seconds(sp.BatchDuration)},
		{"monCompression", sp.Compression},
		{"monAckOption", ackOption(sp.AckExplicit)},
		{"monAutoReplayOnConnect", strconv.FormatBool(sp.Persistent)},
		{"monStatus", m.statusLocked()},
	}
	opt := func(k, v string) {
		if v != "" {
			f = append(f, kv{k, v})
		}
	}
	opt("monDescription", sp.Description)
	if sp.Transport == "http" {
		opt("monTransportUrl", sp.TransportURL)
		opt("monTransportMethod", sp.TransportMethod)
		opt("monTransportHeaders", sp.TransportHeaders)
		opt("monConnectTimeout", strconv.FormatInt(sp.ConnectTimeout.Milliseconds(), 10))
		opt("monResponseTimeout", strconv.FormatInt(sp.ResponseTimeout.Milliseconds(), 10))
	}
	opt("monSchemaType", sp.SchemaType)
	opt("monSchemaData", sp.SchemaData)
	if !m.lastConnect.IsZero() {
		opt("monLastConnect", m.lastConnect.Format(timestampLayout))
	}
	if !m.lastSent.IsZero() {
		opt("monLastSent", m.lastSent.Format(timestampLayout))
	}
	return f
}

// ackOption renders monAckOption.
func ackOption(explicit bool) string {
	if explicit {
		return "explicit"
	}
	return "off"
}

// seconds renders a batch duration as REST seconds: "0" for no wait,
// otherwise rounded up to a whole second.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func (s *Server) restList(w http.ResponseWriter, r *http.Request, asJSON bool) {
	q := r.URL.Query()
	start, size := 0, defaultPage
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "GET Monitor error. Invalid request. Invalid start specified")
			return
		}
		start = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "GET Monitor error. Invalid request. Invalid size specified")
			return
		}
		size = n
	}
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
	writeList(w, asJSON, total, start, size, page)
}

// rows returns the fields of every monitor that matches cond, by id.
func (s *Server) rows(cond condition) [][]kv {
	var rows [][]kv
	for _, m := range s.snapshot() {
		m.mu.Lock()
		if !m.deleted {
			f := m.restFieldsLocked()
			if cond.match(f) {
				rows = append(rows, f)
			}
		}
		m.mu.Unlock()
	}
	return rows
}

func (s *Server) restGet(w http.ResponseWriter, m *monitor, asJSON bool) {
	m.mu.Lock()
	f := m.restFieldsLocked()
	m.mu.Unlock()
	writeList(w, asJSON, 1, 0, defaultPage, [][]kv{f})
}

func writeList(w http.ResponseWriter, asJSON bool, total, start, size int, page [][]kv) {
	remaining := max(total-start-len(page), 0)
	head := []kv{
		{"resultTotalRows", strconv.Itoa(total)},
		{"requestedStartRow", strconv.Itoa(start)},
		{"resultSize", strconv.Itoa(len(page))},
		{"requestedSize", strconv.Itoa(size)},
		{"remainingSize", strconv.Itoa(remaining)},
	}
	if asJSON {
		b := []byte{'{'}
		for _, h := range head {
			b = appendJSONString(b, h.k)
			b = append(b, ':')
			b = appendJSONString(b, h.v)
			b = append(b, ',')
		}
		b = append(b, `"items":[`...)
		for i, row := range page {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			for j, f := range row {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, f.k)
				b = append(b, ':')
				b = appendJSONString(b, f.v)
			}
			b = append(b, '}')
		}
		b = append(b, "]}"...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return
	}
	var b strings.Builder
	b.WriteString(xmlDecl)
	b.WriteString("\n<result>\n")
	for _, h := range head {
		writeElem(&b, h.k, h.v)
	}
	for _, row := range page {
		b.WriteString("<Monitor>\n")
		for _, f := range row {
			writeElem(&b, f.k, f.v)
		}
		b.WriteString("</Monitor>\n")
	}
	b.WriteString("</result>\n")
	w.Header().Set("Content-Type", xmlContentType)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, b.String())
}

func writeElem(b *strings.Builder, k, v string) {
	b.WriteString("  <")
	b.WriteString(k)
	b.WriteByte('>')
	escASCII(b, v)
	b.WriteString("</")
	b.WriteString(k)
	b.WriteString(">\n")
}

// escASCII writes s escaped for XML text, as pure ASCII: markup characters
// as entities, non-ASCII as numeric character references, characters XML
// cannot carry as U+FFFD.
func escASCII(b *strings.Builder, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteString("&#13;")
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError:
			b.WriteString("&#65533;")
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		default:
			b.WriteString("&#")
			b.WriteString(strconv.Itoa(int(r)))
			b.WriteByte(';')
		}
	}
}

// monitorXML is a <Monitor> request body. Absent elements are nil, so a
// PUT changes only what it names. Read-only elements (cstId, monStatus,
// monLastConnect, …) have no field: the decoder skips them.
type monitorXML struct {
	XMLName          xml.Name `xml:"Monitor"`
	MonID            *string  `xml:"monId"`
	Topic            *string  `xml:"monTopic"`
	TransportType    *string  `xml:"monTransportType"`
	FormatType       *string  `xml:"monFormatType"`
	BatchSize        *string  `xml:"monBatchSize"`
	BatchDuration    *string  `xml:"monBatchDuration"`
	Compression      *string  `xml:"monCompression"`
	AckOption        *string  `xml:"monAckOption"`
	AutoReplay       *string  `xml:"monAutoReplayOnConnect"`
	Description      *string  `xml:"monDescription"`
	TransportURL     *string  `xml:"monTransportUrl"`
	TransportToken   *string  `xml:"monTransportToken"`
	TransportMethod  *string  `xml:"monTransportMethod"`
	TransportHeaders *string  `xml:"monTransportHeaders"`
	ConnectTimeout   *string  `xml:"monConnectTimeout"`
	ResponseTimeout  *string  `xml:"monResponseTimeout"`
	SchemaType       *string  `xml:"monSchemaType"`
	SchemaData       *string  `xml:"monSchemaData"`
}

func parseMonitorXML(body []byte) (*monitorXML, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = charsetReader
	var x monitorXML
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return &x, nil
}

// charsetReader lets request bodies declare ISO-8859-1 (as the service's
// own responses do) or US-ASCII.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		u := make([]byte, 0, len(b)+len(b)/4)
		for _, c := range b {
			u = utf8.AppendRune(u, rune(c))
		}
		return bytes.NewReader(u), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}

// writable reports whether the body names any element a client may set.
func (x *monitorXML) writable() bool {
	for _, p := range []*string{x.Topic, x.TransportType, x.FormatType, x.BatchSize, x.BatchDuration,
		x.Compression, x.AckOption, x.AutoReplay, x.Description, x.TransportURL, x.TransportToken,
		x.TransportMethod, x.TransportHeaders, x.ConnectTimeout, x.ResponseTimeout, x.SchemaType, x.SchemaData} {
		if p != nil {
			return true
		}
	}
	return false
}

// apply overlays the elements present in x on spec.
func (x *monitorXML) apply(spec MonitorSpec) (MonitorSpec, error) {
	trim := func(p *string) string { return strings.TrimSpace(*p) }
	if x.Topic != nil {
		spec.Topics = splitTopics(*x.Topic)
	}
	if x.TransportType != nil {
		if spec.Transport = trim(x.TransportType); spec.Transport == "" {
			return spec, specErr("monTransportType", "empty")
		}
	}
	if x.FormatType != nil {
		if spec.Format = trim(x.FormatType); spec.Format == "" {
			return spec, specErr("monFormatType", "empty")
		}
	}
	if x.Compression != nil {
		if spec.Compression = trim(x.Compression); spec.Compression == "" {
			return spec, specErr("monCompression", "empty")
		}
	}
	if x.BatchSize != nil {
		n, err := strconv.Atoi(trim(x.BatchSize))
		if err != nil || n < 1 || n > 0xFFFF {
			return spec, specErr("monBatchSize", "must be 1…65535")
		}
		spec.BatchSize = n
	}
	if x.BatchDuration != nil {
		n, err := strconv.Atoi(trim(x.BatchDuration))
		if err != nil || n < 0 || n > 86400 {
			return spec, specErr("monBatchDuration", "must be 0…86400 seconds")
		}
		spec.BatchDuration = time.Duration(n) * time.Second
		if n == 0 {
			spec.BatchDuration = -1 // no wait
		}
	}
	if x.AckOption != nil {
		switch strings.ToLower(trim(x.AckOption)) {
		case "explicit":
			spec.AckExplicit = true
		case "off":
			spec.AckExplicit = false
		default:
			return spec, specErr("monAckOption", "must be explicit or off")
		}
	}
	if x.AutoReplay != nil {
		switch strings.ToLower(trim(x.AutoReplay)) {
		case "true":
			spec.Persistent = true
		case "false":
			spec.Persistent = false
		default:
			return spec, specErr("monAutoReplayOnConnect", "must be true or false")
		}
	}
	if x.Description != nil {
		spec.Description = *x.Description
	}
	if x.TransportURL != nil {
		spec.TransportURL = trim(x.TransportURL)
	}
	if x.TransportToken != nil {
		spec.TransportToken = Secret(*x.TransportToken)
	}
	if x.TransportMethod != nil {
		spec.TransportMethod = trim(x.TransportMethod)
	}
	if x.TransportHeaders != nil {
		spec.TransportHeaders = *x.TransportHeaders
	}
	for _, t := range []struct {
		p     *string
		name  string
		field *time.Duration
	}{{x.ConnectTimeout, "monConnectTimeout", &spec.ConnectTimeout}, {x.ResponseTimeout, "monResponseTimeout", &spec.ResponseTimeout}} {
		if t.p != nil {
			n, err := strconv.Atoi(trim(t.p))
			if err != nil || n < 0 {
				return spec, specErr(t.name, "must be milliseconds ≥ 0")
			}
			*t.field = time.Duration(n) * time.Millisecond
		}
	}
	if x.SchemaType != nil {
		spec.SchemaType = trim(x.SchemaType)
	}
	if x.SchemaData != nil {
		spec.SchemaData = *x.SchemaData
	}
	return spec, nil
}

// overlay applies x to base (apply) and validates the result, filling in
// defaults (normalizeSpec): the spec a create or a PUT of x makes.
func (x *monitorXML) overlay(base MonitorSpec) (MonitorSpec, []topicFilter, error) {
	spec, err := x.apply(base)
	if err != nil {
		return spec, nil, err
	}
	return normalizeSpec(spec)
}

// createSpec is the spec a create (POST) of x makes, in either REST API.
// Defaults (PROTOCOL.md §5): 100 events per block (normalizeSpec's 1 is
// for CreateMonitor) and normalizeSpec's 10 s batch duration.
func (x *monitorXML) createSpec() (MonitorSpec, []topicFilter, error) {
	return x.overlay(MonitorSpec{BatchSize: 100})
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

// condition is a parsed list condition: alternatives joined with "or",
// each a list of clauses joined with "and" ("and" binds tighter). A nil
// condition matches everything.
type condition [][]kv

var condFields = map[string]bool{
	"monId": true, "cstId": true, "monTopic": true, "monTransportType": true, "monFormatType": true,
	"monStatus": true, "monCompression": true, "monAckOption": true, "monAutoReplayOnConnect": true,
	"monDescription": true, "monBatchSize": true, "monBatchDuration": true,
}

// parseCondition parses field='value' clauses joined with "and" or "or"
// (case-insensitive keywords; "and" binds tighter, no parentheses); a
// doubled single quote inside a value stands for one.
func parseCondition(s string) (condition, error) {
	return parseConditionFields(s, func(f string) (string, bool) { return f, condFields[f] })
}

// parseConditionFields is parseCondition with field names mapped to
// legacy element names by fieldName (the v1 query language uses v1 names).
func parseConditionFields(s string, fieldName func(string) (string, bool)) (condition, error) {
	var c condition
	var cur []kv
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	skip()
	if i == len(s) {
		return nil, nil
	}
	for {
		skip()
		j := i
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_') {
			i++
		}
		field, known := fieldName(s[j:i])
		if !known {
			return nil, fmt.Errorf("unsupported field %q", s[j:i])
		}
		skip()
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("expected = after %s", field)
		}
		i++
		skip()
		if i >= len(s) || s[i] != '\'' {
			return nil, fmt.Errorf("expected a quoted value for %s", field)
		}
		i++
		var v strings.Builder
		for {
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated value for %s", field)
			}
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					v.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			v.WriteByte(s[i])
			i++
		}
		cur = append(cur, kv{field, v.String()})
		skip()
		if i == len(s) {
			return append(c, cur), nil
		}
		switch {
		case keywordAt(s, i, "and"):
			i += 3
		case keywordAt(s, i, "or"):
			c = append(c, cur)
			cur = nil
			i += 2
		default:
			return nil, fmt.Errorf("expected 'and' or 'or' at offset %d", i)
		}
	}
}

// keywordAt reports whether s has the keyword kw (any case) at i,
// followed by a space or tab.
func keywordAt(s string, i int, kw string) bool {
	n := len(kw)
	return len(s)-i > n && strings.EqualFold(s[i:i+n], kw) && (s[i+n] == ' ' || s[i+n] == '\t')
}

func (c condition) match(fields []kv) bool {
	if c == nil {
		return true
	}
	for _, alt := range c {
		if matchAll(alt, fields) {
			return true
		}
	}
	return false
}

func matchAll(clauses []kv, fields []kv) bool {
	for _, cl := range clauses {
		if !strings.EqualFold(field(fields, cl.k), cl.v) {
			return false
		}
	}
	return true
}

// field returns the value of element k in row, "" when absent.
func field(row []kv, k string) string {
	for _, f := range row {
		if f.k == k {
			return f.v
		}
	}
	return ""
}
