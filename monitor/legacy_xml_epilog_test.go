package monitor

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestLegacyXMLAfterTheRootIsRefused: a legacy XML answer is one element.
// Markup or text after it (a second <result>, a stray <Monitor>, text) is
// not a well-formed document: like JSON after the top-level object it is
// an error matching ErrMalformedResponse — never an answer read up to its
// first root, which would drop the monitors after it (a List that looks
// complete) or take the first of two create answers for the truth.
func TestLegacyXMLAfterTheRootIsRefused(t *testing.T) {
	const mon5 = `<Monitor><monId>5</monId><monTopic>DataPoint</monTopic></Monitor>`
	for name, tail := range map[string]string{
		"second result": `<result>` + `<Monitor><monId>6</monId><monTopic>DataPoint</monTopic></Monitor>` + `</result>`,
		"stray monitor": `<Monitor><monId>6</monId><monTopic>DataPoint</monTopic></Monitor>`,
		"text":          "\n6 more monitors were cut\n",
		"cdata":         `<![CDATA[x]]>`,
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeXML(w, http.StatusOK, `<result><remainingSize>0</remainingSize>`+mon5+`</result>`+tail)
			})
			ms, err := fs.client().List(context.Background(), "")
			if !errors.Is(err, ErrMalformedResponse) || ms != nil {
				t.Errorf("List = %v, %v; want nil and an error matching ErrMalformedResponse", ms, err)
			}
			if m, err := fs.client().Get(context.Background(), 5); !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("Get = %v, %v; want an error matching ErrMalformedResponse", m, err)
			}
		})
	}

	// What may follow the root element: white space, comments and
	// processing instructions.
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, http.StatusOK, "<!-- list -->\n<result>"+mon5+"</result>\n<!-- end --><?done?>\r\n")
	})
	if ms, err := fs.client().List(context.Background(), ""); err != nil || len(ms) != 1 || ms[0].ID != 5 {
		t.Errorf("List with an epilog of comments = %v, %v; want monitor 5", ms, err)
	}
}

// TestLegacyCreateXMLAfterTheRootIsRefused: a create answer of two
// <result> documents names two monitors; the client cannot tell which it
// created, and must not return the first as if the answer were readable.
func TestLegacyCreateXMLAfterTheRootIsRefused(t *testing.T) {
	fs := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeXML(w, http.StatusCreated, `<result><location>Monitor/5</location></result><result><location>Monitor/7</location></result>`)
	})
	id, err := fs.client().Create(context.Background(), Spec{Topics: []string{"DataPoint"}})
	if !errors.Is(err, ErrMalformedResponse) || id != 0 {
		t.Errorf("Create = %d, %v; want 0 and an error matching ErrMalformedResponse", id, err)
	}
}
