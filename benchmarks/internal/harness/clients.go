package harness

// The clients a scenario runs: the bare reader, the Events API, the
// Batches API and its iterator, against one push server child.

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

func (s Scenario) runBare(ctx context.Context, env *Env, tag string, c *Counters) error {
	conn, err := dialBare(ctx, env.addr(s.Transport), env.tlsConfig(s.Transport), tag, s.Dataset.ID(), c)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Stopped gracefully: the pending read ends, the reader has written
	// the acks of every frame it consumed, and closeGracefully half-closes
	// so that the server reads them all.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	var handle func(protocol.PublishMessage) (int, error)
	if s.Kind != Ceiling {
		handle = newJSONBaseline(s.Kind == JSONTyped)
	}
	err = newBareReader(conn).run(c, handle)
	if ctx.Err() == nil {
		return err
	}
	closeGracefully(conn)
	return ctx.Err()
}

// config is the library's Config for the scenario.
func (s Scenario) config(env *Env, tag string, c *Counters) stream.Config {
	cfg := stream.Config{
		Addr:      env.addr(s.Transport),
		Username:  tag,
		Password:  secret.New("password"),
		MonitorID: s.Dataset.ID(),
		Plaintext: s.Transport == TCP,
		TLSConfig: env.tlsConfig(s.Transport),
		Dialer:    countingDialer{c},
		// Bounds on a starved machine only (the child builds a dataset's
		// frames before it answers the first connection to ask for it).
		HandshakeTimeout: hangTimeout,
		FrameTimeout:     hangTimeout,
		WriteTimeout:     hangTimeout,
		NewBackOff:       func() backoff.BackOff { return &backoff.StopBackOff{} }, // a drop is a failure here
	}
	if s.NoDedup {
		cfg.DedupWindow = -1
	}
	return cfg
}

// shutdownOn stops sub gracefully when ctx ends: Shutdown writes the
// acks of every block handed over, so that the server's count of acks can
// be checked against the frames consumed. The returned func waits for it.
func shutdownOn(ctx context.Context, sub interface{ Shutdown(context.Context) error }) (wait func()) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		sctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		sub.Shutdown(sctx)
	})
	return func() {
		if stop() {
			return // ctx never ended: Close ends the subscription
		}
		<-done
	}
}

// runEvents consumes the Events API: one channel receive per event.
func (s Scenario) runEvents(ctx context.Context, env *Env, tag string, c *Counters) error {
	sub, err := stream.Subscribe(context.WithoutCancel(ctx), s.config(env, tag, c))
	if err != nil {
		return err
	}
	defer sub.Close()
	defer shutdownOn(ctx, sub)()
	var n uint64
	switch s.Kind {
	case EventsRoute:
		for ev := range sub.Events() {
			if ev.Resource == "DataPoint" {
				n++
			}
			c.add(0, 1)
		}
	case EventsTyped:
		for ev := range sub.Events() {
			dp, err := ev.DataPoint()
			if err != nil {
				return err
			}
			n += uint64(len(dp.StreamID))
			c.add(0, 1)
		}
	}
	sinkU64.Store(n)
	if err := sub.Err(); err != nil {
		return err
	}
	return ctx.Err()
}

// runBatches consumes a BatchSubscription: Batches (acked on receipt) or
// All (acked manually, block by block).
func (s Scenario) runBatches(ctx context.Context, env *Env, tag string, c *Counters) error {
	ack := stream.AckOnReceive
	if s.Kind == IterEvents || s.Kind == IterTyped {
		ack = stream.AckManual
	}
	sub, err := stream.SubscribeBatches(context.WithoutCancel(ctx), s.config(env, tag, c), ack)
	if err != nil {
		return err
	}
	defer sub.Close()
	defer shutdownOn(ctx, sub)()
	var n uint64
	switch s.Kind {
	case Batches:
		for b := range sub.Batches() {
			c.add(uint64(len(b.Blocks)), -1)
		}
	case BatchesEvents:
		for b := range sub.Batches() {
			c.add(uint64(len(b.Blocks)), len(b.Events()))
		}
	case BatchesTyped:
		for b := range sub.Batches() {
			evs := b.Events()
			for i := range evs {
				dp, err := evs[i].DataPoint()
				if err != nil {
					return err
				}
				n += uint64(len(dp.StreamID))
			}
			c.add(uint64(len(b.Blocks)), len(evs))
		}
	case IterEvents, IterTyped:
		// Counted every 64 frames (and at the end), as a Batch's blocks
		// are counted together: a frame holds Dataset.Events events.
		per := uint64(s.Dataset.Events)
		var evs, frames uint64
		defer func() { c.add(frames, int(frames*per)) }()
		for ev, err := range sub.All() {
			if err != nil {
				return err
			}
			if s.Kind == IterTyped {
				dp, err := ev.DataPoint()
				if err != nil {
					return err
				}
				n += uint64(len(dp.StreamID))
			} else if ev.Resource == "DataPoint" {
				n++
			}
			if evs++; evs == per {
				evs = 0
				if frames++; frames == 64 {
					c.add(frames, int(frames*per))
					frames = 0
				}
			}
		}
	}
	sinkU64.Store(n)
	if err := sub.Err(); err != nil {
		return err
	}
	return ctx.Err()
}
