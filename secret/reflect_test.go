package secret_test

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pushmon/pushmon/secret"
)

// go-cmp's reporter prints two values whose String methods agree by
// reflection, unexported fields included: it must find no text to print.
func TestCmpDiffDoesNotPrintTheSecret(t *testing.T) {
	type config struct {
		User string
		Pass secret.String
		pass secret.String
	}
	a := config{"u", secret.New("hunter2-A"), secret.New("hunter2-A")}
	b := config{"u", secret.New("hunter2-B"), secret.New("hunter2-B")}
	for _, d := range []string{
		cmp.Diff(a, b, cmp.AllowUnexported(config{})),
		cmp.Diff(secret.New("hunter2-A"), secret.New("hunter2-B")),
		cmp.Diff([]secret.String{secret.New("hunter2-A")}, []secret.String{secret.New("hunter2-B")}),
		cmp.Diff(map[string]any{"k": secret.New("hunter2-A")}, map[string]any{"k": secret.New("hunter2-B")}),
	} {
		if d == "" {
			t.Fatal("cmp.Diff found no difference between different secrets")
		}
		if strings.Contains(d, "hunter2") {
			t.Errorf("cmp.Diff printed the secret:\n%s", d)
		}
	}
	if d := cmp.Diff(a, config{"u", secret.New("hunter2-A"), secret.New("hunter2-A")}, cmp.AllowUnexported(config{})); d != "" {
		t.Errorf("equal secrets differ:\n%s", d)
	}
}

// Strings holding the same text are deeply equal, as structs holding
// them (a decoded Spec and the one expected) are; different texts are not.
func TestDeepEqualComparesTheText(t *testing.T) {
	x := strings.Repeat("x", 3)
	a, b := secret.New("pw-"+x), secret.New("pw-"+x)
	if !reflect.DeepEqual(a, b) {
		t.Error("two Strings of one text are not deeply equal")
	}
	if reflect.DeepEqual(a, secret.New("pw-y")) || reflect.DeepEqual(a, secret.String{}) {
		t.Error("Strings of different texts are deeply equal")
	}
	// A text no String holds any more is forgotten, and comes back intact.
	for range 3 {
		_ = secret.New("gone-" + x)
		runtime.GC()
	}
	if s := secret.New("gone-" + x); s.Reveal() != "gone-xxx" || !s.Equal(secret.New("gone-xxx")) {
		t.Error("a text held again after a collection is not intact")
	}
	runtime.KeepAlive(a)
}
