package bridge

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// lostCreateKV stores a Create but loses its answer: the caller sees its
// request time out, as when NATS stalls just after the server stored it.
type lostCreateKV struct {
	jetstream.KeyValue
}

func (kv lostCreateKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	if _, err := kv.KeyValue.Create(context.WithoutCancel(ctx), key, value, opts...); err != nil {
		return 0, err
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

// A lease create stored with its answer lost to a timeout is confirmed
// by the same claim (the key holds this replica's value), not left on the
// server without a holder — where nobody, this replica included, would
// take the monitor until the lease expired a TTL later.
func TestClaimWithLostAnswerHoldsTheLease(t *testing.T) {
	w := newHAWorld(t, 1, haTTL)
	ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
	defer cancel()
	kv, err := w.js.KeyValue(ctx, testBucket)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{kv: lostCreateKV{kv}, value: []byte("a 0123abcd"), timing: newLeaseTiming(MinLeaseTTL)}
	rev, _, err := r.claim(ctx, w.mons[0])
	if err != nil {
		t.Fatalf("claim: %v (deadline exceeded: %v)", err, errors.Is(err, context.DeadlineExceeded))
	}
	e, err := kv.Get(ctx, leaseKey(w.mons[0]))
	if err != nil {
		t.Fatal(err)
	}
	if e.Revision() != rev || string(e.Value()) != "a 0123abcd" {
		t.Errorf("claim returned revision %d; the lease is at %d with %q", rev, e.Revision(), e.Value())
	}
}
