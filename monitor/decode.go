package monitor

// Reading the legacy API's answers, in either representation: the JSON
// envelope asked for with "Accept: application/json" (values as strings
// or numbers) or the XML <result> document (or a bare <Monitor>),
// including the ISO-8859-1 declaration the server puts on it. The
// monitors of a list are read one at a time and at most maxItems of them,
// so that what a page costs is bounded by the page size asked for, not by
// what the server sends. The JSON helpers serve the v1 decoder too.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// legacyAnswer is what a legacy answer holds.
type legacyAnswer struct {
	items     []Monitor
	remaining string   // remainingSize as sent
	errs      []string // "error" texts as sent (a 2xx answer may hold some)
	message   string   // <message>, or the v1-style "error_message"
	location  string   // <location> of a create answer
}

// setText records v, the text of an answer's member or element named
// name that must have one value (remainingSize, location), in *dst. A
// second, different value after a non-empty one is an error: which one
// holds cannot be told (encoding/json and encoding/xml keep the last), and
// the wrong one names another monitor or ends a listing early.
func setText(dst *string, v, name string) error {
	if *dst != "" && strings.TrimSpace(v) != strings.TrimSpace(*dst) {
		return fmt.Errorf("%s named twice with two values", name)
	}
	*dst = v
	return nil
}

// legacyPage is one decoded list answer.
type legacyPage struct {
	items     []Monitor
	remaining int64  // remainingSize; 0 when absent
	errText   string // an "error" the server put in a 2xx answer
}

// decodeList decodes a list or get answer holding at most maxItems
// monitors.
func decodeList(body []byte, maxItems int) (legacyPage, error) {
	a, err := decodeLegacy(body, maxItems)
	if err != nil {
		return legacyPage{}, err
	}
	rem, err := parseCount("remainingSize", a.remaining)
	if err != nil {
		return legacyPage{}, err
	}
	return legacyPage{items: a.items, remaining: rem, errText: joinTexts(a.errs, nil)}, nil
}

// decodeLegacy decodes a legacy answer in either representation. Monitors
// beyond maxItems are an error; a negative maxItems skips them unread.
func decodeLegacy(body []byte, maxItems int) (legacyAnswer, error) {
	switch firstByte(body) {
	case '{':
		return decodeLegacyJSON(trimBody(body), maxItems)
	case '<':
		return decodeLegacyXML(body, maxItems)
	case 0:
		return legacyAnswer{}, errors.New("empty body")
	default:
		return legacyAnswer{}, errors.New("neither JSON nor XML")
	}
}

// errTooManyItems is a page holding more items than were asked for.
func errTooManyItems(max int) error { return &LimitError{LimitItems, int64(max)} }

func decodeLegacyJSON(body []byte, maxItems int) (legacyAnswer, error) {
	var a legacyAnswer
	err := walkObject(body, func(key string, dec *json.Decoder) error {
		// maxItems bounds the monitors of the whole answer, however many
		// "items" members it repeats; a negative one leaves them to the
		// default case, which skips them.
		if strings.EqualFold(key, "items") && maxItems >= 0 {
			return eachElement(dec, func(i int, raw json.RawMessage) error {
				if len(a.items) == maxItems {
					return errTooManyItems(maxItems)
				}
				item, err := decodeMonitorObject(raw)
				if err != nil {
					return fmt.Errorf("items[%d]: %w", i, err)
				}
				f := make(map[string]string, len(item))
				for k, v := range item {
					s, err := jsonScalar(v)
					if err != nil {
						return fmt.Errorf("items[%d].%s: %v", i, k, err)
					}
					f[k] = s
				}
				m, err := monitorFromFields(f)
				if err != nil {
					return fmt.Errorf("items[%d]: %w", i, err)
				}
				a.items = append(a.items, m)
				return nil
			})
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		switch {
		case strings.EqualFold(key, "remainingSize"):
			v, err := jsonScalar(raw)
			if err != nil {
				return fmt.Errorf("remainingSize: %v", err)
			}
			return setText(&a.remaining, v, "remainingSize")
		case strings.EqualFold(key, "error"):
			a.errs = jsonErrorTexts(raw)
		case strings.EqualFold(key, "error_message"): // how v1 APIs answer errors
			a.message = strings.Join(jsonErrorTexts(raw), "; ")
		case strings.EqualFold(key, "location"):
			loc, _ := jsonScalar(raw)
			return setText(&a.location, loc, "location")
		}
		return nil
	})
	if err != nil {
		return legacyAnswer{}, fmt.Errorf("JSON: %w", err)
	}
	return a, nil
}

// walkObject reads the JSON object body member by member: member must
// read the value of key from dec. Nothing but white space may follow the
// object.
func walkObject(body []byte, member func(key string, dec *json.Decoder) error) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if err := member(tok.(string), dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the top-level object")
	}
	return nil
}

// eachElement reads a JSON array (or null) from dec, calling elem with each
// element in turn, read whole but not decoded.
func eachElement(dec *json.Decoder, elem func(i int, raw json.RawMessage) error) error {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return err
	case tok == nil:
		return nil
	case tok != json.Delim('['):
		return fmt.Errorf("%v where an array was expected", tok)
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := elem(i, raw); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing bracket
	return err
}

// jsonScalar returns a JSON string's value, or a number's or boolean's
// literal text; null and absent give "". Objects and arrays are refused.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		if plainString(raw) {
			return string(raw[1 : len(raw)-1]), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("unexpected JSON %s", map[byte]string{'{': "object", '[': "array"}[raw[0]])
	}
	return string(raw), nil
}

// plainString reports whether raw is a JSON string token whose value is
// its bytes between the quotes: no escape, no control character, valid
// UTF-8 (which encoding/json would replace).
func plainString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	in := raw[1 : len(raw)-1]
	ascii := true
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(in)
}

// jsonErrorTexts reads an "error" value: a string or an array of at most
// maxValues strings (both seen from the server), else the value's JSON
// text. A longer array is kept as its text: an answer no page size bounds
// (a create's) could otherwise make a []string of millions of tiny
// strings, costing tens of times its size.
func jsonErrorTexts(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if s, err := jsonScalar(raw); err == nil {
		return []string{s}
	}
	var list []string
	if checkElements(raw, maxValues, LimitValues) == nil && json.Unmarshal(raw, &list) == nil {
		return list
	}
	return []string{string(raw)}
}

// xmlFields collects the children of an element as name → text, at most
// maxMembers of them; a monitor field (see knownField) named twice with
// two texts is an error.
type xmlFields map[string]string

// UnmarshalXML implements xml.Unmarshaler.
func (f *xmlFields) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	m := make(map[string]string)
	for n := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if n++; n > maxMembers {
				return &LimitError{LimitMembers, maxMembers}
			}
			var v struct {
				Text string `xml:",chardata"`
			}
			if err := d.DecodeElement(&v, &t); err != nil {
				return err
			}
			if old, ok := m[t.Name.Local]; ok && old != v.Text && knownField[t.Name.Local] {
				// Which one holds cannot be told; see decodeMonitorObject.
				return fmt.Errorf("<%s> named twice with two values", t.Name.Local)
			}
			m[t.Name.Local] = v.Text
		case xml.EndElement:
			*f = m
			return nil
		}
	}
}

// decodeLegacyXML reads a <result> answer child by child, or a bare
// <Monitor> root as a result holding that one monitor.
func decodeLegacyXML(body []byte, maxItems int) (legacyAnswer, error) {
	var a legacyAnswer
	var errs xmlErrors
	d := newXMLDecoder(body)
	monitor := func(se *xml.StartElement) error {
		if maxItems < 0 {
			return d.Skip()
		}
		if len(a.items) == maxItems {
			return errTooManyItems(maxItems)
		}
		var f xmlFields
		if err := d.DecodeElement(&f, se); err != nil {
			return err
		}
		m, err := monitorFromFields(f)
		if err != nil {
			return fmt.Errorf("Monitor[%d]: %w", len(a.items), err)
		}
		a.items = append(a.items, m)
		return nil
	}
	text := func(se *xml.StartElement) (string, error) {
		var v struct {
			Text string `xml:",chardata"`
		}
		err := d.DecodeElement(&v, se)
		return v.Text, err
	}
	root, err := rootElement(d)
	if err != nil {
		return legacyAnswer{}, fmt.Errorf("XML: %w", err)
	}
	switch root.Name.Local {
	case "Monitor":
		err = monitor(&root)
	case "result":
		err = eachChild(d, func(se *xml.StartElement) error {
			var err error
			switch se.Name.Local {
			case "Monitor":
				return monitor(se)
			case "remainingSize":
				var t string
				if t, err = text(se); err == nil {
					err = setText(&a.remaining, t, "remainingSize")
				}
			case "location":
				var t string
				if t, err = text(se); err == nil {
					err = setText(&a.location, t, "location")
				}
			case "message":
				a.message, err = text(se)
			case "error":
				var t string
				if t, err = text(se); err == nil {
					errs.add(t)
				}
			default:
				err = d.Skip()
			}
			return err
		})
	default:
		return legacyAnswer{}, fmt.Errorf("XML: unexpected root <%s>", root.Name.Local)
	}
	if err == nil {
		err = documentEnd(d)
	}
	if err != nil {
		return legacyAnswer{}, fmt.Errorf("XML: %w", err)
	}
	a.errs = errs.texts()
	return a, nil
}

// xmlErrors collects the texts of an answer's <error> elements as
// jsonErrorTexts does a JSON "error" array's: at most maxValues of them as
// a list; beyond, all of them as one text, so that an answer no page size
// bounds (a create's, up to maxBodySize) of many tiny <error/> elements
// costs about its size, not a string header of 16 bytes per 8-byte
// element (2 to 3 times the body, with the slice's growth). The one text
// is the texts trimmed and joined with "; ", blank ones left out: the
// message joinTexts would make of the list.
type xmlErrors struct {
	list   []string
	joined *strings.Builder // non-nil once there were more than maxValues
}

func (e *xmlErrors) add(t string) {
	if e.joined == nil && len(e.list) < maxValues {
		e.list = append(e.list, t)
		return
	}
	if e.joined == nil {
		e.joined = new(strings.Builder)
		for _, s := range e.list {
			e.join(s)
		}
		e.list = nil
	}
	e.join(t)
}

func (e *xmlErrors) join(t string) {
	if t = strings.TrimSpace(t); t == "" {
		return
	}
	if e.joined.Len() > 0 {
		e.joined.WriteString("; ")
	}
	e.joined.WriteString(t)
}

// texts returns the texts: the list, or the one joined text.
func (e *xmlErrors) texts() []string {
	if e.joined == nil {
		return e.list
	}
	return []string{e.joined.String()}
}

// rootElement returns the document's first element.
func rootElement(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se, nil
		}
	}
}

// documentEnd reads what follows the root element, which must end the
// document: white space, comments and processing instructions only. An
// element or text after it (a second <result>) is an error, as is data
// after a JSON answer's object: the answer read up to its first root
// would drop what follows, the monitors of a list among them.
func documentEnd(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimLeft(t, " \t\r\n")) > 0 {
				return errors.New("text after the root element")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// eachChild calls child for each child element of the element just
// started, which must read (or skip) it whole, until that element ends.
func eachChild(d *xml.Decoder, child func(*xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := child(&t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func newXMLDecoder(body []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(trimBody(body)))
	d.CharsetReader = charsetReader
	return d
}

// charsetReader lets encoding/xml read the ISO-8859-1 answers the server
// declares ("<?xml version="1.0" encoding="ISO-8859-1"?>").
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
		raw, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(raw)+len(raw)/8)
		for _, b := range raw {
			out = utf8.AppendRune(out, rune(b))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}
