package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

// TestRecordUnmarshalCopiesOnError: Record.UnmarshalJSON keeps copies of
// the names and values it read, also when it fails (a body over
// MaxRecordFields members, through encoding/json, which hands over the
// document valid; or a malformed one, called directly): the caller's
// buffer is the caller's to reuse, as a json.Decoder reuses its own.
// Before, the members read up to the error kept sharing it, so reusing
// the buffer changed their strings.
func TestRecordUnmarshalCopiesOnError(t *testing.T) {
	var big bytes.Buffer
	big.WriteString(`{`)
	for i := range MaxRecordFields + 1 {
		if i > 0 {
			big.WriteByte(',')
		}
		big.WriteString(`"k` + strconv.Itoa(i) + `":"v` + strconv.Itoa(i) + `"`)
	}
	big.WriteString(`}`)
	for _, c := range []struct {
		name string
		doc  []byte
		call func(*Record, []byte) error
		want error
	}{
		{"too many members, via encoding/json", big.Bytes(), func(r *Record, b []byte) error { return json.Unmarshal(b, r) }, ErrRecordTooLarge},
		{"malformed, called directly", []byte(`{"k0":"v0","k1":tru}`), (*Record).UnmarshalJSON, nil},
	} {
		buf := bytes.Clone(c.doc)
		var r Record
		err := c.call(&r, buf)
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if len(r) == 0 {
			continue
		}
		for i := range buf {
			buf[i] = 'X' // the caller reuses its buffer
		}
		if r[0].Name != "k0" || r[0].Value != "v0" {
			t.Errorf("%s: after the caller reused its buffer, the first member is %q = %q, want k0 = v0", c.name, r[0].Name, r[0].Value)
		}
	}
}
