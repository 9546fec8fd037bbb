package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// A replica's membership: its heartbeat key (and the report of a twin
// with the same name), the listing of the lease bucket's keys that counts
// the live replicas of its monitor set, and the names in those keys and
// values: the monitor set's fingerprint and the process's instance.

// heartbeat writes the replica's heartbeat key. After the first write it
// updates the key at the revision of its last one: a change in between
// that is not its own is another running replica with the same name,
// which it reports (such twins count as one replica, so the monitors do
// not spread evenly; they never share a lease, whose value names the
// process).
func (r *replica) heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timing.opTimeout)
	defer cancel()
	var (
		rev uint64
		err error
	)
	if r.memberRev != 0 {
		rev, err = r.kv.Update(ctx, r.member, r.value, r.memberRev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
			// Expired (a long NATS outage) or written by another process.
			if e, gerr := r.kv.Get(ctx, r.member); gerr == nil && e.Operation() == jetstream.KeyValuePut &&
				!bytes.Equal(e.Value(), r.value) && !r.twin {
				r.twin = true
				r.b.log(slog.LevelError, "bridge: another running replica uses this replica's name; names must be unique "+
					"(the monitors do not spread evenly until then)", "replica", r.name)
			}
			rev, err = r.kv.Put(ctx, r.member, r.value)
		}
	} else {
		rev, err = r.kv.Put(ctx, r.member, r.value)
	}
	if err != nil {
		r.memberRev = 0 // a lost answer may have stored it: write it anew
		return err
	}
	r.memberRev = rev
	return nil
}

// instance returns 8 random hex digits naming this process in the lease
// values, beside the replica's name.
func instance() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// monitorSet is the fingerprint of a set of monitor ids, whatever their
// order: 16 hex digits.
func monitorSet(ids []uint32) string {
	h := sha256.New()
	for _, id := range slices.Sorted(slices.Values(ids)) {
		h.Write(binary.BigEndian.AppendUint32(nil, id))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// list reads the bucket's keys: the number of live replicas of this
// monitor set (heartbeats), the monitors leased, and whether another
// replica of the set streams. Replicas of other monitor sets are counted
// apart: each set's own replicas take all of its monitors between them.
func (r *replica) list(ctx context.Context) (members int, leased map[uint32]bool, others bool, err error) {
	kl, err := r.kv.ListKeys(ctx)
	if err != nil {
		return 0, nil, false, err
	}
	defer kl.Stop()
	leased = make(map[uint32]bool)
	self, foreign := false, false
	for k := range kl.Keys() {
		if rest, ok := strings.CutPrefix(k, memberPrefix); ok {
			if set, name, ok := strings.Cut(rest, "."); !ok || set != r.set {
				foreign = true
			} else {
				members++
				self = self || name == r.name
			}
			continue
		}
		if rest, ok := strings.CutPrefix(k, streamingPrefix); ok {
			set, name, _ := strings.Cut(rest, ".")
			others = others || set == r.set && name != r.name
			continue
		}
		if id, ok := strings.CutPrefix(k, "lease."); ok {
			if n, err := strconv.ParseUint(id, 10, 32); err == nil {
				leased[uint32(n)] = true
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, false, err // the listing may be cut short
	}
	if !self {
		members++ // the heartbeat was written just before
	}
	if foreign && !r.foreign {
		r.b.log(slog.LevelWarn, "bridge: replicas with other monitors use this lease bucket; each set of monitors is shared among "+
			"its own replicas (expected during a rolling update that changes the monitors; otherwise give each set its own bucket)",
			"replica", r.name)
	}
	r.foreign = foreign
	return members, leased, others, nil
}
