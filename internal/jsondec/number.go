package jsondec

import "strconv"

// ParseInt parses the JSON text of a value as an integer the way the
// stream package's Number type always has: surrounding quotes are
// removed (all of them), "" and null are 0, then the text is parsed by
// strconv.ParseInt in base 10 or, failing that, by strconv.ParseFloat and
// truncated; if both fail, ParseInt's error is returned.
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
		f, ferr := strconv.ParseFloat(string(s), 64)
		if ferr != nil {
			return 0, err
		}
		i = int64(f)
	}
	return i, nil
}
