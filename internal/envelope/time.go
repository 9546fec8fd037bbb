package envelope

import "time"

// ParseTime parses an event timestamp exactly as time.Parse with
// time.RFC3339Nano does, returning it in UTC; ok is false for whatever
// time.Parse refuses (February 31, second 60, hour 24, a missing zone …),
// and for a string longer than maxTimeLen. The form Remote Manager sends,
// YYYY-MM-DDTHH:MM:SS[.fraction]Z with at most nine fractional digits, is
// parsed without allocating; any other is handed to time.Parse.
func ParseTime(s string) (t time.Time, ok bool) {
	if t, ok := fastTime(s); ok {
		return t, true
	}
	if len(s) > maxTimeLen {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// maxTimeLen is the longest timestamp ParseTime reads: RFC 3339 with nine
// fractional digits and an offset takes 35 bytes. time.Parse would also
// take any number of fractional digits, but its error copies the string
// it refuses twice: a timestamp of megabytes would cost megabytes more.
const maxTimeLen = 40

// fastTime parses YYYY-MM-DDTHH:MM:SS[.d{1,9}]Z with the range checks of
// time.Parse; it declines (ok false) anything else, valid or not.
func fastTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok := true
	num := func(s string, lo, hi int) int {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			n = n*10 + int(c-'0')
		}
		if n < lo || n > hi {
			ok = false
		}
		return n
	}
	y := num(s[0:4], 0, 9999)
	mo := num(s[5:7], 1, 12)
	if !ok {
		return time.Time{}, false
	}
	d := num(s[8:10], 1, daysIn(mo, y))
	h := num(s[11:13], 0, 23)
	mi := num(s[14:16], 0, 59)
	sec := num(s[17:19], 0, 59)
	ns := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		ns = num(frac[1:], 0, 999_999_999)
		for i := len(frac) - 1; i < 9; i++ {
			ns *= 10
		}
	}
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
}

// daysIn returns the days of month m (1–12) of year y.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
