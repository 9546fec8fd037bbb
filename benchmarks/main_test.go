package benchmarks

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/pushmon/pushmon/benchmarks/internal/pushserver"
)

func TestMain(m *testing.M) {
	pushserver.MaybeRunChild() // the benchmark binary is also the push server
	code := m.Run()
	closeEnv()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
