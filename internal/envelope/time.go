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
	y1, ok1 := twoDigits(s, 0)
	y2, ok2 := twoDigits(s, 2)
	mo, ok3 := twoDigits(s, 5)
	d, ok4 := twoDigits(s, 8)
	h, ok5 := twoDigits(s, 11)
	mi, ok6 := twoDigits(s, 14)
	sec, ok7 := twoDigits(s, 17)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return time.Time{}, false
	}
	y := y1*100 + y2
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		for i := 1; i < len(frac); i++ {
			c := frac[i] - '0'
			if c > 9 {
				return time.Time{}, false
			}
			ns = ns*10 + int(c)
		}
		for i := len(frac) - 1; i < 9; i++ {
			ns *= 10
		}
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
}

// twoDigits reads the two decimal digits at s[i:i+2].
func twoDigits(s string, i int) (int, bool) {
	a, b := s[i]-'0', s[i+1]-'0'
	return int(a)*10 + int(b), a <= 9 && b <= 9
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
