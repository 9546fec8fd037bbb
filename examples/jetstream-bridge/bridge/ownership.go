package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Lease defaults and limits.
const (
	// DefaultLeaseBucket is the key-value bucket of the leases when none is
	// named.
	DefaultLeaseBucket = "pushmon_bridge_leases"
	// DefaultLeaseTTL is the lease TTL of a bucket EnsureLeaseBucket
	// creates when asked for none: a replica that crashes or loses NATS
	// has its monitors taken over about this long after its last renewal.
	DefaultLeaseTTL = 10 * time.Second
	// MinLeaseTTL is the shortest lease TTL the bridge accepts: the
	// fencing margin (half the TTL) must cover closing a push connection.
	MinLeaseTTL = time.Second
	// DefaultStandByAfter is Ownership.StandByAfter when it is 0: longer
	// than the push reconnect backoff (at most 90 s), so that after a
	// Remote Manager outage every replica has reconnected before one
	// could stand by.
	DefaultStandByAfter = 2 * time.Minute
	// maxStandBy caps a stand-by, which doubles while the replica keeps
	// failing to connect.
	maxStandBy = 15 * time.Minute
	// maxRound caps the interval between two ownership rounds (heartbeat,
	// membership, taking and giving back leases).
	maxRound = 2 * time.Second
)

// Ownership shares a set of monitors among replicas of the bridge, so that
// each monitor is bridged by exactly one replica at a time (Remote Manager
// keeps one push connection per monitor: two bridges on one monitor would
// take it from each other). Every replica runs a Bridge with the same
// Monitors, stream and bucket; the bucket holds nothing else. Replicas
// with different Monitors may share a bucket (two shards on one bucket, a
// rolling update that changes the monitors): each set of monitors is then
// shared among its own replicas, and a monitor in two sets is still held
// by one replica at a time.
//
// # Leases
//
// A replica bridges a monitor only while it holds the monitor's lease: the
// key "lease.<monitor id>" of the bucket, its value the replica's name and
// a random id of its process ("<replica> <instance>"). The
// lease is taken with a compare-and-set create (KV Create: it fails when
// the key exists) and renewed every TTL/5 with a compare-and-set update on
// its revision (KV Update), where the TTL is the bucket's max age: a key
// that is not written for a TTL disappears. A renewal that finds the key
// changed or gone loses the lease: the push session stops at once.
//
// Fencing: when the last successful renewal — timed from when it was sent,
// on the local monotonic clock — is TTL/2 old, the replica closes the
// monitor's push connection at once (the JetStream publishes in flight are
// abandoned, their blocks un-acknowledged), whatever its NATS connection is
// doing. So a replica that loses NATS, or whose NATS connection hangs,
// never holds a push connection for a monitor whose lease may have expired
// and been taken elsewhere; the other half of the TTL absorbs the time to
// close and the difference between the server's and the replica's clock
// rates. A renewal that succeeds before the TTL resumes the session; after
// a TTL without one the replica gives the monitor up.
//
// # Spreading
//
// Each replica writes a heartbeat key "member.<set>.<replica>" every
// round (TTL/5, at most 2 s), where <set> is a fingerprint of its
// Monitors, counts the live members of its set, and aims at
// ceil(monitors / members) leases: it takes free monitors until it has its
// share, and when it has held more than its share for two rounds (a
// replica joined) it gives the extras back gracefully: their sessions end
// with every stored block acknowledged, then their leases are deleted
// (compare-and-set on the revision), and the new replica takes them. A
// replica waits one round after it starts, to see its peers, before it
// takes any lease.
//
// Shutdown deletes the heartbeat, ends the sessions gracefully and
// deletes the leases: the other replicas take the monitors over within a
// round or two. A replica that crashes, or loses NATS, loses its leases
// TTL after its last renewal, and its heartbeat with them. The TTL is the
// trade-off: a short one means a faster takeover after a crash, more
// writes (two per monitor per TTL, plus the heartbeats) and sessions
// stopped by shorter NATS hiccups.
//
// A monitor that stops for good on a replica (an event JetStream rejects,
// Remote Manager refusing the monitor) is released and never taken again
// by that replica; the others try it in turn.
//
// # A replica that cannot reach Remote Manager
//
// A replica that reaches NATS but not Remote Manager (its network, its
// proxy, its firewall) renews its leases like any other. So that it does
// not keep monitors it cannot connect, each replica that has a push
// session connected writes "streaming.<set>.<replica>" every round; a
// replica that holds leases and has had no push session connected for
// StandByAfter, while another replica of its set has streamed all that
// time, stands by: it hands its monitors over gracefully, deletes its heartbeat (the
// others' share grows to cover the monitors) and takes nothing for a
// while — StandByAfter at first, doubling while it keeps failing, at most
// 15 minutes — then joins again. When no replica streams (Remote Manager
// itself is down) nobody stands by.
type Ownership struct {
	// Leases is the key-value bucket of the leases and heartbeats (see
	// EnsureLeaseBucket). Its TTL (max age) is the lease TTL, at least
	// MinLeaseTTL; use file storage (or replicas on a cluster), so that
	// a restarted NATS server still has the leases. Required.
	Leases jetstream.KeyValue
	// Replica names this replica in the bucket and the logs: 1 to 64
	// letters, digits, '-' or '_', unique among the replicas at any time
	// (a restarted replica may reuse its name). "" means the host name
	// followed by a random suffix.
	Replica string
	// StandByAfter is how long a replica holding leases may have no push
	// session connected, while another replica streams, before it stands
	// by (see above). 0 means DefaultStandByAfter; negative: never.
	StandByAfter time.Duration
}

// resolve validates o and returns a copy with the defaults filled in.
func (o *Ownership) resolve() (*Ownership, error) {
	c := *o
	if c.Leases == nil {
		return nil, fmt.Errorf("%w: Ownership.Leases is required", ErrInvalidConfig)
	}
	if c.Replica == "" {
		c.Replica = DefaultReplicaName()
	}
	if err := ValidReplicaName(c.Replica); err != nil {
		return nil, err
	}
	if c.StandByAfter == 0 {
		c.StandByAfter = DefaultStandByAfter
	}
	return &c, nil
}

// ValidReplicaName reports whether name can name a replica: 1 to 64
// letters, digits, '-' or '_'. The error matches ErrInvalidConfig.
func ValidReplicaName(name string) error {
	if !validReplica(name) {
		return fmt.Errorf("%w: replica name %q: use 1 to 64 letters, digits, '-' or '_'", ErrInvalidConfig, name)
	}
	return nil
}

func validReplica(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DefaultReplicaName returns the host name (reduced to letters, digits,
// '-' and '_') followed by '-' and 8 random hex digits.
func DefaultReplicaName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 0x80 && validReplica(string(r)) {
			return r
		}
		return '_'
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	if host == "" {
		host = "bridge"
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return host + "-" + hex.EncodeToString(rnd[:])
}

// EnsureLeaseBucket returns the key-value bucket name for Ownership,
// creating it when it is missing: lease TTL ttl (the bucket's max age),
// one value per key, file storage, the given number of replicas (3 on a
// cluster). An existing bucket is returned as it is — its own TTL is the
// one the replicas use — unless its TTL is shorter than MinLeaseTTL (or
// none): then the error matches ErrInvalidConfig. ttl must be at least
// MinLeaseTTL; 0 means DefaultLeaseTTL.
func EnsureLeaseBucket(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	if ttl < MinLeaseTTL {
		return nil, fmt.Errorf("%w: lease TTL %v is shorter than %v", ErrInvalidConfig, ttl, MinLeaseTTL)
	}
	kv, err := js.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "pushmon bridge: monitor leases and replica heartbeats",
			History:     1,
			TTL:         ttl,
			Storage:     jetstream.FileStorage,
			Replicas:    max(1, replicas),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, name) // another replica created it just now
		}
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: lease bucket %q: %w", name, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("bridge: lease bucket %q: %w", name, err)
	}
	if err := checkLeaseTTL(name, st.TTL()); err != nil {
		return nil, err
	}
	return kv, nil
}

func checkLeaseTTL(bucket string, ttl time.Duration) error {
	if ttl < MinLeaseTTL {
		return fmt.Errorf("%w: lease bucket %q has a TTL of %v; leases need one of at least %v", ErrInvalidConfig, bucket, ttl, MinLeaseTTL)
	}
	return nil
}

// leaseTiming is what the lease TTL implies.
type leaseTiming struct {
	ttl        time.Duration
	renewEvery time.Duration // between renewals
	fenceAfter time.Duration // age of the last renewal at which the session stops
	round      time.Duration // between ownership rounds
	opTimeout  time.Duration // of one key-value request in a round
}

func newLeaseTiming(ttl time.Duration) leaseTiming {
	return leaseTiming{
		ttl:        ttl,
		renewEvery: ttl / 5,
		fenceAfter: ttl / 2,
		round:      min(ttl/5, maxRound),
		opTimeout:  min(max(ttl/4, 500*time.Millisecond), 5*time.Second),
	}
}

func leaseKey(id uint32) string { return fmt.Sprintf("lease.%d", id) }

// Key prefixes of the heartbeats: every live replica's, and those of the
// replicas with a push session connected.
const (
	memberPrefix    = "member."
	streamingPrefix = "streaming."
)
