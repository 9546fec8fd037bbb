package envelope

import (
	"testing"
	"time"
)

// TestNumericTimestampTruncatesAFraction: a Msg's timestamp given as a
// number of epoch milliseconds is read as a body's Millis reads one: an
// integer, or a number with a fraction or exponent truncated toward zero
// (exactly). A number beyond int64, or a literal, makes the Msg invalid.
// Before, a fraction made the Msg invalid although the same value in its
// body read as a time.
func TestNumericTimestampTruncatesAFraction(t *testing.T) {
	want := time.UnixMilli(1434307047694).UTC()
	for _, ts := range []string{`1434307047694`, `1434307047694.0`, `1434307047694.999`, `1.434307047694e12`} {
		evs, err := split(t, `{"Document":{"Msg":{"topic":"1/A/1","timestamp":`+ts+`,"A":1}}}`, JSON)
		if err != nil || len(evs) != 1 || evs[0].Err != nil || !evs[0].Timestamp.Equal(want) {
			t.Errorf("timestamp %s: %+v, %v; want %v", ts, evs, err, want)
		}
	}
	for _, ts := range []string{`1e30`, `true`, `-9223372036854775809`} {
		evs, err := split(t, `{"Document":{"Msg":{"topic":"1/A/1","timestamp":`+ts+`,"A":1}}}`, JSON)
		if err != nil || len(evs) != 1 || evs[0].Err == nil {
			t.Errorf("timestamp %s: %+v, %v; want an invalid event", ts, evs, err)
		}
	}
}
