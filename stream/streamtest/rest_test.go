package streamtest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// restClient calls a Server's REST API over real HTTP.
type restClient struct {
	t          *testing.T
	s          *Server
	user, pass string
	accept     string
}

func newREST(t *testing.T, s *Server) *restClient {
	return &restClient{t: t, s: s, user: "user", pass: "password"}
}

func (c *restClient) do(method, path, body string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL()+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// create POSTs a <Monitor> and returns the new id.
func (c *restClient) create(body string) uint32 {
	c.t.Helper()
	code, hdr, resp := c.do("POST", "/ws/Monitor", body)
	if code != http.StatusCreated {
		c.t.Fatalf("POST: %d %s", code, resp)
	}
	loc := hdr.Get("Location")
	id, err := strconv.ParseUint(strings.TrimPrefix(loc, "Monitor/"), 10, 32)
	if err != nil {
		c.t.Fatalf("Location %q", loc)
	}
	want := `<?xml version="1.0" encoding="ISO-8859-1"?><result><location>Monitor/` + strconv.FormatUint(id, 10) + `</location></result>`
	if resp != want {
		c.t.Fatalf("POST body\n got %s\nwant %s", resp, want)
	}
	return uint32(id)
}

// xmlResult is the XML list envelope.
type xmlResult struct {
	XMLName           xml.Name `xml:"result"`
	ResultTotalRows   int      `xml:"resultTotalRows"`
	RequestedStartRow int      `xml:"requestedStartRow"`
	ResultSize        int      `xml:"resultSize"`
	RequestedSize     int      `xml:"requestedSize"`
	RemainingSize     int      `xml:"remainingSize"`
	Error             string   `xml:"error"`
	Monitors          []struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"Monitor"`
}

func parseXMLResult(t *testing.T, body string) (xmlResult, []map[string]string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(body))
	dec.CharsetReader = charsetReader // the body declares ISO-8859-1
	var r xmlResult
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	var items []map[string]string
	for _, m := range r.Monitors {
		item := map[string]string{}
		for _, f := range m.Fields {
			item[f.XMLName.Local] = f.Value
		}
		items = append(items, item)
	}
	return r, items
}

type jsonResult struct {
	ResultTotalRows   string              `json:"resultTotalRows"`
	RequestedStartRow string              `json:"requestedStartRow"`
	ResultSize        string              `json:"resultSize"`
	RequestedSize     string              `json:"requestedSize"`
	RemainingSize     string              `json:"remainingSize"`
	Items             []map[string]string `json:"items"` // all values strings
}

func parseJSONResult(t *testing.T, body string) jsonResult {
	t.Helper()
	var r jsonResult
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return r
}

const createBody = `<Monitor><monTopic>DeviceCore,FileData</monTopic><monTransportType>tcp</monTransportType>
<monFormatType>json</monFormatType><monBatchSize>1</monBatchSize><monBatchDuration>60</monBatchDuration>
<monCompression>zlib</monCompression><monAckOption>explicit</monAckOption>
<monAutoReplayOnConnect>true</monAutoReplayOnConnect><monDescription>a &lt;b&gt; &amp; c</monDescription></Monitor>`

func TestRESTCreateGetXMLAndJSON(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	id := c.create(createBody)
	if id < FirstMonitorID {
		t.Errorf("id %d", id)
	}
	info, ok := s.MonitorInfo(id)
	if !ok {
		t.Fatal("no MonitorInfo")
	}
	sp := info.Spec
	if strings.Join(sp.Topics, "|") != "DeviceCore|FileData" || sp.BatchSize != 1 || sp.BatchDuration != time.Minute ||
		sp.Compression != "zlib" || !sp.AckExplicit || !sp.Persistent || sp.Format != "json" || sp.Description != "a <b> & c" {
		t.Errorf("spec %+v", sp)
	}

	code, hdr, body := c.do("GET", fmt.Sprintf("/ws/Monitor/%d", id), "")
	if code != 200 || !strings.HasPrefix(body, `<?xml version="1.0" encoding="ISO-8859-1"?>`) || !strings.Contains(hdr.Get("Content-Type"), "xml") {
		t.Fatalf("GET: %d %s", code, body)
	}
	r, items := parseXMLResult(t, body)
	if r.ResultTotalRows != 1 || len(items) != 1 {
		t.Fatalf("GET: %+v", r)
	}
	want := map[string]string{
		"monId": strconv.Itoa(int(id)), "cstId": "1234", "monTopic": "DeviceCore,FileData", "monTransportType": "tcp",
		"monFormatType": "json", "monBatchSize": "1", "monBatchDuration": "60", "monCompression": "zlib",
		"monAckOption": "explicit", "monAutoReplayOnConnect": "true", "monStatus": "SUSPENDED", "monDescription": "a <b> & c",
	}
	for k, v := range want {
		if items[0][k] != v {
			t.Errorf("GET %s = %q, want %q", k, items[0][k], v)
		}
	}

	for _, variant := range []struct{ accept, path string }{
		{"application/json", fmt.Sprintf("/ws/Monitor/%d", id)},
		{"", fmt.Sprintf("/ws/Monitor/%d.json", id)},
		{"", "/ws/Monitor/.json"},
		{"application/json", "/ws/Monitor"},
	} {
		c.accept = variant.accept
		code, hdr, body := c.do("GET", variant.path, "")
		if code != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("%v: %d %s", variant, code, body)
		}
		jr := parseJSONResult(t, body)
		if jr.ResultTotalRows != "1" || jr.ResultSize != "1" || jr.RemainingSize != "0" || jr.RequestedStartRow != "0" ||
			jr.RequestedSize != "1000" || len(jr.Items) != 1 {
			t.Fatalf("%v: %+v", variant, jr)
		}
		for k, v := range want {
			if jr.Items[0][k] != v {
				t.Errorf("%v: %s = %q, want %q", variant, k, jr.Items[0][k], v)
			}
		}
	}
}

func TestRESTDefaultsAndLatin1(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	// ISO-8859-1 body: 0xE9 is é.
	id := c.create("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Monitor><monTopic>DataPoint</monTopic><monDescription>caf\xe9</monDescription></Monitor>")
	info, _ := s.MonitorInfo(id)
	if sp := info.Spec; sp.BatchSize != 100 || sp.BatchDuration != 10*time.Second || sp.Format != "json" ||
		sp.Transport != "tcp" || sp.Compression != "none" || sp.AckExplicit || sp.Persistent || sp.Description != "café" {
		t.Errorf("REST defaults: %+v", sp)
	}
	_, _, body := c.do("GET", fmt.Sprintf("/ws/Monitor/%d", id), "")
	if !strings.Contains(body, "<monDescription>caf&#233;</monDescription>") {
		t.Errorf("non-ASCII not escaped: %s", body)
	}
	for i := range len(body) {
		if body[i] >= 0x80 {
			t.Fatalf("non-ASCII byte in a body declared ISO-8859-1: %q", body)
		}
	}
	// monBatchDuration 0 means no wait.
	id = c.create("<Monitor><monTopic>DataPoint</monTopic><monBatchDuration>0</monBatchDuration></Monitor>")
	if info, _ := s.MonitorInfo(id); info.Spec.BatchDuration >= 0 {
		t.Errorf("BatchDuration %v", info.Spec.BatchDuration)
	}
}

func TestRESTAuth(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-", Users: map[string]string{"alice": "s3cret"}})
	defer s.Close()
	c := newREST(t, s)
	for _, cred := range [][2]string{{"", ""}, {"alice", "wrong"}, {"user", "password"}} {
		c.user, c.pass = cred[0], cred[1]
		code, hdr, body := c.do("GET", "/ws/Monitor", "")
		if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" || !strings.Contains(body, "<error>") {
			t.Errorf("%q: %d %s", cred[0], code, body)
		}
		if strings.Contains(body, "s3cret") || strings.Contains(body, "wrong") {
			t.Errorf("password in body: %s", body)
		}
	}
	c.user, c.pass = "alice", "s3cret"
	if code, _, body := c.do("GET", "/ws/Monitor", ""); code != 200 {
		t.Errorf("good credentials: %d %s", code, body)
	}
}

// DefaultUsers hands out copies: changing one changes neither the
// defaults nor a running Server's users.
func TestDefaultUsersIsACopy(t *testing.T) {
	mine := DefaultUsers()
	mine["user"] = "changed"
	mine["mallory"] = "x"
	if d := DefaultUsers(); len(d) != 1 || d["user"] != "password" {
		t.Fatalf("DefaultUsers() = %v after a caller changed its copy", d)
	}
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	if code, _, body := c.do("GET", "/ws/Monitor", ""); code != 200 {
		t.Errorf("default credentials: %d %s", code, body)
	}
	c.user, c.pass = "mallory", "x"
	if code, _, _ := c.do("GET", "/ws/Monitor", ""); code != http.StatusUnauthorized {
		t.Errorf("a user added to a copy of DefaultUsers was accepted: %d", code)
	}
}

func TestRESTErrors(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	cases := []struct {
		body, want string
	}{
		{"<Monitor><monTopic></monTopic></Monitor>", "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monTopic>Nonsense</monTopic></Monitor>", "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monTopic>DeviceCore,,DataPoint</monTopic></Monitor>", "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monTopic>[nope=1]DeviceCore</monTopic></Monitor>", "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monDescription>x</monDescription></Monitor>", "POST Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monTopic>DataPoint</monTopic><monBatchSize>0</monBatchSize></Monitor>", "POST Monitor error. Invalid request. Invalid monBatchSize specified"},
		{"<Monitor><monTopic>DataPoint</monTopic><monBatchSize>x</monBatchSize></Monitor>", "POST Monitor error. Invalid request. Invalid monBatchSize specified"},
		{"<Monitor><monTopic>DataPoint</monTopic><monFormatType>csv</monFormatType></Monitor>", "POST Monitor error. Invalid request. Invalid monFormatType specified"},
		{"<Monitor><monTopic>DataPoint</monTopic><monAckOption>maybe</monAckOption></Monitor>", "POST Monitor error. Invalid request. Invalid monAckOption specified"},
		{"<Monitor><monTopic>DataPoint</monTopic><monTransportType>http</monTransportType></Monitor>", "POST Monitor error. Invalid request. Invalid monTransportUrl specified"},
		{"<Monitor><monTopic>DataPoint</monTopic>", "POST Monitor error. Invalid request. Unable to parse the &lt;Monitor&gt; element"},
		{"<Other/>", "POST Monitor error. Invalid request. Unable to parse the &lt;Monitor&gt; element"},
	}
	for _, tc := range cases {
		code, _, body := c.do("POST", "/ws/Monitor", tc.body)
		want := `<?xml version="1.0" encoding="ISO-8859-1"?><result><error>` + tc.want + `</error></result>`
		if code != http.StatusBadRequest || body != want {
			t.Errorf("%s:\n got %d %s\nwant 400 %s", tc.body, code, body, want)
		}
	}
	if len(s.Monitors()) != 0 {
		t.Errorf("monitors created by bad requests: %v", s.Monitors())
	}
	for _, p := range []string{"/ws/Monitor/12345", "/ws/Monitor/abc", "/ws/Monitor/1/2"} {
		if code, _, body := c.do("GET", p, ""); code != http.StatusNotFound || !strings.Contains(body, "<error>") {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, _, _ := c.do("PATCH", "/ws/Monitor", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d", code)
	}
	for _, cond := range []string{"monFoo='x'", "monTopic='x' or", "monTopic='x' or or monStatus='y'", "monTopic=x", "monTopic='x", "monTopic='x' and"} {
		code, _, body := c.do("GET", "/ws/Monitor?condition="+url.QueryEscape(cond), "")
		r, _ := parseXMLResult(t, body)
		if code != http.StatusBadRequest || r.Error == "" {
			t.Errorf("condition %q: %d %s", cond, code, body)
		}
	}
	for _, q := range []string{"start=-1", "size=0", "size=x"} {
		if code, _, _ := c.do("GET", "/ws/Monitor?"+q, ""); code != http.StatusBadRequest {
			t.Errorf("%s: %d", q, code)
		}
	}
}

func TestRESTListConditionsAndPaging(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	var ids []uint32
	for i := range 5 {
		topic := "DeviceCore"
		if i%2 == 1 {
			topic = "DataPoint"
		}
		ids = append(ids, c.create("<Monitor><monTopic>"+topic+"</monTopic></Monitor>"))
	}
	ids = append(ids, c.create("<Monitor><monTopic>DeviceCore</monTopic><monTransportType>polling</monTransportType></Monitor>"))

	// Page through everything, two at a time, the way clients do.
	var seen []string
	start := 0
	for {
		_, _, body := c.do("GET", fmt.Sprintf("/ws/Monitor?start=%d&size=2", start), "")
		r, items := parseXMLResult(t, body)
		if r.ResultTotalRows != 6 || r.RequestedStartRow != start || r.RequestedSize != 2 || r.ResultSize != len(items) ||
			r.RemainingSize != 6-start-len(items) {
			t.Fatalf("page at %d: %+v", start, r)
		}
		for _, it := range items {
			seen = append(seen, it["monId"])
		}
		if r.RemainingSize == 0 {
			break
		}
		start += 2
	}
	if len(seen) != 6 || seen[0] != strconv.Itoa(int(ids[0])) || seen[5] != strconv.Itoa(int(ids[5])) {
		t.Fatalf("paged ids %v, want %v", seen, ids)
	}
	// Past the end.
	_, _, body := c.do("GET", "/ws/Monitor/.json?start=10", "")
	if jr := parseJSONResult(t, body); jr.ResultSize != "0" || jr.RemainingSize != "0" || len(jr.Items) != 0 {
		t.Errorf("past the end: %+v", jr)
	}

	for _, tc := range []struct {
		cond string
		want int
	}{
		{"monTopic='DeviceCore'", 4},
		{"monTopic='DeviceCore' and monTransportType='tcp'", 3},
		{"monTopic = 'DataPoint' AND monStatus='INACTIVE'", 2},
		{"monStatus='ACTIVE'", 0},
		{"monId='" + strconv.Itoa(int(ids[2])) + "'", 1},
		{"monDescription='it''s'", 0},
	} {
		_, _, body := c.do("GET", "/ws/Monitor/.json?condition="+url.QueryEscape(tc.cond), "")
		jr := parseJSONResult(t, body)
		if jr.ResultTotalRows != strconv.Itoa(tc.want) || len(jr.Items) != tc.want {
			t.Errorf("%s: %+v, want %d rows", tc.cond, jr, tc.want)
		}
	}
}

func TestRESTUpdateKickDelete(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	id := c.create(createBody)
	path := fmt.Sprintf("/ws/Monitor/%d", id)

	// Partial update: only the named elements change.
	if code, _, body := c.do("PUT", path, "<Monitor><monBatchSize>50</monBatchSize><monFormatType>xml</monFormatType></Monitor>"); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	info, _ := s.MonitorInfo(id)
	if sp := info.Spec; sp.BatchSize != 50 || sp.Format != "xml" || sp.Compression != "zlib" || !sp.AckExplicit ||
		strings.Join(sp.Topics, ",") != "DeviceCore,FileData" || info.Updates != 1 || info.Kicks != 0 {
		t.Errorf("after PUT: %+v", info)
	}
	// Kick.
	if code, _, body := c.do("PUT", path, fmt.Sprintf("<Monitor><monId>%d</monId></Monitor>", id)); code != 200 {
		t.Fatalf("kick: %d %s", code, body)
	}
	if info, _ := s.MonitorInfo(id); info.Kicks != 1 || info.Updates != 1 || info.Spec.BatchSize != 50 {
		t.Errorf("after kick: %+v", info)
	}
	// Bad PUTs change nothing.
	for _, tc := range []struct{ body, want string }{
		{"<Monitor><monTopic>Bogus</monTopic></Monitor>", "PUT Monitor error. Invalid request. Invalid monTopic specified"},
		{"<Monitor><monId>1</monId></Monitor>", "PUT Monitor error. Invalid request. Invalid monId specified"},
	} {
		code, _, body := c.do("PUT", path, tc.body)
		if code != 400 || !strings.Contains(body, "<error>"+tc.want+"</error>") {
			t.Errorf("%s: %d %s", tc.body, code, body)
		}
	}
	if info, _ := s.MonitorInfo(id); info.Updates != 1 || info.Kicks != 1 {
		t.Errorf("bad PUT counted: %+v", info)
	}
	if code, _, _ := c.do("PUT", "/ws/Monitor/999", "<Monitor/>"); code != 404 {
		t.Errorf("PUT unknown: %d", code)
	}
	// Delete.
	if code, _, _ := c.do("DELETE", path, ""); code != 200 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _, _ := c.do("GET", path, ""); code != 404 {
		t.Errorf("GET after DELETE: %d", code)
	}
	if code, _, _ := c.do("DELETE", path, ""); code != 404 {
		t.Errorf("second DELETE: %d", code)
	}
}

func TestRESTThrottle(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-"})
	defer s.Close()
	c := newREST(t, s)
	s.Throttle(2)
	for i, want := range []int{429, 429, 200, 200} {
		if code, _, _ := c.do("GET", "/ws/Monitor", ""); code != want {
			t.Errorf("call %d: %d, want %d", i, code, want)
		}
	}
}

// TestRESTPutAndDeleteAffectPush uses Handler directly (no HTTP listener)
// inside a synctest bubble.
func TestRESTPutAndDeleteAffectPush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		h := s.Handler()
		call := func(method, path, body string) int {
			req, _ := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
			req.SetBasicAuth("user", "password")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, BatchSize: 5, BatchDuration: time.Hour})
		rc := pipeClient(t, s)
		defer rc.Close()
		rc.mustConnect(id)
		blocks := rc.pump()
		s.Publish(dp("a", "b", 1), dp("a", "b", 2))
		synctest.Wait()
		expectNoBlock(t, blocks, "before the PUT")
		// Shrinking the batch applies to what is pending.
		if code := call("PUT", fmt.Sprintf("/ws/Monitor/%d", id), "<Monitor><monBatchSize>2</monBatchSize></Monitor>"); code != 200 {
			t.Fatalf("PUT %d", code)
		}
		if b := recv(t, blocks); b.Count != 2 {
			t.Fatalf("got %d events", b.Count)
		}
		// Switching to polling closes the push connection.
		if code := call("PUT", fmt.Sprintf("/ws/Monitor/%d", id), "<Monitor><monTransportType>polling</monTransportType></Monitor>"); code != 200 {
			t.Fatalf("PUT %d", code)
		}
		if _, ok := <-blocks; ok {
			t.Fatal("connection open after switching to polling")
		}
		if call("DELETE", fmt.Sprintf("/ws/Monitor/%d", id), "") != 200 || s.Connected(id) {
			t.Fatal("DELETE")
		}
	})
}
