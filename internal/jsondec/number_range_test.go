package jsondec

import (
	"errors"
	"strconv"
	"testing"
)

// TestParseIntOutOfRange: a number beyond int64's range, as a number or
// in a string, is an error wrapping strconv.ErrRange, and text that is not
// a decimal number (NaN, Inf, hexadecimal floats, underscores) is a syntax
// error. Before, strconv.ParseFloat read them and Go's conversion of the
// float turned them all into math.MinInt64 on amd64 (9.3e18, a positive
// number, included), with no error: a value invented.
func TestParseIntOutOfRange(t *testing.T) {
	for _, in := range []string{"9223372036854775808", "1e19", "9.3e18", "-9.3e18", "1e300", `"1e300"`, "-1e300"} {
		i, err := ParseInt([]byte(in))
		if !errors.Is(err, strconv.ErrRange) {
			t.Errorf("ParseInt(%s) = %d, %v; want an error wrapping ErrRange", in, i, err)
		}
	}
	for _, in := range []string{`"NaN"`, `"Inf"`, `"-infinity"`, `"0x1p62"`, `"1_000"`, `"1_0.5"`} {
		i, err := ParseInt([]byte(in))
		if !errors.Is(err, strconv.ErrSyntax) {
			t.Errorf("ParseInt(%s) = %d, %v; want an error wrapping ErrSyntax", in, i, err)
		}
	}
	for in, want := range map[string]int64{"9.2e18": 9200000000000000000, "-9223372036854775808": -1 << 63,
		"-9.223372036854775808e18": -1 << 63, "1.9": 1, "-1.9": -1, `"1e3"`: 1000, "1e-400": 0} {
		if i, err := ParseInt([]byte(in)); i != want || err != nil {
			t.Errorf("ParseInt(%s) = %d, %v; want %d", in, i, err, want)
		}
	}
}
