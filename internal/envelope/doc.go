// Package envelope is the event model below its users: the parser of
// Remote Manager event documents ({"Document":{"Msg":…}} and
// <Document><Msg …>…</Msg></Document>), the strict timestamp parser, and
// the one definition of an event's identity. Package stream (TCP
// sessions, the HTTP receiver, the poller) and package monitor (history
// records) both build on it.
//
// A [Splitter] reads a document once, in time linear in its size, under
// budgets ([Limits]: nesting depth for JSON and XML, and xmlguard's
// attribute, name and token budgets for XML), looking at its context
// every few hundred tokens. Envelope fields are parsed eagerly; each
// event's body is validated (JSON grammar as encoding/json.Valid has it;
// XML through encoding/xml once the guard has bounded it) and kept as
// bytes of the document.
//
// The parser is forward-compatible: members of a Msg other than its
// envelope fields (topic, operation, timestamp, group, replay) are
// ignored, and the resource is the member the topic's second segment
// names, or else the only member whose value is an object (for XML, the
// only child element), or else the only member. A Msg that is invalid (a
// body that is not well-formed, an envelope field of the wrong type, a
// timestamp time.Parse refuses, no topic, no resource that can be told)
// yields an event with Err set; the other Msgs of the document are not
// affected. A document that is not an envelope at all is left to the
// caller to deliver raw.
package envelope
