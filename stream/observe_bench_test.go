package stream

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// atomicObserver counts events and sums lags with one atomic add each, as
// a Prometheus counter and histogram would.
type atomicObserver struct {
	NopObserver
	events, lag atomic.Int64
}

func (o *atomicObserver) Delivered(d DeliveryInfo) {
	o.events.Add(int64(d.Events))
	o.lag.Add(int64(d.Lag))
}

// BenchmarkObserveHandOver is what counting a Subscription block's hand-off
// costs, without an Observer and with one; compare it with
// BenchmarkSplitDedup, the rest of the block's way to the consumer.
func BenchmarkObserveHandOver(b *testing.B) {
	for _, n := range []int{1, 100} {
		evs := make([]Event, n)
		for i := range evs {
			evs[i].Timestamp = time.Now().Add(time.Duration(i) * time.Millisecond)
		}
		for _, name := range []string{"none", "observer"} {
			s := &Subscription{}
			if name == "observer" {
				s.obs = newObserver(&atomicObserver{}, 1, "tcp")
			}
			b.Run(fmt.Sprintf("%dev/%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.countHandOver(evs, 0, 0)
				}
			})
		}
	}
}
