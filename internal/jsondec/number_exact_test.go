package jsondec

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

// TestParseIntTruncatesExactly: a number with a fraction or an exponent
// is truncated toward zero exactly, however many digits it has. Before,
// it went through a float64, whose rounding invented values: 1 for
// 0.99999999999999999 (a dpConnectionStatus of 0.99999999999999999 made
// a device connected), 9007199254740992 for 9007199254740993.0, and a
// range error for 9223372036854775807.0, which fits.
func TestParseIntTruncatesExactly(t *testing.T) {
	for in, want := range map[string]int64{
		"0.99999999999999999":                                 0,
		"-0.99999999999999999":                                0,
		`"0.99999999999999999"`:                               0,
		"1.99999999999999999":                                 1,
		"9007199254740993.0":                                  9007199254740993,
		"9007199254740993.5":                                  9007199254740993,
		"-9007199254740993.9":                                 -9007199254740993,
		"1.2345678901234567891e18":                            1234567890123456789,
		"12345678901234567891e-1":                             1234567890123456789,
		"9223372036854775807.0":                               math.MaxInt64,
		"9223372036854775807.999999":                          math.MaxInt64,
		"-9223372036854775808.999":                            math.MinInt64,
		"922337203685477580.7e1":                              math.MaxInt64,
		"0.0000000000000000000000000009223372036854775807e46": math.MaxInt64,
		"00000000000000000000000000000000000000001.5":         1,
		"123e-2":                  1,
		"5.":                      5,
		".5":                      0,
		"-.5e1":                   -5,
		"0e99999999999999999999":  0,
		"7e-99999999999999999999": 0,
	} {
		if got, err := ParseInt([]byte(in)); got != want || err != nil {
			t.Errorf("ParseInt(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"9223372036854775808.0", "-9223372036854775809", "-9223372036854775809.5", "9.3e18", "1e19",
		"1e400", "1e99999999999999999999", "0.00000000000000000000000000009223372036854775808e47"} {
		if got, err := ParseInt([]byte(in)); !errors.Is(err, strconv.ErrRange) {
			t.Errorf("ParseInt(%s) = %d, %v; want an error wrapping ErrRange", in, got, err)
		}
	}
	for _, in := range []string{".", "-.", "+", "e5", ".e5", "1e", "1e+", "1.5.5", "1..5", "1e5.5", "1e5e5", "1.5 ", "++1", "1+"} {
		if got, err := ParseInt([]byte(in)); !errors.Is(err, strconv.ErrSyntax) {
			t.Errorf("ParseInt(%q) = %d, %v; want an error wrapping ErrSyntax", in, got, err)
		}
	}
}
