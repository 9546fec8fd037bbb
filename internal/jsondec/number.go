package jsondec

import "strconv"

// ParseInt parses the JSON text of a value as an integer the way the
// stream package's Number type always has: surrounding quotes are
// removed (all of them), "" and null are 0, then the text is parsed by
// strconv.ParseInt in base 10 or, failing that, when it is a decimal
// number (a sign, digits with a point, an exponent: the decimal syntax
// strconv.ParseFloat reads, not NaN, Inf, hexadecimal or underscores), it
// is truncated toward zero, exactly, digit by digit; if both fail,
// ParseInt's error is returned. A number whose integer part is beyond the
// range of int64 is an error wrapping strconv.ErrRange, never a value.
//
// The truncation is not done through a float64, which rounds: it would
// make 0.99999999999999999 a 1 and 9007199254740993.0 a
// 9007199254740992, values the text does not hold.
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
		n, ok, overflow := truncate(s)
		if !ok {
			return 0, err
		}
		if overflow {
			return 0, &strconv.NumError{Func: "ParseInt", Num: string(s), Err: strconv.ErrRange}
		}
		i = n
	}
	return i, nil
}

// truncate returns the integer part of the decimal number s, exactly. ok
// is false unless s is a decimal number as strconv.ParseFloat reads one:
// an optional sign, digits with an optional point (at least one digit, on
// either side of it), an optional exponent ([eE], an optional sign,
// digits). overflow is true when the integer part is beyond int64.
func truncate(s []byte) (n int64, ok, overflow bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digitsAt := func(i int) int { // the end of the run of digits at i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i
	}
	intStart := i
	intEnd := digitsAt(i)
	fracStart, fracEnd := intEnd, intEnd
	if intEnd < len(s) && s[intEnd] == '.' {
		fracStart = intEnd + 1
		fracEnd = digitsAt(fracStart)
	}
	if intEnd == intStart && fracEnd == fracStart {
		return 0, false, false
	}
	// The exponent, saturated far beyond any that matters.
	const expMax = 1 << 40
	var exp int64
	if i = fracEnd; i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		end := digitsAt(i)
		if end == i {
			return 0, false, false
		}
		for ; i < end; i++ {
			if exp < expMax {
				exp = exp*10 + int64(s[i]-'0')
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return 0, false, false
	}
	// The mantissa's digits are s[intStart:intEnd] then s[fracStart:fracEnd];
	// the point follows the first intLen of them, moved by the exponent.
	intLen, fracLen := intEnd-intStart, fracEnd-fracStart
	digit := func(k int) byte {
		if k < intLen {
			return s[intStart+k] - '0'
		}
		return s[fracStart+k-intLen] - '0'
	}
	first := 0 // the first significant digit
	for first < intLen+fracLen && digit(first) == 0 {
		first++
	}
	if first == intLen+fracLen {
		return 0, true, false // zero, whatever the exponent
	}
	point := int64(intLen) + exp - int64(first) // integer digits from first on
	if point <= 0 {
		return 0, true, false
	}
	if point > 19 {
		return 0, true, true
	}
	var u uint64 // at most 19 digits: below 1e19 < 2⁶⁴
	for k := range int(point) {
		u *= 10
		if j := first + k; j < intLen+fracLen {
			u += uint64(digit(j))
		}
	}
	if neg {
		if u > 1<<63 {
			return 0, true, true
		}
		return int64(-u), true, false
	}
	if u > 1<<63-1 {
		return 0, true, true
	}
	return int64(u), true, false
}
