package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// A field the server names twice in one monitor or one create answer,
// with two values: which one holds cannot be told (encoding/json and
// encoding/xml keep the last, a reader of the first line the first), and
// the id taken is one the caller later deletes or streams. As the event
// parser does with a repeated envelope field, the client refuses it with
// an error matching ErrMalformedResponse rather than pick one.

// TestCreateWithTwoLocationsIsMalformed: a legacy create answer naming two
// monitors, in XML or JSON.
func TestCreateWithTwoLocationsIsMalformed(t *testing.T) {
	for name, write := range map[string]func(http.ResponseWriter){
		"XML": func(w http.ResponseWriter) {
			writeXML(w, http.StatusCreated, `<result><location>Monitor/5</location><location>Monitor/7</location></result>`)
		},
		"JSON": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"location":"Monitor/5","Location":"Monitor/7"}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { write(w) })
			id, err := fs.client().Create(context.Background(), Spec{Topics: []string{"DataPoint"}})
			if !errors.Is(err, ErrMalformedResponse) || id != 0 {
				t.Errorf("Create = %d, %v; want 0 and an error matching ErrMalformedResponse", id, err)
			}
		})
	}

	// The same location twice names one monitor.
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, http.StatusCreated, `<result><location>Monitor/5</location><location>Monitor/5</location></result>`)
	})
	if id, err := fs.client().Create(context.Background(), Spec{Topics: []string{"DataPoint"}}); id != 5 || err != nil {
		t.Errorf("Create with one location twice = %d, %v; want 5", id, err)
	}
}

// TestMonitorWithRepeatedFieldIsMalformed: a monitor of a legacy answer
// (XML or JSON) or a v1 answer whose id is named twice.
func TestMonitorWithRepeatedFieldIsMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"legacy XML":  `<result><Monitor><monId>5</monId><monTopic>DataPoint</monTopic><monId>7</monId></Monitor></result>`,
		"legacy JSON": `{"remainingSize":"0","items":[{"monId":"7","monTopic":"DataPoint","monId":"5"}]}`,
		"v1":          `{"count":1,"list":[{"id":7,"topics":["DataPoint"],"id":5}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ms, err := listAnswer(t, name == "v1", body)
			if !errors.Is(err, ErrMalformedResponse) || ms != nil {
				t.Errorf("List = %v, %v; want nil and an error matching ErrMalformedResponse", ms, err)
			}
		})
	}
}

// TestV1CreateWithTwoIDsIsMalformed: a v1 create answer whose monitor
// object names two ids.
func TestV1CreateWithTwoIDsIsMalformed(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":5,"topics":["DataPoint"],"id":7}`))
	})
	m, err := fs.client().V1().Create(context.Background(), Spec{Topics: []string{"DataPoint"}})
	if !errors.Is(err, ErrMalformedResponse) || m != nil {
		t.Errorf("V1 Create = %v, %v; want nil and an error matching ErrMalformedResponse", m, err)
	}
}

// TestMonitorWithFieldRepeatedAlikeIsRead: a field named twice with the
// same value is one value.
func TestMonitorWithFieldRepeatedAlikeIsRead(t *testing.T) {
	for name, body := range map[string]string{
		"legacy XML":  `<result><Monitor><monId>5</monId><monTopic>DataPoint</monTopic><monId>5</monId></Monitor></result>`,
		"legacy JSON": `{"items":[{"monId":"5","monTopic":"DataPoint","monId":"5"}]}`,
		"v1":          `{"id":5,"topics":["DataPoint"],"id":5}`,
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if body[0] == '<' {
					writeXML(w, http.StatusOK, body)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			})
			get := fs.client().Get
			if name == "v1" {
				get = fs.client().V1().Get
			}
			if m, err := get(context.Background(), 5); err != nil || m.ID != 5 {
				t.Errorf("Get = %v, %v; want monitor 5", m, err)
			}
		})
	}
}

// TestMonitorWithRepeatedUnknownFieldIsRead: a member the client does not
// read may repeat with two values (a server adding a field as a repeated
// element must not break every listing); only the monitor's own fields
// are refused so.
func TestMonitorWithRepeatedUnknownFieldIsRead(t *testing.T) {
	for name, body := range map[string]string{
		"legacy XML":  `<result><Monitor><monId>5</monId><monTopic>DataPoint</monTopic><monTag>a</monTag><monTag>b</monTag></Monitor></result>`,
		"legacy JSON": `{"remainingSize":"0","items":[{"monId":"5","monTopic":"DataPoint","tag":"a","tag":"b"}]}`,
		"v1":          `{"count":1,"list":[{"id":5,"topics":["DataPoint"],"tag":"a","tag":"b"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			ms, err := listAnswer(t, name == "v1", body)
			if err != nil || len(ms) != 1 || ms[0].ID != 5 {
				t.Errorf("List = %v, %v; want monitor 5", ms, err)
			}
		})
	}
}

// listAnswer lists the monitors of a server that answers body (XML when
// it starts with '<'), through the v1 API or the legacy one.
func listAnswer(t *testing.T, v1 bool, body string) ([]Monitor, error) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if body[0] == '<' {
			writeXML(w, http.StatusOK, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
	if v1 {
		return fs.client().V1().List(context.Background(), ListQuery{})
	}
	return fs.client().List(context.Background(), "")
}
