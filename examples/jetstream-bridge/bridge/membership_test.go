package bridge

import "testing"

// Tests of a replica's membership keys.

// The fingerprint of a monitor set ignores the order of the ids and tells
// different sets apart.
func TestMonitorSetFingerprint(t *testing.T) {
	a, b, c := monitorSet([]uint32{3, 1, 2}), monitorSet([]uint32{1, 2, 3}), monitorSet([]uint32{1, 2})
	if a != b || a == c || len(a) != 16 {
		t.Errorf("monitorSet: {3,1,2} %q, {1,2,3} %q, {1,2} %q", a, b, c)
	}
}
