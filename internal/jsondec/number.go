package jsondec

import "strconv"

// ParseInt parses the JSON text of a value as an integer the way the
// stream package's Number type always has: surrounding quotes are
// removed (all of them), "" and null are 0, then the text is parsed by
// strconv.ParseInt in base 10 or, failing that, when it is a decimal
// number (digits, signs, a point, an exponent: not NaN, Inf, hexadecimal
// or underscores, which strconv.ParseFloat also reads), by
// strconv.ParseFloat and truncated; if both fail, ParseInt's error is
// returned. A number beyond the range of int64 is an error wrapping
// strconv.ErrRange, never a value: Go's conversion of such a float gives
// an arbitrary one (math.MinInt64 on amd64, for 1e19 as for NaN).
func ParseInt(raw []byte) (int64, error) {
	s := raw
	for len(s) > 0 && s[0] == '"' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '"' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 || string(s) == "null" {
		return 0, nil
	}
	// The common case, a sign and up to 18 digits, cannot overflow.
	if len(s) <= 19 {
		neg, digits := false, s
		if digits[0] == '-' || digits[0] == '+' {
			neg, digits = digits[0] == '-', digits[1:]
		}
		if len(digits) > 0 && len(digits) <= 18 {
			var n int64
			for _, c := range digits {
				if c < '0' || c > '9' {
					goto slow
				}
				n = n*10 + int64(c-'0')
			}
			if neg {
				n = -n
			}
			return n, nil
		}
	}
slow:
	i, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		if !decimal(s) {
			return 0, err
		}
		f, ferr := strconv.ParseFloat(string(s), 64)
		if ferr != nil {
			return 0, err
		}
		if f < -(1<<63) || f >= 1<<63 {
			return 0, &strconv.NumError{Func: "ParseInt", Num: string(s), Err: strconv.ErrRange}
		}
		i = int64(f)
	}
	return i, nil
}

// decimal reports whether s holds only the bytes of a decimal number:
// digits, signs, a point and an exponent mark.
func decimal(s []byte) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E' {
			return false
		}
	}
	return true
}
