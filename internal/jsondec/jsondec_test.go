package jsondec

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// FoldName matches keys to names exactly when encoding/json's
// case-insensitive match does, over every rune that has a case folding.
func TestFoldNameMatchesEncodingJSON(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.SimpleFold(r) == r || !unicode.IsLetter(r) {
			continue // encoding/json ignores a tag with other runes
		}
		name := "a" + string(r)
		typ := reflect.StructOf([]reflect.StructField{{
			Name: "F", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(`json:"` + name + `"`),
		}})
		for f := unicode.SimpleFold(r); ; f = unicode.SimpleFold(f) {
			for _, key := range []string{"A" + string(f), "a" + string(f), "b" + string(f)} {
				v := reflect.New(typ)
				if err := json.Unmarshal([]byte(`{"`+key+`":1}`), v.Interface()); err != nil {
					t.Fatal(err)
				}
				matched := v.Elem().Field(0).Int() == 1
				if folded := FoldName(key) == FoldName(name); folded != matched {
					t.Fatalf("key %q, name %q: encoding/json matches %v, FoldName equal %v", key, name, matched, folded)
				}
			}
			if f == r {
				break
			}
		}
	}
}

// ParseInt is what Number.UnmarshalJSON always did: trim quotes, then
// strconv.ParseInt or, for decimal text (as strconv.ParseFloat reads it),
// the number truncated toward zero, exactly (math/big's reading of it
// here), a range error when that is beyond int64.
func TestParseIntMatchesStrconv(t *testing.T) {
	ref := func(b []byte) (int64, error) {
		s := strings.Trim(string(b), `"`)
		if s == "" || s == "null" {
			return 0, nil
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if strings.Trim(s, "0123456789+-.eE") != "" {
				return 0, err
			}
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil && !errors.Is(ferr, strconv.ErrRange) {
				return 0, err
			}
			rangeErr := &strconv.NumError{Func: "ParseInt", Num: s, Err: strconv.ErrRange}
			switch {
			case f == 0:
				return 0, nil
			case math.IsInf(f, 0) || math.Abs(f) >= 1<<64:
				return 0, rangeErr
			}
			r, ok := new(big.Rat).SetString(s)
			if !ok {
				t.Fatalf("math/big cannot read %q", s)
			}
			n := new(big.Int).Quo(r.Num(), r.Denom())
			if !n.IsInt64() {
				return 0, rangeErr
			}
			i = n.Int64()
		}
		return i, nil
	}
	inputs := []string{"", `""`, `"`, `""""`, "null", `"null"`, "0", "-0", "+0", "7", "-7", "+7", "007", "1.9", "-1.9",
		"1e3", "1E-3", "123456789012345678", "-123456789012345678", "1234567890123456789", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "9223372036854775807.5", "0.99999999999999999", "9999999999999999999", "-9999999999999999999", "+9999999999999999999", "-9223372036854775809", "99999999999999999999", "1e400",
		"-", "+", "--1", "1-", " 1", "1 ", "0x10", "0x1p3", "1_000", "inf", "-Inf", "NaN", "{}", "[]", "true", `"7"x`}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		n := r.IntN(22)
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789-+.eE\" x"[r.IntN(18)]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		got, gerr := ParseInt([]byte(in))
		want, werr := ref([]byte(in))
		if got != want || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Errorf("ParseInt(%q) = %d, %v; want %d, %v", in, got, gerr, want, werr)
		}
	}
}

// Skipping deep documents: the bit stack beyond 64 levels keeps arrays and
// objects apart.
func TestSkipDeepMixedNesting(t *testing.T) {
	for _, depth := range []int{63, 64, 65, 200, 9999} {
		var open, closeOK, closeBad strings.Builder
		for i := range depth {
			if i%3 == 0 {
				open.WriteString(`{"k":`)
			} else {
				open.WriteString(`[`)
			}
		}
		for i := depth - 1; i >= 0; i-- {
			if i%3 == 0 {
				closeOK.WriteString("}")
				closeBad.WriteString("]")
			} else {
				closeOK.WriteString("]")
				closeBad.WriteString("]")
			}
		}
		for _, c := range []struct {
			doc string
			ok  bool
		}{
			{open.String() + "1" + closeOK.String(), true},
			{open.String() + "1" + closeBad.String(), false},
		} {
			var d Decoder
			d.Reset([]byte(c.doc))
			d.Skip()
			err := d.Finish()
			if (err == nil) != c.ok || (err == nil) != json.Valid([]byte(c.doc)) {
				t.Errorf("depth %d ok=%v: err = %v", depth, c.ok, err)
			}
		}
	}
}
