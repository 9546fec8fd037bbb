package bridge

import "testing"

// A nil *Bridge (New's result before its error was checked) prints
// "<nil>": its String does not panic when called directly.
func TestNilBridgePrints(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("String of a nil *Bridge panicked: %v", r)
		}
	}()
	var b *Bridge
	if s := b.String(); s != "<nil>" {
		t.Errorf("String = %q", s)
	}
}
