package stream

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// The scalar types of the typed resources. The server sends the same
// field as a JSON number in a push and as a JSON string in REST output
// (and as text in XML), so these types accept every form.

// Value is a scalar that the server sends as a JSON number, string or
// boolean (or as XML text), kept as its text: a string unescaped, a
// number, true or false as written, null as "". An object or array is kept
// as its JSON text.
type Value string

// UnmarshalJSON accepts any JSON value (see Value).
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Value(s)
		return nil
	}
	if string(b) == "null" {
		*v = ""
		return nil
	}
	*v = Value(b)
	return nil
}

// Float64 parses the value as a number.
func (v Value) Float64() (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(string(v)), 64)
}

// Bool parses the value as a boolean.
func (v Value) Bool() (bool, error) { return strconv.ParseBool(strings.TrimSpace(string(v))) }

// String returns the text.
func (v Value) String() string { return string(v) }

// Number is an integer the server sends either as a JSON number or as a
// string ("7603"), as REST output does. A number with a fraction or an
// exponent is truncated toward zero; null and "" are 0.
type Number int64

// UnmarshalJSON accepts a number, a numeric string, or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	i, err := jsondec.ParseInt(b)
	if err != nil {
		return err
	}
	*n = Number(i)
	return nil
}

// UnmarshalText accepts XML text: a number's text as UnmarshalJSON reads
// it, with XML white space (space, tab, CR, LF) around it; empty text is
// 0. Quote characters are part of XML text, not delimiters to strip as
// a JSON string's are, and no integer's text has one: text with a quote
// is an error.
func (n *Number) UnmarshalText(b []byte) error {
	b = bytes.Trim(b, " \t\r\n")
	if bytes.IndexByte(b, '"') >= 0 {
		return &strconv.NumError{Func: "ParseInt", Num: string(b), Err: strconv.ErrSyntax}
	}
	return n.UnmarshalJSON(b)
}

// Millis is a time sent as epoch milliseconds (number or string).
type Millis int64

// UnmarshalJSON accepts a number or a numeric string.
func (m *Millis) UnmarshalJSON(b []byte) error { return (*Number)(m).UnmarshalJSON(b) }

// UnmarshalText accepts XML text.
func (m *Millis) UnmarshalText(b []byte) error { return (*Number)(m).UnmarshalText(b) }

// Time converts to a UTC time; zero stays the zero time.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// Raw is a compound field kept undecoded: its JSON text (null as "null"),
// or for XML the element's inner XML. Decoded by the typed accessors it
// shares the event's Body: read-only.
type Raw []byte

// UnmarshalJSON keeps a copy of b, in new memory: r's may be an event's
// Body (a typed accessor's Raw shares it), which must not be written to.
func (r *Raw) UnmarshalJSON(b []byte) error {
	*r = append(Raw(nil), b...)
	return nil
}

// UnmarshalXML keeps the element's inner XML.
func (r *Raw) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var inner struct {
		XML []byte `xml:",innerxml"`
	}
	if err := d.DecodeElement(&inner, &start); err != nil {
		return err
	}
	*r = inner.XML
	return nil
}
