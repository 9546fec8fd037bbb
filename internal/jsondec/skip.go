package jsondec

// Checking and consuming a value without decoding it: rawValue and the
// literals, numbers and compound values it reads, each checked against
// JSON's grammar and, for compound values, MaxDepth.

// rawValue checks and consumes one value and returns its text.
func (d *Decoder) rawValue() []byte {
	start := d.pos
	switch c := d.peek(); c {
	case '"':
		start = d.pos
		d.scanString()
	case '{', '[':
		start = d.pos
		d.compound()
	case 't':
		start = d.pos
		d.literal("true")
	case 'f':
		start = d.pos
		d.literal("false")
	case 'n':
		start = d.pos
		d.literal("null")
	default:
		start = d.pos
		if c == '-' || (c >= '0' && c <= '9') {
			d.number()
		} else {
			d.unexpected("beginning of value")
		}
	}
	if d.err != nil {
		return nil
	}
	return d.buf[start:d.pos]
}

// literal consumes the literal lit, which must start at pos.
func (d *Decoder) literal(lit string) {
	if len(d.buf)-d.pos >= len(lit) && string(d.buf[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return
	}
	// Find the first wrong byte, as encoding/json reports it.
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.buf) || d.buf[d.pos] != lit[i] {
			d.unexpected("literal " + lit)
			return
		}
		d.pos++
	}
}

// number consumes a number starting at pos, checking JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *Decoder) number() {
	b, i := d.buf, d.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		d.unexpected("digit in numeric literal")
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			d.unexpected("digit after decimal point in numeric literal")
			return
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			d.unexpected("digit in exponent of numeric literal")
			return
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.pos = i
}

// compound checks and consumes an object or array starting at pos,
// without recursion: the kinds of the open containers are kept in a bit
// stack (1 object, 0 array), on the Go stack for the first 64 levels.
func (d *Decoder) compound() {
	var small uint64
	var big []uint64 // levels 64 and deeper, allocated only for them
	n := 0           // containers open in this call
	push := func(obj bool) bool {
		if d.depth+n+1 > MaxDepth {
			d.fail("exceeded max depth", ErrDepth)
			return false
		}
		w, bit := n/64, uint(n%64)
		var word *uint64
		if w == 0 {
			word = &small
		} else {
			for len(big) < w {
				big = append(big, 0)
			}
			word = &big[w-1]
		}
		if obj {
			*word |= 1 << bit
		} else {
			*word &^= 1 << bit
		}
		n++
		return true
	}
	top := func() bool { // is the innermost open container an object?
		i := n - 1
		if i < 64 {
			return small>>uint(i)&1 == 1
		}
		return big[i/64-1]>>uint(i%64)&1 == 1
	}
	// key reads an object key and its colon.
	key := func() bool {
		if d.peek() != '"' {
			d.unexpected("beginning of object key string")
			return false
		}
		d.scanString()
		if d.err != nil {
			return false
		}
		if d.peek() != ':' {
			d.unexpected("':' after object key")
			return false
		}
		d.pos++
		return true
	}

	for {
		// A value starts here.
		switch c := d.peek(); c {
		case '{':
			if !push(true) {
				return
			}
			d.pos++
			if d.peek() == '}' {
				d.pos++
				n--
				break
			}
			if !key() {
				return
			}
			continue
		case '[':
			if !push(false) {
				return
			}
			d.pos++
			if d.peek() == ']' {
				d.pos++
				n--
				break
			}
			continue
		case '"':
			d.scanString()
		case 't':
			d.literal("true")
		case 'f':
			d.literal("false")
		case 'n':
			d.literal("null")
		default:
			if c == '-' || (c >= '0' && c <= '9') {
				d.number()
			} else {
				d.unexpected("beginning of value")
			}
		}
		if d.err != nil {
			return
		}
		// After a value: close containers until one continues.
		for {
			if n == 0 {
				return
			}
			obj := top()
			c := d.peek()
			if c == ',' {
				d.pos++
				if obj && !key() {
					return
				}
				break
			}
			if obj && c == '}' || !obj && c == ']' {
				d.pos++
				n--
				continue
			}
			if obj {
				d.unexpected("',' or '}' after object member")
			} else {
				d.unexpected("',' or ']' after array element")
			}
			return
		}
	}
}
