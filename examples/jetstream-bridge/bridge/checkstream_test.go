package bridge

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// Config.CheckStream replaces the check before each session: while it
// fails, no push connection is made and no block taken (the failure is
// transient: ErrJetStreamUnavailable, retried); once it passes, the
// events flow.
func TestCheckStreamGatesSessions(t *testing.T) {
	ns := startNATS(t)
	nc := connect(t, ns.url())
	js := newJS(t, nc)
	testStream(t, js, DefaultStream, DefaultSubjectPrefix)
	sim, mon := startSim(t, 20)
	sim.Publish(events(0, 100)...)
	var fit atomic.Bool
	var calls atomic.Int64
	unfit := errors.New("the stream does not fit")
	b, err := New(Config{Conn: nc, Push: pushConfig(sim), Monitors: []uint32{mon}, NewBackOff: fastBackOff,
		CheckStream: func(ctx context.Context) error {
			calls.Add(1)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("CheckStream called without a deadline")
			}
			if !fit.Load() {
				return unfit
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := runBridge(t, b)
	waitFor(t, hangTimeout, "failed checks", func() bool { return b.Stats().Failures >= 3 })
	st, ms := sim.Stats(mon), b.Monitors()
	if st.ConnectsOK != 0 || b.Stats().Sessions != 0 || !errors.Is(ms[0].Err, ErrJetStreamUnavailable) || !errors.Is(ms[0].Err, unfit) {
		t.Errorf("while the check fails: simulator %+v, bridge %+v, monitor error %v", st, b.Stats(), ms[0].Err)
	}
	fit.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	if err := sim.WaitIdle(ctx, mon); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t, hangTimeout); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readStream(t, js, DefaultStream), 100, true)
}
