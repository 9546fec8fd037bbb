package monitor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pushmon/pushmon/secret"
)

func TestAuthAndHeaders(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, "<result/>")
	})
	c := NewClient(fs.URL+"/", WithHTTPClient(fs.Client()), WithBasicAuth("alice", "pä:ss"), WithUserAgent("probe/1"))
	if err := c.Delete(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	r := fs.requests()[0]
	if r.Path != "/ws/Monitor/1" {
		t.Errorf("path %q (trailing slash on the base URL must not double)", r.Path)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pä:ss"))
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := r.Header.Get("User-Agent"); got != "probe/1" {
		t.Errorf("User-Agent = %q", got)
	}
}

func TestBaseURLPrefixAndEmbeddedCredentials(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, "<result/>")
	})
	u := strings.Replace(fs.URL, "http://", "http://bob:url-secret@", 1) + "/prefix/"
	c := NewClient(u, WithHTTPClient(fs.Client()))
	if err := c.Reset(context.Background(), 77); err != nil {
		t.Fatal(err)
	}
	r := fs.requests()[0]
	if r.Path != "/prefix/ws/Monitor/77" {
		t.Errorf("path %q", r.Path)
	}
	user, pass, ok := (&http.Request{Header: r.Header}).BasicAuth()
	if !ok || user != "bob" || pass != "url-secret" {
		t.Errorf("BasicAuth = %q %q %v", user, pass, ok)
	}
	if ua := r.Header.Get("User-Agent"); ua != DefaultUserAgent {
		t.Errorf("User-Agent = %q", ua)
	}
	if s := c.String(); strings.Contains(s, "url-secret") {
		t.Errorf("String leaks: %s", s)
	}
	// WithBasicAuth wins over URL credentials.
	c = NewClient(u, WithHTTPClient(fs.Client()), WithBasicAuth("carol", "opt"))
	if err := c.Reset(context.Background(), 77); err != nil {
		t.Fatal(err)
	}
	if user, _, _ := (&http.Request{Header: fs.requests()[1].Header}).BasicAuth(); user != "carol" {
		t.Errorf("user %q, want carol", user)
	}
}

func TestInvalidConfig(t *testing.T) {
	const secret = "SENTINEL-cfg-pw"
	for name, c := range map[string]*Client{
		"no scheme":      NewClient("remotemanager.digi.com"),
		"ftp":            NewClient("ftp://host"),
		"no host":        NewClient("https://"),
		"unparseable":    NewClient("https://u:" + secret + "@host:port%zz"),
		"colon in user":  NewClient("https://host", WithBasicAuth("a:b", secret)),
		"control in url": NewClient("https://u:" + secret + "@host/\x7f"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.List(context.Background(), "")
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", c, c), secret) {
				t.Errorf("secret leaked: %v / %+v", err, c)
			}
		})
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	c := NewClient("https://remotemanager.digi.com", WithHTTPClient(nil), WithUserAgent(""), WithPageSize(0), nil)
	defer c.CloseIdleConnections()
	if c.hc.Timeout != DefaultTimeout {
		t.Errorf("timeout %v", c.hc.Timeout)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatalf("transport %T without a proxy function", c.hc.Transport)
	}
	if tr == http.DefaultTransport {
		t.Error("the shared DefaultTransport must be cloned, not used")
	}
	if c.userAgent != DefaultUserAgent || c.pageSize != DefaultPageSize || c.retry != defaultRetryPolicy() {
		t.Errorf("defaults not kept: %q %d %+v", c.userAgent, c.pageSize, c.retry)
	}
	// And it talks to a server.
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, "<result/>") })
	c2 := NewClient(fs.URL)
	defer c2.CloseIdleConnections()
	if err := c2.Delete(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
}

func TestRequestContextCancelled(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeXML(w, 200, "<result/>") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := fs.client().Delete(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(fs.requests()); n != 0 {
		t.Errorf("%d requests sent with a cancelled context", n)
	}
}

func TestOversizedBody(t *testing.T) {
	c := inMemoryClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"items":[`))
		_, _ = w.Write(bytes.Repeat([]byte(" "), maxBodySize))
	}))
	if _, err := c.List(context.Background(), ""); !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
}

// The password, token and header secrets must not appear in any error, fmt
// or slog output.
func TestRedaction(t *testing.T) {
	const (
		password = "Pw-SENTINEL-9f3"
		token    = "Tok-SENTINEL-77"
		hdr      = "Hdr-SENTINEL-55"
	)
	secrets := []string{password, token, hdr, base64.StdEncoding.EncodeToString([]byte("tester:" + password))}
	check := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) || strings.Contains(strings.ToLower(s), fmt.Sprintf("%x", sec)) {
				t.Errorf("%s leaks %q: %s", what, sec, s)
			}
		}
	}

	// A server that echoes the whole request, headers included, into its
	// error message.
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_ = r.Header.Write(&b)
		body := new(bytes.Buffer)
		_, _ = body.ReadFrom(r.Body)
		msg := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(b.String() + body.String())
		writeXML(w, 400, "<result><error>"+msg+"</error></result>")
	})
	c := NewClient(fs.URL, WithHTTPClient(fs.Client()), WithBasicAuth("tester", password), WithRetry(0, 0))
	spec := Spec{
		Topics: []string{"DeviceCore"}, Transport: TransportHTTP,
		URL:     "https://hooks.example.com/in",
		Token:   sec("hookuser:" + token),
		Headers: headers("X-Api-Key: " + hdr),
	}
	_, err := c.Create(context.Background(), spec)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v, want ErrBadRequest", err)
	}
	var ae *APIError
	errors.As(err, &ae)
	if !strings.Contains(ae.Message, "Authorization: Basic [REDACTED]") || !strings.Contains(ae.Message, "<monTransportToken>[REDACTED]</monTransportToken>") {
		t.Errorf("echo not scrubbed as expected: %s", ae.Message)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		check("error "+verb, fmt.Sprintf(verb, err))
	}
	err = c.Update(context.Background(), 4, spec)
	check("update error", fmt.Sprintf("%v", err))

	m := Monitor{ID: 1, Spec: spec, Status: StatusActive}
	// A caller's own structs, the secrets in exported and unexported fields:
	// fmt cannot call methods on unexported fields, so only types that
	// redact themselves keep them hidden there.
	type wrapper struct {
		S Spec
		M Monitor
		C *Client
	}
	type hidden struct {
		spec  Spec
		mon   Monitor
		mons  []Monitor
		cl    Client
		clp   *Client
		specp *Spec
	}
	values := map[string]any{
		"*Client": c, "Client": *c, "Spec": spec, "*Spec": &spec, "Monitor": m, "*Monitor": &m,
		"[]Monitor": []Monitor{m}, "wrapper": wrapper{spec, m, c}, "Option": WithBasicAuth("x", password),
		"hidden": hidden{spec, m, []Monitor{m}, *c, c, &spec}, "*hidden": &hidden{spec, m, []Monitor{m}, *c, c, &spec},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%T"} {
			check(name+" "+verb, fmt.Sprintf(verb, v))
		}
		check(name+" Sprint", fmt.Sprint(v))
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
		check(name+" slog", buf.String())
		if b, err := json.Marshal(v); err == nil {
			check(name+" JSON", string(b))
		}
	}
	// The default forms still say something useful.
	if s := fmt.Sprintf("%+v", spec); !strings.Contains(s, "Token:[REDACTED]") || !strings.Contains(s, "Headers:[[REDACTED]]") ||
		!strings.Contains(s, "hooks.example.com") {
		t.Errorf("Spec %%+v = %s", s)
	}
	if s := fmt.Sprint(c); !strings.Contains(s, "user tester") || !strings.Contains(s, fs.URL) {
		t.Errorf("Client String = %s", s)
	}
}

func TestMarshalJSONRedactsButKeepsShape(t *testing.T) {
	m := Monitor{ID: 9, CustomerID: 3, Status: StatusActive,
		Spec: Spec{Topics: []string{"A"}, Token: sec("u:Tok-SENTINEL"), Headers: headers("X-K: Hdr-SENTINEL"), BatchSize: 5}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["ID"] != 9.0 || got["Status"] != "ACTIVE" || got["BatchSize"] != 5.0 || got["Token"] != secret.Redacted {
		t.Errorf("Monitor JSON = %s", b)
	}
	if strings.Contains(string(b), "SENTINEL") {
		t.Errorf("Monitor JSON leaks: %s", b)
	}
	// Decoding a Spec still reads every field.
	var s Spec
	if err := json.Unmarshal([]byte(`{"Topics":["A"],"Token":"u:p","Headers":["X-A: 1"]}`), &s); err != nil ||
		s.Token.Reveal() != "u:p" || len(s.Headers) != 1 || s.Headers[0].Reveal() != "X-A: 1" {
		t.Errorf("Unmarshal = %+v, %v", s, err)
	}
}
