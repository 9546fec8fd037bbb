package stream

import (
	"bytes"
	"encoding/xml"
	"strconv"

	"github.com/pushmon/pushmon/internal/jsondec"
)

// Record is a resource read as its list of top-level members, in the order
// sent, repeats included: for JSON an object's members, for XML the
// resource element's child elements. Each value is kept as a Value: a
// string unescaped, a number or boolean as written, null as "", an object
// or array as its JSON text; for XML an element's text, or its inner XML
// when it has child elements.
//
// Decoded by Event.Record (and the Job accessors) names and values share
// the event's Body when they need no unescaping: see DataPoint for the
// memory rules. A body with more than MaxRecordFields members is refused
// (ErrRecordTooLarge). Decoding allocates the slice of members.
type Record []Field

// Field is one member of a Record.
type Field struct {
	Name  string
	Value Value
}

// Get returns the value of the last member named name (the one a JSON
// decoder keeps when a name repeats) and whether there is one.
func (r Record) Get(name string) (Value, bool) {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i].Name == name {
			return r[i].Value, true
		}
	}
	return "", false
}

// UnmarshalJSON reads a JSON object (null gives an empty Record),
// replacing r's members.
func (r *Record) UnmarshalJSON(b []byte) error {
	*r = (*r)[:0]
	var d jsondec.Decoder
	d.Reset(b)
	decodeRecordJSON(&d, r)
	err := d.Finish()
	// b belongs to the caller: keep copies, of the members read before an
	// error too.
	for i := range *r {
		f := &(*r)[i]
		f.Name = string(bytes.Clone([]byte(f.Name)))
		f.Value = Value(bytes.Clone([]byte(f.Value)))
	}
	return err
}

// decodeRecordJSON appends the members of an object to *r.
func decodeRecordJSON(d *jsondec.Decoder, r *Record) {
	if !d.Object() {
		return
	}
	if *r == nil {
		// One allocation for the common case: at most one member per
		// colon; more grow the slice.
		*r = make(Record, 0, min(bytes.Count(d.Rest(), []byte{':'}), 64))
	}
	for d.Member() {
		if len(*r) == MaxRecordFields {
			d.Fail("more than "+strconv.Itoa(MaxRecordFields)+" members", ErrRecordTooLarge)
			return
		}
		f := Field{Name: d.KeyString()}
		d.Text((*string)(&f.Value))
		*r = append(*r, f)
	}
}

// UnmarshalXML reads the child elements of start, replacing r's members.
func (r *Record) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*r = (*r)[:0]
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(*r) == MaxRecordFields {
				return ErrRecordTooLarge
			}
			var child struct {
				Text  string     `xml:",chardata"`
				Inner []byte     `xml:",innerxml"`
				Sub   []struct{} `xml:",any"`
			}
			if err := d.DecodeElement(&child, &t); err != nil {
				return err
			}
			v := Value(child.Text)
			if len(child.Sub) > 0 {
				v = Value(child.Inner)
			}
			*r = append(*r, Field{Name: t.Name.Local, Value: v})
		case xml.EndElement:
			return nil
		}
	}
}

// Job is a job: work the server runs on devices. Its member names are not
// established from a documented example or a capture, so it is read as a
// Record: job.Get("…").
type Job struct{ Record }

// JobResult is the result of a job on one device; read as a Record (see
// Job).
type JobResult struct{ Record }

// V1Job is a job of the v1 jobs inventory (resource "jobs"); read as a
// Record (see Job).
type V1Job struct{ Record }
