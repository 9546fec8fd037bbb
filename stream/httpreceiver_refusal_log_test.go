package stream

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// TestHTTPReceiverRefusalLogThrottled: a sender repeating a refused push
// as fast as it can gets every answer, and HTTPStats counts each, but the
// log has at most one line a minute per status; the next line of that
// status says how many were not logged. A refusal of another status is
// logged at once. Before, every refusal wrote a WARN line.
func TestHTTPReceiverRefusalLogThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		r, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New("hook:pw"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		push := func(method, password string) int {
			req := httptest.NewRequest(method, "/", strings.NewReader(`{"Document":null}`))
			req.SetBasicAuth("hook", password)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			return w.Code
		}
		refused := func() []string {
			var out []string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, `msg="push refused"`) {
					out = append(out, l)
				}
			}
			return out
		}
		for range 50 {
			if c := push("PUT", "wrong"); c != 401 {
				t.Fatalf("wrong password: %d", c)
			}
		}
		if c := push("GET", "pw"); c != 405 {
			t.Fatalf("GET: %d", c)
		}
		if got := refused(); len(got) != 2 || !strings.Contains(got[0], "status=401") || !strings.Contains(got[1], "status=405") {
			t.Fatalf("log lines after 50 refusals 401 and one 405: %q, want one of each", got)
		}
		if st := r.Stats(); st.Unauthorized != 50 {
			t.Errorf("Unauthorized %d, want 50", st.Unauthorized)
		}
		time.Sleep(refusalWindow - time.Second)
		push("PUT", "wrong")
		if n := len(refused()); n != 2 {
			t.Errorf("%d lines, want still 2 within the minute", n)
		}
		time.Sleep(time.Second)
		push("PUT", "wrong")
		got := refused()
		if len(got) != 3 || !strings.Contains(got[2], "status=401") || !strings.Contains(got[2], "not_logged_since=50") {
			t.Errorf("log lines after the minute: %q, want a third, of 401, saying 50 were not logged", got)
		}
		if strings.Contains(logs.String(), "wrong") {
			t.Error("the password offered was logged")
		}
	})
}

// TestHTTPReceiverRefusalLogSummarisedAtClose: refusals held back within
// the minute are told when the receiver stops, if no later refusal of
// their status told them: the log would otherwise never say that they
// happened (HTTPStats alone counts them).
func TestHTTPReceiverRefusalLogSummarisedAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		r, err := NewHTTPReceiver(t.Context(), HTTPConfig{Token: secret.New("hook:pw"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		for range 7 {
			req := httptest.NewRequest("PUT", "/", strings.NewReader(`{"Document":null}`))
			req.SetBasicAuth("hook", "wrong")
			r.ServeHTTP(httptest.NewRecorder(), req)
		}
		r.Close()
		var got []string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "status=401") {
				got = append(got, l)
			}
		}
		if len(got) != 2 || !strings.Contains(got[1], "not_logged_since=6") {
			t.Errorf("401 lines once the receiver stopped: %q, want the first refusal and then a summary of the 6 not logged", got)
		}
	})
}
