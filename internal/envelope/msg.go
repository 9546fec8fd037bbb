package envelope

import "context"

// Msgs standing alone, outside a {"Document":{"Msg":…}} envelope: the
// records of a monitor's history.

// ParseMsg parses one JSON Msg object standing alone: its envelope fields,
// and its resource found as in a document (unknown members are ignored).
// An invalid Msg is returned with Err set, as Split emits it. The error
// is ErrMalformed when obj is not one JSON value, or a
// *xmlguard.LimitError beyond the depth budget. The event's strings and
// Body may alias obj, which must then stay unmodified.
func ParseMsg(obj []byte, lim Limits) (Event, error) { return ParseRecord(obj, lim, nil) }

// ParseRecord is ParseMsg for an object that holds, beside a Msg's
// members, members of its own, such as a history record's id and the
// time it was stored. own, when not nil, is called with each member of
// obj in order, envelope fields included: its key (unescaped) and its
// value as bytes of obj, spaces around it left out (a value that is not
// well-formed is passed as far as it was read). For a member that is not
// an envelope field it returns whether the member is the record's own:
// such a member is never taken for the resource. obj is read once; key
// and value are valid for as long as obj is.
func ParseRecord(obj []byte, lim Limits, own func(key, value []byte) bool) (Event, error) {
	s := Splitter{Limits: lim}
	p := jsonParser{b: obj, maxDepth: s.maxDepth(), own: own}
	var ev Event
	index := 0
	if err := p.msg(func(e Event) { ev = e }, &index); err != nil {
		return Event{}, p.docErr(err)
	}
	if !p.atEnd() {
		return Event{}, p.docErr(p.syntax(synAfterMsgValue))
	}
	return ev, nil
}

// ParseMsgs parses the value of a Msg member standing alone: one Msg
// object, an array of them, or null (no event). It calls emit with each
// event in order, an invalid Msg with Err set, as Split does, and returns
// how many were invalid. The error is ErrNotEnvelope when v is none of
// these (nothing was emitted), ErrMalformed when v is not one JSON value,
// or a *xmlguard.LimitError beyond the depth budget; on an error the
// events emitted so far must be dropped. The events alias v, as ParseMsg's
// alias obj.
func ParseMsgs(ctx context.Context, v []byte, lim Limits, emit func(Event)) (invalid int, err error) {
	s := Splitter{Limits: lim}
	p := jsonParser{b: v, maxDepth: s.maxDepth(), ck: s.newChecker(ctx, len(v))}
	index := 0
	err = p.msgs(emit, &index)
	if err == nil && !p.atEnd() {
		err = p.syntax(synAfterMsgValue)
	}
	if err != nil {
		return p.ck.invalid, p.docErr(err)
	}
	return p.ck.invalid, nil
}
