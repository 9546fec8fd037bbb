package stream

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
)

const hookToken = "hook:" + SentinelPassword

func newTestReceiver(t *testing.T, cfg HTTPConfig) *HTTPReceiver {
	t.Helper()
	if cfg.Token.IsZero() {
		cfg.Token = secret.New(hookToken)
	}
	if cfg.MonitorID == 0 {
		cfg.MonitorID = 42
	}
	r, err := NewHTTPReceiver(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// push sends one request to r and returns the recorded answer. It runs
// ServeHTTP on the calling goroutine: the consumer must be reading.
func push(r http.Handler, method, body string, mod ...func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/push", strings.NewReader(body))
	req.SetBasicAuth("hook", SentinelPassword)
	for _, m := range mod {
		m(req)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

// pushAsync runs push on a goroutine and returns the answer's channel.
func pushAsync(r http.Handler, method, body string, mod ...func(*http.Request)) <-chan *httptest.ResponseRecorder {
	ch := make(chan *httptest.ResponseRecorder, 1)
	go func() { ch <- push(r, method, body, mod...) }()
	return ch
}

// take receives n events, failing after 10 s (of the bubble's clock
// inside synctest).
func take(t *testing.T, ch <-chan Event, n int) []Event {
	t.Helper()
	return takeWithin(t, ch, n, 10*time.Second)
}

// takeReal is take for a test on the real clock: it fails after two
// minutes, which only turns a hang into a failure, however busy the
// machine.
func takeReal(t *testing.T, ch <-chan Event, n int) []Event {
	t.Helper()
	return takeWithin(t, ch, n, 2*time.Minute)
}

func takeWithin(t *testing.T, ch <-chan Event, n int, d time.Duration) []Event {
	t.Helper()
	timeout := time.After(d)
	var out []Event
	for range n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d events", len(out))
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatalf("got %d events, want %d", len(out), n)
		}
	}
	return out
}

func expectNoEvent(t *testing.T, ch <-chan Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %v", ev)
		}
	default:
	}
}

const twoMsgs = `{"Document":{"Msg":[` +
	`{"topic":"1/DataPoint/d/t","operation":"INSERTION","timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"id":"a","data":1}},` +
	`{"topic":"1/DeviceCore/7","operation":"UPDATE","timestamp":"2025-01-01T00:00:01.000Z","DeviceCore":{"devConnectwareId":"X"}}]}}`

func TestHTTPReceiverDeliversThenAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestReceiver(t, HTTPConfig{})
		done := pushAsync(r, "PUT", twoMsgs)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("answered before the consumer took the events")
		default:
		}
		evs := take(t, r.Events(), 1)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("answered before the consumer took the last event")
		default:
		}
		evs = append(evs, take(t, r.Events(), 1)...)
		w := <-done
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		if evs[0].Topic != "1/DataPoint/d/t" || evs[0].Resource != "DataPoint" || evs[0].MonitorID != 42 ||
			evs[1].Operation != "UPDATE" || evs[1].Format != FormatJSON {
			t.Errorf("events %v", evs)
		}
		if st := r.Stats(); st.Delivered != 1 || st.Events != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestHTTPReceiverRefusals(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{Headers: []secret.String{secret.New("X-Api-Key: k-" + SentinelPassword)}, MaxBodySize: 1024})
	withKey := func(req *http.Request) { req.Header.Set("X-Api-Key", "k-"+SentinelPassword) }
	cases := []struct {
		name   string
		method string
		body   string
		mod    []func(*http.Request)
		want   int
	}{
		{"no auth", "PUT", twoMsgs, []func(*http.Request){withKey, func(r *http.Request) { r.Header.Del("Authorization") }}, 401},
		{"wrong token", "PUT", twoMsgs, []func(*http.Request){withKey, func(r *http.Request) { r.SetBasicAuth("hook", "wrong") }}, 401},
		{"wrong user", "PUT", twoMsgs, []func(*http.Request){withKey, func(r *http.Request) { r.SetBasicAuth("other", SentinelPassword) }}, 401},
		{"missing header", "PUT", twoMsgs, nil, 401},
		{"wrong header", "PUT", twoMsgs, []func(*http.Request){func(r *http.Request) { r.Header.Set("X-Api-Key", "nope") }}, 401},
		{"method", "GET", "", []func(*http.Request){withKey}, 405},
		{"oversized", "POST", strings.Repeat(" ", 1025) + "{}", []func(*http.Request){withKey}, 413},
		{"oversized without length", "POST", strings.Repeat(" ", 2000), []func(*http.Request){withKey, func(r *http.Request) { r.ContentLength = -1 }}, 413},
		{"malformed JSON", "PUT", `{"Document":{"Msg":[{"topic":"1/A/b"`, []func(*http.Request){withKey}, 400},
		{"malformed XML", "PUT", `<Document><Msg topic="1/A/b"><A></Msg></Document>`, []func(*http.Request){withKey}, 400},
		{"not a document", "PUT", `topic=1/A/b`, []func(*http.Request){withKey}, 400},
		{"bad zlib", "PUT", "\x78\x9c garbage", []func(*http.Request){withKey}, 400},
		{"unknown encoding", "PUT", twoMsgs, []func(*http.Request){withKey, func(r *http.Request) { r.Header.Set("Content-Encoding", "br") }}, 415},
	}
	for _, c := range cases {
		w := push(r, c.method, c.body, c.mod...)
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, w.Code, c.want, w.Body)
		}
		if c.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", c.name)
		}
		if strings.Contains(w.Body.String(), SentinelPassword) {
			t.Errorf("%s: answer shows the token", c.name)
		}
		expectNoEvent(t, r.Events())
	}
	// The receiver keeps working after all that.
	done := pushAsync(r, "POST", twoMsgs, withKey)
	takeReal(t, r.Events(), 2)
	if w := <-done; w.Code != 200 {
		t.Errorf("good request after refusals: %d", w.Code)
	}
	st := r.Stats()
	if st.Unauthorized != 5 || st.Rejected != 8 || st.Delivered != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHTTPReceiverKeepAlives(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	for _, body := range []string{"", "  \n", `{"Document":null}`, `{"Document":{}}`, `<Document/>`, `<Document></Document>`} {
		if w := push(r, "PUT", body); w.Code != 200 {
			t.Errorf("%q: %d", body, w.Code)
		}
	}
	expectNoEvent(t, r.Events())
	if st := r.Stats(); st.KeepAlives != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestHTTPReceiverFormatsAndCompression(t *testing.T) {
	one := `{"Document":{"Msg":{"topic":"1/DataPoint/d/t","operation":"INSERTION","timestamp":"2025-01-01T00:00:00Z","DataPoint":{"id":"one"}}}}`
	xmlDoc := `<Document><Msg topic="1/DataPoint/d/t" operation="insertion" timestamp="2025-01-01T00:00:00.000Z"><DataPoint><id>x1</id></DataPoint></Msg>` +
		`<Msg topic="1/DataPoint/d/u" operation="INSERTION" timestamp="2025-01-01T00:00:00.000Z" replay="true"><DataPoint><id>x2</id></DataPoint></Msg></Document>`
	zl := func(s string) string { return string(zlibOf([]byte(s))) }
	gz := func(s string) string {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	deflate := func(r *http.Request) { r.Header.Set("Content-Encoding", "deflate") }
	cases := []struct {
		name   string
		body   string
		mod    []func(*http.Request)
		n      int
		format protocol.Format
	}{
		{"json object", one, nil, 1, protocol.FormatJSON},
		{"json array", twoMsgs, nil, 2, protocol.FormatJSON},
		{"xml", xmlDoc, nil, 2, protocol.FormatXML},
		{"zlib labelled", zl(twoMsgs), []func(*http.Request){deflate}, 2, protocol.FormatJSON},
		{"zlib sniffed", zl(xmlDoc), nil, 2, protocol.FormatXML},
		{"gzip", gz(one), []func(*http.Request){func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }}, 1, protocol.FormatJSON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newTestReceiver(t, HTTPConfig{DedupWindow: -1})
			done := pushAsync(r, "POST", c.body, c.mod...)
			evs := takeReal(t, r.Events(), c.n)
			if w := <-done; w.Code != 200 {
				t.Fatalf("status %d %s", w.Code, w.Body)
			}
			for _, ev := range evs {
				if ev.Format != formatOf(c.format) || ev.Raw || ev.Resource == "" || ev.Operation == "" {
					t.Errorf("event %+v", ev)
				}
			}
			if c.format == protocol.FormatXML && (!evs[1].Replay || evs[0].Operation != "INSERTION") {
				t.Errorf("xml events %+v", evs)
			}
		})
	}
	r := newTestReceiver(t, HTTPConfig{MaxDecompressed: 100})
	if w := push(r, "PUT", zl(strings.Repeat(" ", 200)+"{}")); w.Code != 413 {
		t.Errorf("inflating past the limit: %d", w.Code)
	}
}

// TestHTTPReceiverRawTemplateOutput: a templated monitor's body is delivered
// whole, and decodes into the user's own type.
func TestHTTPReceiverRawTemplateOutput(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	done := pushAsync(r, "PUT", `{"values":[1.5,2],"source":"template"}`)
	ev := takeReal(t, r.Events(), 1)[0]
	if w := <-done; w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if !ev.Raw || ev.Format != FormatJSON || ev.MonitorID != 42 {
		t.Errorf("event %+v", ev)
	}
	var mine struct {
		Values []float64 `json:"values"`
		Source string    `json:"source"`
	}
	if err := ev.Decode(&mine); err != nil || len(mine.Values) != 2 || mine.Values[0] != 1.5 || mine.Source != "template" {
		t.Errorf("decoded %+v, %v", mine, err)
	}
}

func TestHTTPReceiverDropsRedeliveries(t *testing.T) {
	r := newTestReceiver(t, HTTPConfig{})
	done := pushAsync(r, "PUT", twoMsgs)
	takeReal(t, r.Events(), 2)
	<-done
	// The server did not see the 200 and pushes the block again: nothing
	// new, answered 200 at once.
	if w := push(r, "PUT", twoMsgs); w.Code != 200 {
		t.Fatalf("redelivery: %d", w.Code)
	}
	expectNoEvent(t, r.Events())
	if st := r.Stats(); st.Duplicates != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestHTTPReceiverStopAnd503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		r, err := NewHTTPReceiver(ctx, HTTPConfig{MonitorID: 1, Token: secret.New(hookToken)})
		if err != nil {
			t.Fatal(err)
		}
		// A request whose events nobody takes, then the receiver stops.
		done := pushAsync(r, "PUT", twoMsgs)
		synctest.Wait()
		cancel()
		w := <-done
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Errorf("stopped during hand-off: %d", w.Code)
		}
		<-r.Done()
		if _, ok := <-r.Events(); ok {
			t.Error("Events not closed")
		}
		if w := push(r, "PUT", twoMsgs); w.Code != 503 {
			t.Errorf("after stop: %d", w.Code)
		}
		if r.State() != StateStopped || r.Close() != nil {
			t.Error("state or Close after stop")
		}
		if st := r.Stats(); st.Unavailable != 2 || st.Undelivered != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestHTTPReceiverHandoffTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newTestReceiver(t, HTTPConfig{HandoffTimeout: 3 * time.Second})
		start := time.Now()
		w := push(r, "PUT", twoMsgs) // nobody reads
		if w.Code != 503 || time.Since(start) != 3*time.Second {
			t.Errorf("status %d after %v", w.Code, time.Since(start))
		}
		// Half taken, then the consumer stalls: 503, and the retry
		// delivers only the rest.
		done := pushAsync(r, "PUT", twoMsgs)
		first := take(t, r.Events(), 1)
		if w := <-done; w.Code != 503 {
			t.Errorf("stalled consumer: %d", w.Code)
		}
		done = pushAsync(r, "PUT", twoMsgs)
		rest := take(t, r.Events(), 1)
		if w := <-done; w.Code != 200 {
			t.Errorf("retry: %d", w.Code)
		}
		if first[0].Resource != "DataPoint" || rest[0].Resource != "DeviceCore" {
			t.Errorf("events %v then %v", first, rest)
		}
	})
}

func TestHTTPReceiverConcurrentRequestsDoNotInterleave(t *testing.T) {
	const reqs = 8
	r := newTestReceiver(t, HTTPConfig{DedupWindow: -1, MaxConcurrent: reqs})
	var wg sync.WaitGroup
	for i := range reqs {
		var msgs []string
		for j := range 5 {
			msgs = append(msgs, fmt.Sprintf(`{"topic":"1/DataPoint/r%d","operation":"INSERTION","timestamp":"2025-01-01T00:00:0%d.000Z","DataPoint":{"id":"%d-%d"}}`, i, j, i, j))
		}
		body := `{"Document":{"Msg":[` + strings.Join(msgs, ",") + `]}}`
		wg.Go(func() {
			if w := push(r, "POST", body); w.Code != 200 {
				t.Errorf("request %d: %d", i, w.Code)
			}
		})
	}
	evs := takeReal(t, r.Events(), reqs*5)
	wg.Wait()
	for i := 0; i < len(evs); i += 5 {
		for j := 1; j < 5; j++ {
			if evs[i+j].Topic != evs[i].Topic {
				t.Fatalf("requests interleaved at %d: %s after %s", i+j, evs[i+j].Topic, evs[i].Topic)
			}
		}
	}
}

func TestHTTPReceiverConfig(t *testing.T) {
	for _, cfg := range []HTTPConfig{{Token: secret.New("no-colon")}, {Headers: []secret.String{secret.New("no colon")}}, {Headers: []secret.String{secret.New(": v")}}, {MaxBodySize: -1},
		// Headers a handler never sees, or that the Token's own header
		// takes: every push would be refused 401.
		{AllowUnauthenticated: true, Headers: []secret.String{secret.New("host: rm.example")}},
		{AllowUnauthenticated: true, Headers: []secret.String{secret.New("Transfer-Encoding: chunked")}},
		{Token: secret.New("u:p"), Headers: []secret.String{secret.New("authorization: Bearer x")}}} {
		if _, err := NewHTTPReceiver(context.Background(), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: %v", cfg, err)
		}
	}
	// Without a Token, a gateway's Authorization header is a header like
	// any other.
	if r, err := NewHTTPReceiver(t.Context(), HTTPConfig{AllowUnauthenticated: true, Headers: []secret.String{secret.New("Authorization: Bearer x")}}); err != nil {
		t.Errorf("Authorization without a Token: %v", err)
	} else {
		r.Close()
	}
	cfg := HTTPConfig{MonitorID: 3, Token: secret.New(hookToken), Headers: []secret.String{secret.New("X-Key: " + SentinelPassword)}}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v %#v", cfg, cfg), cfg.LogValue().String()} {
		if containsSecret(s) {
			t.Errorf("config printed with a secret: %s", s)
		}
	}
	// Nor the receiver built from it, in Go syntax or any verb: the
	// credentials it checks are secrets too.
	rcv, err := NewHTTPReceiver(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, rcv)
	for _, verb := range []string{"%d", "%+d", "%#v"} {
		s := fmt.Sprintf(verb, rcv)
		if containsSecret(s) || strings.Contains(s, fmt.Sprint([]byte(SentinelPassword))) {
			t.Errorf("receiver printed with %s shows a secret: %s", verb, s)
		}
	}
	rcv.Close()
	// No token: refused unless AllowUnauthenticated says so.
	if _, err := NewHTTPReceiver(t.Context(), HTTPConfig{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("no token: %v", err)
	}
	open, _ := NewHTTPReceiver(t.Context(), HTTPConfig{AllowUnauthenticated: true})
	defer open.Close()
	req := httptest.NewRequest("PUT", "/", strings.NewReader(`{"Document":null}`))
	w := httptest.NewRecorder()
	open.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("open receiver: %d", w.Code)
	}
}
