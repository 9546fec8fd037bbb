package envelope

import "testing"

// TestEmptyMsgBesideOtherMembersIsNotAKeepAlive: a Document whose Msg is
// null or [] but which holds other members is not an envelope, as a
// Document with other members and no Msg at all is not, and as an XML
// Document holding other elements and no Msg is not: it is delivered
// whole (a Raw event). Taken for a keep-alive, its members would be
// acknowledged and lost.
func TestEmptyMsgBesideOtherMembersIsNotAKeepAlive(t *testing.T) {
	for _, doc := range []string{
		`{"Document":{"Msg":null,"payload":{"temperature":21.5}}}`,
		`{"Document":{"Msg":[],"payload":{"temperature":21.5}}}`,
		`{"Document":{"payload":{"temperature":21.5},"Msg":[]}}`,
		`{"Document":{"x":1}}`, // as before
	} {
		if _, err := split(t, doc, JSON); err != ErrNotEnvelope {
			t.Errorf("%s: %v, want ErrNotEnvelope", doc, err)
		}
	}
	for _, doc := range []string{
		`<Document><payload><temperature>21.5</temperature></payload></Document>`,
	} {
		if _, err := split(t, doc, XML); err != ErrNotEnvelope {
			t.Errorf("%s: %v, want ErrNotEnvelope", doc, err)
		}
	}
	// Keep-alives stay keep-alives; other members beside Msgs stay ignored.
	for doc, n := range map[string]int{
		`{"Document":{"Msg":null}}`:                             0,
		`{"Document":{"Msg":[]}}`:                               0,
		`{"Document":{}}`:                                       0,
		`{"Document":{"Msg":[{"topic":"1/A/1","A":{}}],"x":1}}`: 1,
	} {
		if evs, err := split(t, doc, JSON); err != nil || len(evs) != n {
			t.Errorf("%s: %d events, %v; want %d", doc, len(evs), err, n)
		}
	}
}
