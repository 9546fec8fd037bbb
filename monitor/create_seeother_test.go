package monitor

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A create answered 303 See Other: the monitor was created, and the
// Location names it. The client follows it with a GET to the same origin
// (as it does every 303) and takes the id from where it led, when that is
// /ws/Monitor/{id} or /ws/v1/monitors/inventory/{id}, and from the
// monitor the GET answers with; the two must agree. Before, Create read
// the GET's answer as a create answer, found no <location> in it and
// reported a malformed answer ("the monitor may have been created").
func TestCreateSeeOther(t *testing.T) {
	v1Monitor := `{"id":%s,"topics":["DataPoint"],"type":"tcp"}`
	cases := []struct {
		name     string
		location string
		answer   func(w http.ResponseWriter, r *http.Request)
		want     uint32 // 0: an error matching ErrMalformedResponse
	}{
		{"v1 path and v1 monitor", "/ws/v1/monitors/inventory/77", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strings.Replace(v1Monitor, "%s", "77", 1))
		}, 77},
		{"legacy path and legacy XML monitor", "/ws/Monitor/78", func(w http.ResponseWriter, r *http.Request) {
			writeList(w, []item{{"monId": "78", "monTopic": "DataPoint"}}, 0, 1, 1, true)
		}, 78},
		{"v1 path and empty answer", "/ws/v1/monitors/inventory/80/", func(w http.ResponseWriter, r *http.Request) {}, 80},
		{"other path, the monitor in the answer", "/elsewhere/new", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strings.Replace(v1Monitor, "%s", "79", 1))
		}, 79},
		{"relative Location", "Monitor/81", func(w http.ResponseWriter, r *http.Request) {
			writeList(w, []item{{"monId": "81", "monTopic": "DataPoint"}}, 0, 1, 1, false)
		}, 81},
		{"path and answer disagree", "/ws/v1/monitors/inventory/82", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, strings.Replace(v1Monitor, "%s", "83", 1))
		}, 0},
		{"no id anywhere", "/elsewhere/new", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"ok":true}`)
		}, 0},
	}
	for _, tc := range cases {
		for _, api := range []string{"legacy", "v1"} {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					w.Header().Set("Location", tc.location)
					w.WriteHeader(http.StatusSeeOther)
					return
				}
				tc.answer(w, r)
			})
			c := fs.client()
			spec := Spec{Topics: []string{"DataPoint"}, Token: sec("hook:tok-pw")}
			var id uint32
			var err error
			if api == "legacy" {
				id, err = c.Create(t.Context(), spec)
			} else {
				var m *Monitor
				if m, err = c.V1().Create(t.Context(), spec); m != nil {
					id = m.ID
				}
			}
			switch {
			case tc.want == 0 && !errors.Is(err, ErrMalformedResponse):
				t.Errorf("%s, %s: Create = %d, %v; want an error matching ErrMalformedResponse", tc.name, api, id, err)
			case tc.want != 0 && (err != nil || id != tc.want):
				t.Errorf("%s, %s: Create = %d, %v; want %d", tc.name, api, id, err, tc.want)
			}
			reqs := fs.requests()
			if len(reqs) != 2 || reqs[0].Method != http.MethodPost || reqs[1].Method != http.MethodGet || len(reqs[1].Body) != 0 {
				t.Errorf("%s, %s: requests %v, want the POST and one GET without a body", tc.name, api, methods(reqs))
			}
		}
	}
}

// A 303 answering a create is the server's word that it served the POST:
// when the GET it leads to fails, even with a status that is retried (429,
// 503), the POST is not sent again — that would create a second monitor —
// and the error is the GET's *APIError.
func TestCreateSeeOtherFailedGetNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusNotFound} {
		fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set("Location", "/ws/v1/monitors/inventory/77")
				w.WriteHeader(http.StatusSeeOther)
				return
			}
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
		})
		c := fs.client(WithRetry(3, 1)) // 1 ns: no real wait
		_, err := c.Create(t.Context(), Spec{Topics: []string{"DataPoint"}})
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != status || ae.Method != http.MethodGet {
			t.Errorf("%d: Create = %v, want the GET's *APIError", status, err)
		}
		if posts := strings.Count(strings.Join(methods(fs.requests()), " "), http.MethodPost); posts != 1 {
			t.Errorf("%d: %d POSTs, want 1: %v", status, posts, methods(fs.requests()))
		}
	}
}

// A 303 to another origin is refused as every redirect there is: the
// account's credentials go only to the base URL's origin.
func TestCreateSeeOtherOtherOriginRefused(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s %s reached another origin (with Authorization: %v)", r.Method, r.URL.Path, r.Header.Get("Authorization") != "")
	}))
	defer other.Close()
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", other.URL+"/ws/v1/monitors/inventory/77")
		w.WriteHeader(http.StatusSeeOther)
	})
	if _, err := fs.client().Create(t.Context(), Spec{Topics: []string{"DataPoint"}}); !errors.Is(err, ErrRedirectRefused) {
		t.Errorf("Create = %v, want ErrRedirectRefused", err)
	}
}

func methods(reqs []recorded) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}
