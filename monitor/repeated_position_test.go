package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// A page naming where the listing goes on twice, with two values (a
// remainingSize of 5 and of 0, a cursor and an empty one): encoding/json
// and encoding/xml keep the last, which may end the listing early and
// drop every monitor or record after the page without an error. The
// listing fails instead, with an error matching ErrMalformedResponse.

func TestLegacyListRepeatedRemainingSizeIsMalformed(t *testing.T) {
	for name, write := range map[string]func(http.ResponseWriter){
		"XML": func(w http.ResponseWriter) {
			writeXML(w, http.StatusOK, `<result><remainingSize>5</remainingSize>`+
				`<Monitor><monId>1</monId><monTopic>DataPoint</monTopic></Monitor><remainingSize>0</remainingSize></result>`)
		},
		"JSON": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"remainingSize":"5","items":[{"monId":"1","monTopic":"DataPoint"}],"remainingSize":0}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { write(w) })
			ms, err := fs.client().List(context.Background(), "")
			if !errors.Is(err, ErrMalformedResponse) || ms != nil {
				t.Errorf("List = %v, %v; want nil and an error matching ErrMalformedResponse", ms, err)
			}
		})
	}
}

func TestV1ListRepeatedCursorIsMalformed(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"cursor":"next","list":[{"id":1,"topics":["DataPoint"]}],"cursor":null}`))
	})
	ms, err := fs.client().V1().List(context.Background(), ListQuery{})
	if !errors.Is(err, ErrMalformedResponse) || ms != nil {
		t.Errorf("V1 List = %v, %v; want nil and an error matching ErrMalformedResponse", ms, err)
	}
}

func TestHistoryRepeatedCursorIsMalformed(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"next_cursor":"next","list":[{"id":"r1","topic":"1/DataPoint/d/s","operation":"INSERTION",` +
			`"timestamp":"2025-01-01T00:00:00.000Z","DataPoint":{"data":1}}],"next_cursor":""}`))
	})
	p, err := fs.client().HistoryPage(context.Background(), 7, HistoryQuery{})
	if !errors.Is(err, ErrMalformedResponse) || p != nil {
		t.Errorf("HistoryPage = %+v, %v; want nil and an error matching ErrMalformedResponse", p, err)
	}
	n := 0
	for _, err = range fs.client().History(context.Background(), 7, time.Time{}, time.Time{}) {
		n++
	}
	if !errors.Is(err, ErrMalformedResponse) || n != 1 {
		t.Errorf("History: %d yields, last error %v; want one, an error matching ErrMalformedResponse", n, err)
	}
}
