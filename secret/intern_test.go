package secret

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestInternConcurrentWithGC(t *testing.T) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3000 {
				txt := fmt.Sprintf("pw-%d", i%17)
				a := New(txt)
				b := New(txt)
				if a.Reveal() != txt || !a.Equal(b) || !reflect.DeepEqual(a, b) || a != b {
					t.Errorf("g%d: %q %q", g, a.Reveal(), b.Reveal())
					return
				}
				j, _ := json.Marshal(txt)
				var c String
				if err := json.Unmarshal(j, &c); err != nil || c != a {
					t.Errorf("json: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
}

func TestInternTableShrinks(t *testing.T) {
	for i := range 100000 {
		_ = New(fmt.Sprintf("distinct-%d", i))
	}
	// Cleanups run on their own goroutine, after a collection. The minute
	// guards against a hang and is no budget: the table shrinks within a
	// few collections.
	n := 0
	for deadline := time.Now().Add(time.Minute); ; {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
		interned.Lock()
		n = len(interned.m)
		interned.Unlock()
		if n <= 1000 || time.Now().After(deadline) {
			break
		}
	}
	if n > 1000 {
		t.Errorf("%d entries left", n)
	}
}
