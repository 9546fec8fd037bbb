package streamtest

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookRecv is a test endpoint for http monitors: it records every request
// and answers with the status status() returns.
type hookRecv struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []hookReq
	status atomic.Int32
	got    chan hookReq
}

type hookReq struct {
	method string
	header http.Header
	body   []byte // inflated when Content-Encoding says so
	user   string
	pass   string
}

func newHookRecv(t *testing.T) *hookRecv {
	h := &hookRecv{got: make(chan hookReq, 100)}
	h.status.Store(200)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		body := raw
		if r.Header.Get("Content-Encoding") == "deflate" {
			zr, err := zlib.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Errorf("deflate body: %v", err)
			} else {
				body, _ = io.ReadAll(zr)
			}
		}
		u, p, _ := r.BasicAuth()
		req := hookReq{r.Method, r.Header.Clone(), body, u, p}
		h.mu.Lock()
		h.reqs = append(h.reqs, req)
		h.mu.Unlock()
		w.WriteHeader(int(h.status.Load()))
		select {
		case h.got <- req:
		default:
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookRecv) next(t *testing.T) hookReq {
	t.Helper()
	select {
	case r := <-h.got:
		return r
	case <-time.After(2 * time.Minute): // only turns a hang into a failure
		t.Fatal("no push arrived")
		return hookReq{}
	}
}

func fastHTTP() Options {
	return Options{PushAddr: "-", PushTLSAddr: "-", HTTPRetryInterval: 20 * time.Millisecond, HTTPDisableAfter: time.Hour}
}

func TestHTTPSenderRequestShape(t *testing.T) {
	s := NewServer(fastHTTP())
	defer s.Close()
	h := newHookRecv(t)
	id := s.CreateMonitor(MonitorSpec{
		Topics: []string{"DataPoint"}, Transport: "http", TransportURL: h.URL + "/push?k=v",
		TransportToken: "hook:s3cret", TransportMethod: "POST", TransportHeaders: "X-Api-Key: abc\nX-Two: 2",
		BatchSize: 2, BatchDuration: time.Hour, Compression: "zlib",
	})
	s.Publish(dp("d1", "t", 1), dp("d2", "t", 2))
	r := h.next(t)
	if r.method != "POST" || r.user != "hook" || r.pass != "s3cret" || r.header.Get("X-Api-Key") != "abc" ||
		r.header.Get("X-Two") != "2" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("request %+v", r)
	}
	msgs, _, err := decodeJSONDoc(r.body)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("document %s: %v", r.body, err)
	}
	if err := s.WaitStatus(context.Background(), id, StatusActive); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(id); st.EventsAcked != 2 || st.BlocksSent != 1 {
		t.Errorf("stats %+v", st)
	}

	// XML, PUT (the default), no token.
	xid := s.CreateMonitor(MonitorSpec{Topics: []string{"DeviceCore"}, Transport: "http", TransportURL: h.URL, Format: "xml", BatchDuration: -1})
	s.Publish(Event{Topic: "DeviceCore/7", Body: map[string]any{"devId": 7}})
	r = h.next(t)
	if r.method != "PUT" || r.user != "" || r.header.Get("Content-Type") != "application/xml" || !bytes.HasPrefix(r.body, []byte("<Document><Msg")) {
		t.Errorf("xml request %+v %s", r, r.body)
	}
	if err := s.WaitIdle(context.Background(), xid); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPSenderRetriesThenDelivers(t *testing.T) {
	s := NewServer(fastHTTP())
	defer s.Close()
	h := newHookRecv(t)
	h.status.Store(503)
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: h.URL, BatchDuration: -1})
	s.Publish(dp("d1", "t", 1))
	first := h.next(t)
	if err := s.WaitStatus(context.Background(), id, StatusConnecting); err != nil {
		t.Fatal(err)
	}
	h.next(t) // a retry
	h.status.Store(200)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only turns a hang into a failure
	defer cancel()
	if err := s.WaitIdle(ctx, id); err != nil {
		t.Fatal(err)
	}
	var last hookReq
	for len(h.got) > 0 {
		last = <-h.got
	}
	if last.body != nil && !bytes.Equal(last.body, first.body) {
		t.Errorf("retry sent another document:\n%s\n%s", first.body, last.body)
	}
	atts := s.HTTPAttempts(id)
	if len(atts) < 3 || !atts[len(atts)-1].Delivered || atts[0].Status != 503 || atts[0].Delivered {
		t.Fatalf("attempts %+v", atts)
	}
	for i := 1; i < len(atts); i++ {
		if gap := atts[i].At.Sub(atts[i-1].At); gap < 15*time.Millisecond {
			t.Errorf("attempt %d only %v after the previous one", i, gap)
		}
	}
	if info, _ := s.MonitorInfo(id); info.Status != StatusActive || info.Stats.EventsAcked != 1 {
		t.Errorf("info %+v", info)
	}
}

func TestHTTPSenderDisablesAndResets(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		name := map[bool]string{false: "non-persistent", true: "persistent"}[persistent]
		t.Run(name, func(t *testing.T) {
			opts := fastHTTP()
			opts.HTTPDisableAfter = 100 * time.Millisecond
			s := NewServer(opts)
			defer s.Close()
			h := newHookRecv(t)
			h.status.Store(500)
			id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: h.URL,
				BatchDuration: -1, Persistent: persistent})
			s.Publish(dp("d1", "t", 1))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only turns a hang into a failure
			defer cancel()
			if err := s.WaitStatus(ctx, id, StatusDisabled); err != nil {
				t.Fatal(err)
			}
			n := len(s.HTTPAttempts(id))
			s.Publish(dp("d2", "t", 2))
			time.Sleep(60 * time.Millisecond) // three retry intervals: nothing may be sent
			if m := len(s.HTTPAttempts(id)); m != n {
				t.Errorf("%d attempts while DISABLED", m-n)
			}
			h.status.Store(200)
			// A reset through the v1 API.
			c := newREST(t, s)
			if code, _, body := c.do("POST", "/ws/v1/monitors/inventory/"+itoa(id)+"/reset", ""); code != 200 {
				t.Fatalf("reset: %d %s", code, body)
			}
			if persistent {
				if err := s.WaitIdle(ctx, id); err != nil {
					t.Fatal(err)
				}
				if st := s.Stats(id); st.EventsAcked != 2 || st.Dropped != 0 {
					t.Errorf("persistent: stats %+v", st)
				}
				return
			}
			if st := s.Stats(id); st.Dropped != 1 {
				t.Errorf("non-persistent: %d dropped, want the first event", st.Dropped)
			}
			s.Publish(dp("d3", "t", 3))
			if err := s.WaitIdle(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := s.WaitStatus(ctx, id, StatusActive); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(id); st.EventsAcked != 1 {
				t.Errorf("non-persistent after reset: %+v", st)
			}
		})
	}
}

func TestHTTPSenderStopsOnDeleteAndClose(t *testing.T) {
	s := NewServer(fastHTTP())
	h := newHookRecv(t)
	h.status.Store(500)
	id := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: h.URL, BatchDuration: -1})
	keep := s.CreateMonitor(MonitorSpec{Topics: []string{"DataPoint"}, Transport: "http", TransportURL: h.URL, BatchDuration: -1})
	s.Publish(dp("d1", "t", 1))
	h.next(t)
	s.DeleteMonitor(id)
	// Turning an http monitor into a polling one stops its sender too.
	c := newREST(t, s)
	if code, _, body := c.do("PUT", "/ws/Monitor/"+itoa(keep), "<Monitor><monTransportType>polling</monTransportType></Monitor>"); code != 200 {
		t.Fatalf("update: %d %s", code, body)
	}
	s.Close() // goleak in TestMain checks that the senders are gone
	if s.Connected(id) {
		t.Error("connected after close")
	}
}

func itoa(id uint32) string { return strconv.FormatUint(uint64(id), 10) }
