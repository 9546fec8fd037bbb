package streamtest

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestQueueAgainstSlice drives the ring buffer and a plain slice with the
// same random operations and compares them after each one.
func TestQueueAgainstSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q queue
	var model []int
	item := func(i int) qitem { return qitem{at: time.Unix(int64(i), 0)} }
	next := 0
	for step := range 20000 {
		switch op := rng.IntN(10); {
		case op < 5:
			for range rng.IntN(40) {
				q.PushBack(item(next))
				model = append(model, next)
				next++
			}
		case op < 6:
			var front []qitem
			var ids []int
			for range rng.IntN(30) {
				front = append(front, item(next))
				ids = append(ids, next)
				next++
			}
			q.PushFront(front)
			model = append(ids, model...)
		case op < 9:
			for range min(rng.IntN(60), len(model)) {
				if got := int(q.PopFront().at.Unix()); got != model[0] {
					t.Fatalf("step %d: popped %d, want %d", step, got, model[0])
				}
				model = model[1:]
			}
		default:
			if rng.IntN(20) == 0 {
				q.Clear()
				model = nil
			}
		}
		if q.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", step, q.Len(), len(model))
		}
		if len(model) > 0 && int(q.Front().at.Unix()) != model[0] {
			t.Fatalf("step %d: front %d, want %d", step, q.Front().at.Unix(), model[0])
		}
	}
	q.MarkReplay()
	for q.Len() > 0 {
		if !q.PopFront().replay {
			t.Fatal("MarkReplay missed an item")
		}
	}
}

func TestQueueShrinks(t *testing.T) {
	var q queue
	for range 100000 {
		q.PushBack(qitem{})
	}
	for range 99990 {
		q.PopFront()
	}
	if c := len(q.buf); c > 2048 {
		t.Fatalf("capacity %d after draining to 10 items", c)
	}
}
