package stream

import (
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// panicObserver panics in its first InvalidEvents call, as a buggy
// metrics adapter may.
type panicObserver struct {
	NopObserver
	calls atomic.Int32
}

type observerPanic struct{}

func (o *panicObserver) InvalidEvents(InvalidInfo) {
	if o.calls.Add(1) == 1 {
		panic(observerPanic{})
	}
}

// invalidBurstServer serves one connection with a burst of three blocks,
// the second holding an invalid event, and returns the fakeConn through
// fcs.
func invalidBurstServer(t *testing.T, fcs chan<- *fakeConn) *pipeDialer {
	return &pipeDialer{serve: func(i int, c net.Conn) {
		fc, ok := loggedIn(t, c)
		if !ok {
			return
		}
		fcs <- fc
		a, _ := dpDoc("a")
		bad := jsonDoc(
			jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", dpBody("b", 1), false),
			jsonMsg("7603/DataPoint/dev1/temp", "INSERTION", "2015-06-14T18:37:27.694Z", "DataPoint", `{"id":"x","data":tru}`, false))
		d, _ := dpDoc("d")
		fc.burst([]string{a, bad, d}, make([]bool, 3))
		<-fc.done
	}}
}

// recovered runs f and reports whether it panicked with observerPanic.
func recovered(t *testing.T, f func()) (panicked bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(observerPanic); !ok {
				panic(r)
			}
			panicked = true
		}
	}()
	f()
	return false
}

// TestObserverPanicLeavesTheBatchWhole: an Observer that panics while a
// Batch is split on the consumer's goroutine (Batch.Events, All) hands
// the panic to the consumer, and leaves the Batch whole: a consumer that
// recovers gets all its events from Events, or from the next loop over
// All, and acks them — none is lost (acked without being handed over)
// because an Observer panicked, and an Ack that panicked acks when called
// again.
func TestObserverPanicLeavesTheBatchWhole(t *testing.T) {
	for _, how := range []string{"Events", "Ack", "All/AckManual", "All/AckOnReceive"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fcs := make(chan *fakeConn, 1)
				cfg := testConfig(invalidBurstServer(t, fcs))
				cfg.MaxBatchBlocks = 1 // one Batch per block
				obs := &panicObserver{}
				cfg.Observer = obs
				ack := AckManual
				if how == "All/AckOnReceive" {
					ack = AckOnReceive
				}
				sub, err := SubscribeBatches(t.Context(), cfg, ack)
				if err != nil {
					t.Fatal(err)
				}
				fc := <-fcs
				var got []string
				ids := func(evs ...Event) {
					for _, ev := range evs {
						if dp, err := ev.DataPoint(); err == nil {
							got = append(got, dp.ID)
						} else {
							got = append(got, "invalid")
						}
					}
				}
				// A loop left waiting for a Batch that never comes (the
				// panicked one, dropped) ends on the fake clock.
				guard := time.AfterFunc(time.Hour, func() { sub.Close() })
				defer guard.Stop()
				panics := 0
				if how == "Events" || how == "Ack" {
					for range 3 {
						b, ok := <-sub.Batches()
						if !ok {
							break
						}
						first := b.Events
						if how == "Ack" {
							first = func() []Event { b.Ack(); return nil }
						}
						if recovered(t, func() { first() }) {
							panics++
						}
						ids(b.Events()...)
						if err := b.Ack(); err != nil {
							t.Fatal(err)
						}
					}
				} else {
					for range 2 {
						if !recovered(t, func() {
							for ev, err := range sub.All() {
								if err != nil {
									t.Fatal(err)
								}
								ids(ev)
								if len(got) == 4 {
									break
								}
							}
						}) {
							break
						}
						panics++
					}
				}
				if panics != 1 {
					t.Errorf("%d panics reached the consumer, want 1", panics)
				}
				if want := []string{"a", "b", "invalid", "d"}; !slices.Equal(got, want) {
					t.Errorf("events %q, want %q", got, want)
				}
				sub.Shutdown(t.Context())
				<-fc.done
				// Every block handed over is acked; with All and
				// AckManual, d's block is not: the loop broke on d.
				want := []uint16{0, 1, 2}
				if how == "All/AckManual" {
					want = want[:2]
				}
				if acks := drainAcks(fc); !slices.Equal(acks, want) {
					t.Errorf("acks %v, want %v", acks, want)
				}
				if st := sub.Stats(); st.Invalid != 1 || st.Events != 4 {
					t.Errorf("stats %+v", st)
				}
			})
		})
	}
}
