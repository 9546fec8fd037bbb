package envelope

// ParseMsg parses one JSON Msg object standing alone, such as a record of
// a monitor's history: its envelope fields, and its resource found as in
// a document (unknown members, such as a record's own id, are ignored).
// An invalid Msg is returned with Err set, as Split emits it. The error
// is ErrMalformed when obj is not one JSON value, or a
// *xmlguard.LimitError beyond the depth budget. The event's strings and
// Body may alias obj, which must then stay unmodified.
func ParseMsg(obj []byte, lim Limits) (Event, error) {
	s := Splitter{Limits: lim}
	p := jsonParser{b: obj, maxDepth: s.maxDepth()}
	var ev Event
	index := 0
	if err := p.msg(func(e Event) { ev = e }, &index); err != nil {
		return Event{}, p.docErr(err)
	}
	if !p.atEnd() {
		return Event{}, p.docErr(p.syntax("data after the Msg"))
	}
	return ev, nil
}
