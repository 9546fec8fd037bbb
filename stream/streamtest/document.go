package streamtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pushmon/pushmon/protocol"
)

// Event is one change to publish, as the service would report it.
type Event struct {
	// Topic without the customer prefix, such as "DataPoint/dev1/temp" or
	// "DeviceCore/882/7". Its first segment is the resource name, which
	// also names the resource element of the pushed document; it must be
	// a plain identifier (letters, digits, '_', '-', '.', not starting
	// with a digit).
	Topic string
	// Operation such as "CREATE", "UPDATE", "DELETE", "INSERTION"; "" means
	// "UPDATE". It is sent as given.
	Operation string
	// Timestamp of the change; the zero value means time.Now(). It is
	// rendered in UTC, RFC 3339 with milliseconds.
	Timestamp time.Time
	// Group is optional; topics with a [group=…] filter match on it.
	Group string
	// Body is the resource object: a map[string]any, a json.RawMessage, or
	// any value encoding/json can marshal. XML monitors get it rendered
	// by a small map-to-element renderer (keys in sorted order, arrays as
	// repeated elements); a struct (or pointer to one) is rendered with
	// encoding/xml instead. nil means an empty object.
	Body any
}

// rendered is an Event prepared for sending: validated, its topic split,
// and its Msg rendered once per document format. It is shared by every
// monitor the event is routed to, and immutable once built (the XML form
// is built at most once, under xmlOnce).
type rendered struct {
	segs   []string // topic segments without the customer prefix
	op     uint8    // operation filter bit
	group  string
	ev     Event  // normalised copy
	topic  string // "<cstId>/<Topic>"
	jbody  []byte // the body as JSON
	jhead  []byte // `{"timestamp":…,"operation":…[,"group":…]`
	jtail  []byte // `,"<Resource>":<body>}`
	xonce  sync.Once
	xhead  []byte // `<Msg topic=… operation=… timestamp=…[ group=…]`
	xtail  []byte // `><Resource>…</Resource></Msg>`
	xerr   error
	tsText string
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

// prepare validates ev and renders its JSON form.
func prepare(ev Event, cst uint32, now time.Time) (*rendered, error) {
	t := strings.Trim(ev.Topic, "/")
	if t == "" {
		return nil, errors.New("empty topic")
	}
	segs := strings.Split(t, "/")
	if !validResourceName(segs[0]) {
		return nil, fmt.Errorf("resource name %q is not a plain identifier", segs[0])
	}
	if ev.Operation == "" {
		ev.Operation = "UPDATE"
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = now
	}
	ev.Timestamp = ev.Timestamp.UTC()
	ev.Topic = t
	r := &rendered{
		segs:   segs,
		op:     opBit(ev.Operation),
		group:  ev.Group,
		ev:     ev,
		topic:  strconv.FormatUint(uint64(cst), 10) + "/" + t,
		tsText: ev.Timestamp.Format(timestampLayout),
	}
	body, err := marshalJSON(ev.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	r.jbody = body

	h := append([]byte(nil), `{"timestamp":`...)
	h = appendJSONString(h, r.tsText)
	h = append(h, `,"topic":`...)
	h = appendJSONString(h, r.topic)
	h = append(h, `,"operation":`...)
	h = appendJSONString(h, ev.Operation)
	if ev.Group != "" {
		h = append(h, `,"group":`...)
		h = appendJSONString(h, ev.Group)
	}
	r.jhead = h
	tl := append([]byte(nil), ',')
	tl = appendJSONString(tl, segs[0])
	tl = append(tl, ':')
	tl = append(tl, body...)
	r.jtail = append(tl, '}')
	return r, nil
}

// renderXML builds the XML form once; later calls return the first result.
func (r *rendered) renderXML() error {
	r.xonce.Do(func() {
		var b bytes.Buffer
		b.WriteString(`<Msg topic="`)
		xmlEscape(&b, r.topic)
		b.WriteString(`" operation="`)
		xmlEscape(&b, r.ev.Operation)
		b.WriteString(`" timestamp="`)
		b.WriteString(r.tsText)
		b.WriteByte('"')
		if r.ev.Group != "" {
			b.WriteString(` group="`)
			xmlEscape(&b, r.ev.Group)
			b.WriteByte('"')
		}
		r.xhead = slices.Clone(b.Bytes())
		b.Reset()
		b.WriteByte('>')
		if err := renderXMLBody(&b, r.segs[0], r.ev.Body, r.jbody); err != nil {
			r.xerr = err
			return
		}
		b.WriteString("</Msg>")
		r.xtail = slices.Clone(b.Bytes())
	})
	return r.xerr
}

// AppendDocument appends the event document a Server pushes when events
// make one block of a monitor of the given format: JSON
// {"Document":{"Msg":M}} (M an object for one event, an array for several)
// or XML <Document><Msg …>…</Msg>…</Document>. Topics get the prefix
// customerID (0 means DefaultCustomerID) and zero timestamps the current
// time, as Publish does. It needs no Server: tests, examples and
// benchmarks use it to build PublishMessages and HTTP bodies that are
// exactly the simulator's. An event that cannot be published returns an
// error matching ErrInvalidEvent.
func AppendDocument(dst []byte, format protocol.Format, customerID uint32, events ...Event) ([]byte, error) {
	if customerID == 0 {
		customerID = DefaultCustomerID
	}
	now := time.Now()
	items := make([]qitem, len(events))
	for i, ev := range events {
		r, err := prepare(ev, customerID, now)
		if err == nil && format == protocol.FormatXML {
			err = r.renderXML()
		}
		if err != nil {
			return dst, fmt.Errorf("%w: event %d (%q): %v", ErrInvalidEvent, i, ev.Topic, err)
		}
		items[i].ev = r
	}
	return appendDocument(dst, format == protocol.FormatXML, items), nil
}

// appendDocument appends the event document of one block: JSON
// {"Document":{"Msg":M}} with M an object for one event and an array for
// several, or XML <Document><Msg …>…</Msg>…</Document>.
func appendDocument(dst []byte, xmlFormat bool, items []qitem) []byte {
	if xmlFormat {
		dst = append(dst, "<Document>"...)
		for _, it := range items {
			dst = append(dst, it.ev.xhead...)
			if it.replay {
				dst = append(dst, ` replay="true"`...)
			}
			dst = append(dst, it.ev.xtail...)
		}
		return append(dst, "</Document>"...)
	}
	dst = append(dst, `{"Document":{"Msg":`...)
	if len(items) > 1 {
		dst = append(dst, '[')
	}
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, it.ev.jhead...)
		if it.replay {
			dst = append(dst, `,"replay":true`...)
		}
		dst = append(dst, it.ev.jtail...)
	}
	if len(items) > 1 {
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

// marshalJSON encodes v without HTML escaping and without the trailing
// newline. nil becomes {}.
func marshalJSON(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("json.RawMessage is not valid JSON")
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// appendJSONString appends s as a JSON string literal. Invalid UTF-8
// becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// xmlEscape writes s escaped for XML text and attribute values.
func xmlEscape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a bytes.Buffer cannot fail
}

// validResourceName reports whether s can be both a JSON key (anything
// can) and an XML element name without escaping: an ASCII identifier.
func validResourceName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// validXMLName reports whether s is usable as an XML element name.
func validXMLName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// renderXMLBody renders the resource element. Structs go through
// encoding/xml; everything else through its JSON form, so that maps of any
// value type, json.RawMessage and json.Marshaler values render the same
// fields as in JSON documents.
func renderXMLBody(b *bytes.Buffer, name string, body any, jbody []byte) error {
	if isStruct(body) {
		enc := xml.NewEncoder(b)
		if err := enc.EncodeElement(body, xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
			return fmt.Errorf("encoding/xml: %w", err)
		}
		return enc.Flush()
	}
	dec := json.NewDecoder(bytes.NewReader(jbody))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	return renderXMLValue(b, name, v)
}

func isStruct(v any) bool {
	if _, ok := v.(json.Marshaler); ok {
		return false
	}
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.Kind() == reflect.Struct
}

// renderXMLValue renders v as element name: objects as child elements in
// key order, arrays as repeated elements of the same name, scalars as text.
func renderXMLValue(b *bytes.Buffer, name string, v any) error {
	if arr, ok := v.([]any); ok {
		for _, it := range arr {
			if err := renderXMLValue(b, name, it); err != nil {
				return err
			}
		}
		return nil
	}
	if !validXMLName(name) {
		return fmt.Errorf("key %q is not a valid XML element name", name)
	}
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := renderXMLValue(b, k, v[k]); err != nil {
				return err
			}
		}
	case string:
		xmlEscape(b, v)
	case json.Number:
		b.WriteString(v.String())
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case nil:
	default:
		return fmt.Errorf("cannot render %T as XML", v)
	}
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
	return nil
}
