package envelope

import (
	"strings"
	"testing"
	"time"
)

// parseRef is what ParseTime must agree with: time.Parse, up to
// maxTimeLen bytes.
func parseRef(s string) (time.Time, bool) {
	if len(s) > maxTimeLen {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

var timeCases = []string{
	"2012-04-17T14:14:07Z", "2012-04-17T14:14:07.1Z", "2012-04-17T14:14:07.028Z", "2012-04-17T14:14:07.123456789Z",
	"2012-04-17T14:14:07.1234567891Z", "2012-04-17T16:14:07.028+02:00", "2012-04-17T14:14:07-00:30",
	"2026-02-31T00:00:00Z", "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
	"2026-02-01T00:00:60Z", "2026-02-01T24:00:00Z", "2026-02-01T23:60:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
	"2026-04-31T00:00:00Z", "2026-04-30T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
	"2012-04-17t14:14:07Z", "2012-04-17T14:14:07z", "2012-04-17 14:14:07Z", "2012-04-17T14:14:07", "2012-04-17T14:14:07.Z",
	"2012-04-17T14:14:07,5Z", "+2012-04-17T14:14:07Z", "2012-4-17T14:14:07Z", "garbage", "", "2012-04-17T14:14:07.5x5Z",
	"2012-04-17T14:14:07+24:00", "2012-04-17T14:14:07+23:59", "2012-04-17T14:14:07.-5Z", "2012-04-17T14:14:0７Z",
	"2012-04-17T14:14:07.12345678901234567890Z", "2012-04-17T14:14:07.123456789012345678901+02:00",
}

// TestParseTimeRefusesLongStrings: a timestamp longer than maxTimeLen is
// refused without time.Parse, whose error would copy it twice; one of
// maxTimeLen bytes is still read.
func TestParseTimeRefusesLongStrings(t *testing.T) {
	at40 := "2012-04-17T14:14:07.12345678901234567890Z"[:maxTimeLen-1] + "Z"
	if _, ok := ParseTime(at40); !ok || len(at40) != maxTimeLen {
		t.Errorf("%q (%d bytes) refused", at40, len(at40))
	}
	long := "2012-04-17T14:14:07" + strings.Repeat("x", 10000)
	if n := testing.AllocsPerRun(10, func() {
		if _, ok := ParseTime(long); ok {
			t.Error("a 10 KB timestamp accepted")
		}
	}); n != 0 {
		t.Errorf("refusing a 10 KB timestamp allocated %.0f times", n)
	}
}

func TestParseTimeAgreesWithTimeParse(t *testing.T) {
	for _, s := range timeCases {
		got, ok := ParseTime(s)
		want, wantOK := parseRef(s)
		if ok != wantOK || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %t; time.Parse gives %v, %t", s, got, ok, want, wantOK)
		}
	}
}

func TestParseTimeFastPathAllocatesNothing(t *testing.T) {
	for _, s := range []string{"2012-04-17T14:14:07Z", "2024-05-01T12:00:00.123Z"} {
		if _, ok := fastTime(s); !ok {
			t.Errorf("%q takes the slow path", s)
		}
		if n := testing.AllocsPerRun(100, func() { ParseTime(s) }); n != 0 {
			t.Errorf("ParseTime(%q) allocates %.0f times", s, n)
		}
	}
}

// FuzzParseTime: ParseTime accepts exactly what time.Parse(RFC3339Nano)
// accepts, with the same instant, up to maxTimeLen bytes.
func FuzzParseTime(f *testing.F) {
	for _, s := range timeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseTime(s)
		want, wantOK := parseRef(s)
		if ok != wantOK || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %t; time.Parse gives %v, %t", s, got, ok, want, wantOK)
		}
	})
}
