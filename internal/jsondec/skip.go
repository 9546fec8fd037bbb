package jsondec

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
