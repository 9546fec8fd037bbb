package stream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math/bits"
	"strings"
	"time"
	"unsafe"

	"github.com/pushmon/pushmon/protocol"
)

// errNotEnvelope: the document is not a Document/Msg envelope. It is then
// delivered raw.
var errNotEnvelope = errors.New("stream: not a Document/Msg envelope")

// splitDocument appends the events of doc to dst. doc must be owned by the
// caller and never modified afterwards: string fields of the events point
// into it. On errNotEnvelope nothing is appended.
func splitDocument(dst []Event, doc []byte, format protocol.Format, monitorID uint32) ([]Event, error) {
	n := len(dst)
	var err error
	if format == protocol.FormatJSON {
		dst, err = splitJSON(dst, doc)
	} else {
		dst, err = splitXML(dst, doc)
	}
	if err != nil {
		return dst[:n], err
	}
	for i := n; i < len(dst); i++ {
		dst[i].Format = format
		dst[i].MonitorID = monitorID
	}
	return dst, nil
}

// splitOrRaw appends the events of doc to dst, or, when doc is not a
// Document/Msg envelope (template output, a malformed document), one Raw
// event whose Body is doc; raw tells which. doc must be owned by the
// caller and never modified afterwards, as for splitDocument.
func splitOrRaw(dst []Event, doc []byte, format protocol.Format, monitorID uint32) (events []Event, raw bool) {
	events, err := splitDocument(dst, doc, format, monitorID)
	if err != nil {
		return append(events, Event{Raw: true, Body: doc, Format: format, MonitorID: monitorID}), true
	}
	return events, false
}

// sniffFormat tells an XML document (first non-space byte '<') from JSON.
func sniffFormat(doc []byte) protocol.Format {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\r', '\n':
		case '<':
			return protocol.FormatXML
		default:
			return protocol.FormatJSON
		}
	}
	return protocol.FormatJSON
}

// --- JSON -------------------------------------------------------------

// splitJSON reads {"Document":{"Msg": M}} with M an object or an array of
// objects. Only the envelope is parsed; resource bodies are skipped over
// structurally and delivered as raw bytes.
func splitJSON(dst []Event, doc []byte) ([]Event, error) {
	p := jsonParser{b: doc}
	found := false
	err := p.object(func(key []byte) error {
		if string(key) != "Document" {
			return p.skip()
		}
		found = true
		if p.peek() == 'n' { // "Document": null is a keep-alive
			return p.skip()
		}
		return p.object(func(key []byte) error {
			if string(key) != "Msg" {
				return p.skip()
			}
			switch p.peek() {
			case '{':
				ev, err := p.msg()
				if err != nil {
					return err
				}
				dst = append(dst, ev)
				return nil
			case '[':
				return p.array(func() error {
					ev, err := p.msg()
					if err != nil {
						return err
					}
					dst = append(dst, ev)
					return nil
				})
			}
			return errNotEnvelope
		})
	})
	if err == nil && !found {
		err = errNotEnvelope
	}
	if err == nil {
		p.ws()
		if p.i != len(p.b) {
			err = errNotEnvelope
		}
	}
	return dst, err
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// object calls fn for each key of an object, with p positioned at the
// value; fn must consume the value.
func (p *jsonParser) object(fn func(key []byte) error) error {
	if p.peek() != '{' {
		return errNotEnvelope
	}
	p.i++
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		if p.peek() != '"' {
			return errNotEnvelope
		}
		start := p.i
		if err := p.skipString(); err != nil {
			return err
		}
		key := p.b[start+1 : p.i-1]
		if p.peek() != ':' {
			return errNotEnvelope
		}
		p.i++
		p.ws()
		if err := fn(key); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return errNotEnvelope
		}
	}
}

func (p *jsonParser) array(fn func() error) error {
	if p.peek() != '[' {
		return errNotEnvelope
	}
	p.i++
	if p.peek() == ']' {
		p.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return errNotEnvelope
		}
	}
}

// skipString moves past a string starting at p.i.
func (p *jsonParser) skipString() error {
	i := p.i + 1
	for {
		i = quoteOrEscape(p.b, i)
		if i >= len(p.b) {
			return errNotEnvelope
		}
		if p.b[i] == '"' {
			p.i = i + 1
			return nil
		}
		i += 2 // an escape: skip the escaped byte
	}
}

// quoteOrEscape returns the index of the first '"' or '\\' in b at or after
// i, or len(b). It tests eight bytes at a time: strings are mostly too
// short for bytes.IndexByte's set-up to pay, and too long for a byte loop.
func quoteOrEscape(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ ('"' * ones)  // zero bytes where w has '"'
		e := w ^ ('\\' * ones) // zero bytes where w has '\\'
		// The lowest byte flagged by (x-ones) &^ x is exactly the first
		// zero byte of x (higher flags may be false positives).
		if m := ((q-ones)&^q | (e-ones)&^e) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(b)
}

// skip moves past one value, checking structure (balanced brackets,
// terminated strings) but not the grammar of scalars.
func (p *jsonParser) skip() error {
	switch c := p.peek(); c {
	case 0, '}', ']', ',', ':':
		return errNotEnvelope
	case '"':
		return p.skipString()
	case '{', '[':
		// Inside a compound value only strings and brackets matter.
		depth := 0
		for p.i < len(p.b) {
			switch p.b[p.i] {
			case '"':
				if err := p.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					p.i++
					return nil
				}
			}
			p.i++
		}
		return errNotEnvelope
	default:
		start := p.i
		for p.i < len(p.b) && !isDelim(p.b[p.i]) {
			p.i++
		}
		if p.i == start {
			return errNotEnvelope
		}
		return nil
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}

// msg parses one Msg object.
func (p *jsonParser) msg() (Event, error) {
	var ev Event
	var ts []byte
	resources := 0
	err := p.object(func(key []byte) error {
		switch string(key) {
		case "topic":
			s, err := p.str()
			ev.Topic = s
			return err
		case "operation":
			s, err := p.str()
			ev.Operation = operation(s)
			return err
		case "timestamp":
			start := p.i
			if err := p.skip(); err != nil {
				return err
			}
			ts = bytes.Trim(p.b[start:p.i], `"`)
			return nil
		case "group":
			if p.peek() != '"' {
				return p.skip()
			}
			s, err := p.str()
			ev.Group = s
			return err
		case "replay":
			start := p.i
			if err := p.skip(); err != nil {
				return err
			}
			v := string(p.b[start:p.i])
			ev.Replay = v == "true" || v == `"true"`
			return nil
		}
		resources++
		ev.Resource = resourceName(key)
		start := p.i
		if err := p.skip(); err != nil {
			return err
		}
		ev.Body = p.b[start:p.i:p.i]
		return nil
	})
	if err != nil {
		return ev, err
	}
	if ev.Topic == "" || resources != 1 {
		return ev, errNotEnvelope
	}
	ev.Timestamp = parseTime(ts)
	if ev.Resource == "" {
		ev.Resource = topicResource(ev.Topic)
	}
	return ev, nil
}

// str reads a string value. Strings without escapes point into the owned
// document (no copy); escaped ones are decoded.
func (p *jsonParser) str() (string, error) {
	if p.peek() != '"' {
		return "", errNotEnvelope
	}
	start := p.i
	if err := p.skipString(); err != nil {
		return "", err
	}
	raw := p.b[start+1 : p.i-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return bstring(raw), nil
	}
	var s string
	if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
		return "", errNotEnvelope
	}
	return s, nil
}

// bstring returns a string sharing b's memory. b must never be modified:
// it is always a slice of a delivered document outside every Body.
func bstring(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// --- XML --------------------------------------------------------------

// splitXML reads <Document><Msg …><Resource>…</Resource></Msg>…</Document>
// or a single <Msg> root.
func splitXML(dst []Event, doc []byte) ([]Event, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth := 0 // 0 outside, 1 inside Document
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 {
				return dst, errNotEnvelope
			}
			return dst, nil
		}
		if err != nil {
			return dst, errNotEnvelope
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "Document" && depth == 0:
				depth = 1
			case t.Name.Local == "Msg":
				ev, err := xmlMsg(d, doc, t)
				if err != nil {
					return dst, err
				}
				dst = append(dst, ev)
			default:
				return dst, errNotEnvelope
			}
		case xml.EndElement:
			if t.Name.Local == "Document" && depth == 1 {
				depth = 0
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return dst, errNotEnvelope
			}
		}
	}
}

func xmlMsg(d *xml.Decoder, doc []byte, start xml.StartElement) (Event, error) {
	var ev Event
	var ts string
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "topic":
			ev.Topic = a.Value
		case "operation":
			ev.Operation = operation(a.Value)
		case "timestamp":
			ts = a.Value
		case "group":
			ev.Group = a.Value
		case "replay":
			ev.Replay = strings.EqualFold(a.Value, "true")
		}
	}
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return ev, errNotEnvelope
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if ev.Body != nil {
				return ev, errNotEnvelope
			}
			ev.Resource = resourceName([]byte(t.Name.Local))
			if err := d.Skip(); err != nil {
				return ev, errNotEnvelope
			}
			body := bytes.TrimSpace(doc[off:d.InputOffset()])
			ev.Body = body[:len(body):len(body)]
		case xml.EndElement:
			if ev.Topic == "" || ev.Body == nil {
				return ev, errNotEnvelope
			}
			ev.Timestamp = parseTime([]byte(ts))
			return ev, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return ev, errNotEnvelope
			}
		}
	}
}

// --- fields -----------------------------------------------------------

var knownResources = [...]string{
	"DataPoint", "DeviceCore", "FileData", "devices", "alert_status", "jobs", "Alarm",
	"AlarmStatus", "DataStream", "FileDataCore", "Job", "JobResult", "XbeeCore", "Group",
}

// resourceName returns the resource name, without allocating for the
// documented ones.
func resourceName(b []byte) string {
	for _, r := range knownResources {
		if string(b) == r {
			return r
		}
	}
	return string(b)
}

// topicResource returns the second segment of a topic.
func topicResource(topic string) string {
	_, rest, ok := strings.Cut(topic, "/")
	if !ok {
		return ""
	}
	r, _, _ := strings.Cut(rest, "/")
	return r
}

// operation upper-cases an operation, interning the documented ones.
func operation(s string) string {
	for _, op := range [...]string{"UPDATE", "INSERTION", "CREATE", "DELETE"} {
		if strings.EqualFold(s, op) {
			return op
		}
	}
	return strings.ToUpper(s)
}

// parseTime parses an ISO-8601 UTC time such as 2012-04-17T14:14:07.203Z,
// with or without fraction, without allocating in the common case.
func parseTime(b []byte) time.Time {
	if t, ok := fastTime(b); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func fastTime(b []byte) (time.Time, bool) {
	// YYYY-MM-DDTHH:MM:SS[.fff…]Z
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	s, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, false
	}
	ns := 0
	if rest := b[19 : len(b)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), true
}
