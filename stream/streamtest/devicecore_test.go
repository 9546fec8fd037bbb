package streamtest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// GET /ws/DeviceCore: 401 on bad credentials; otherwise a small valid
// list, XML by default and JSON on request, of the devices the Generator
// simulates.
func TestDeviceCore(t *testing.T) {
	s := NewServer(Options{PushAddr: "-", PushTLSAddr: "-", Users: map[string]string{"ann": "pw"}})
	defer s.Close()
	c := newREST(t, s)
	for _, cred := range [][2]string{{"", ""}, {"ann", "wrong"}, {"user", "password"}} {
		c.user, c.pass = cred[0], cred[1]
		if code, hdr, body := c.do("GET", "/ws/DeviceCore", ""); code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("credentials %q: %d %s", cred[0], code, body)
		}
	}
	c.user, c.pass = "ann", "pw"

	code, hdr, body := c.do("GET", "/ws/DeviceCore", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/xml") {
		t.Fatalf("XML: %d %v %s", code, hdr, body)
	}
	var x struct {
		XMLName         xml.Name `xml:"result"`
		ResultTotalRows int      `xml:"resultTotalRows"`
		ResultSize      int      `xml:"resultSize"`
		Devices         []struct {
			ID struct {
				DevID      int `xml:"devId"`
				DevVersion int `xml:"devVersion"`
			} `xml:"id"`
			ConnectwareID string `xml:"devConnectwareId"`
			CstID         int    `xml:"cstId"`
		} `xml:"DeviceCore"`
	}
	dec := xml.NewDecoder(strings.NewReader(body))
	dec.CharsetReader = charsetReader
	if err := dec.Decode(&x); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if x.ResultTotalRows != 5 || x.ResultSize != 5 || len(x.Devices) != 5 || x.Devices[0].ID.DevID != 1000 ||
		!strings.HasPrefix(x.Devices[0].ConnectwareID, "00000000-00000000-00409DFF-FF") || x.Devices[0].CstID != DefaultCustomerID {
		t.Fatalf("XML list %+v", x)
	}

	c.accept = "application/json"
	code, hdr, body = c.do("GET", "/ws/DeviceCore?start=1&size=2", "")
	var j struct {
		ResultTotalRows, ResultSize, RemainingSize string
		Items                                      []struct {
			ID               struct{ DevID, DevVersion string }
			DevConnectwareID string
			DpDescription    string
		}
	}
	if err := json.Unmarshal([]byte(body), &j); err != nil || code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON: %d %v %s", code, err, body)
	}
	if j.ResultTotalRows != "5" || j.ResultSize != "2" || j.RemainingSize != "2" || len(j.Items) != 2 ||
		j.Items[0].ID.DevID != "1001" || j.Items[0].ID.DevVersion != "0" || j.Items[0].DpDescription != "dev2" {
		t.Fatalf("JSON page %+v", j)
	}
	c.accept = ""
	if code, _, _ := c.do("GET", "/ws/DeviceCore/.json?size=0", ""); code != http.StatusBadRequest {
		t.Errorf("size=0: %d", code)
	}
	if code, _, _ := c.do("POST", "/ws/DeviceCore", "<DeviceCore/>"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", code)
	}
	if code, _, _ := c.do("GET", "/ws/DeviceCore/nosuch", ""); code != http.StatusNotFound {
		t.Errorf("GET one: %d", code)
	}

}

// After Generate starts, GET /ws/DeviceCore lists its devices.
func TestDeviceCoreListsTheGeneratorsDevices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(offline())
		defer s.Close()
		list := func() string {
			req := httptest.NewRequest("GET", "/ws/DeviceCore/.json", nil)
			req.SetBasicAuth("user", "password")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			return rec.Body.String()
		}
		if body := list(); !strings.Contains(body, `"resultTotalRows":"5"`) {
			t.Fatalf("before Generate: %s", body)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Generate(ctx, Generator{Devices: 2, Rate: 1}) }()
		synctest.Wait() // Generate waits for its first tick
		body := list()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, `"resultTotalRows":"2"`) || !strings.Contains(body, `"dpDescription":"dev2"`) {
			t.Fatalf("after Generate with 2 devices: %s", body)
		}
	})
}
