package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pushmon/pushmon/examples/jetstream-bridge/bridge"
)

// options are the parsed command line.
type options struct {
	natsURLs     string
	creds        string
	natsCA       string
	natsName     string
	streamName   string
	prefix       string
	storage      string
	replicas     int
	dupWindow    time.Duration
	maxAge       time.Duration
	maxBytes     int64
	createStream bool
	updateStream bool

	host      string
	pushAddr  string
	caFile    string
	plaintext bool
	monitors  []uint32
	username  string
	password  string

	maxPending   int
	ackTimeout   time.Duration
	drainTimeout time.Duration
	logLevel     slog.Level

	ha           bool
	leaseBucket  string
	leaseTTL     time.Duration
	replicaName  string
	standByAfter time.Duration
	httpAddr     string
	progress     time.Duration

	demo  bool
	count int
}

// minStreamWindow is JetStream's shortest duplicate window and max age.
const minStreamWindow = 100 * time.Millisecond

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("jetstream-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The defaults from the environment are applied after parsing, so that
	// the usage neither repeats them nor prints $NATS_URL (it may hold
	// credentials).
	fs.StringVar(&o.natsURLs, "nats", "", "comma-separated NATS server URLs (default $NATS_URL, else "+nats.DefaultURL+")")
	fs.StringVar(&o.creds, "creds", "", "NATS credentials file (JWT and NKey seed)")
	fs.StringVar(&o.natsCA, "nats-ca", "", "PEM file of CA certificates for NATS TLS")
	fs.StringVar(&o.natsName, "nats-name", "pushmon-jetstream-bridge", "NATS connection name")
	fs.StringVar(&o.streamName, "stream", bridge.DefaultStream, "JetStream stream name")
	fs.StringVar(&o.prefix, "subject-prefix", bridge.DefaultSubjectPrefix, "first token(s) of every subject: PREFIX.<customer>.<Resource>.<path>")
	fs.StringVar(&o.storage, "storage", "file", "storage of a created stream: file or memory")
	fs.IntVar(&o.replicas, "replicas", 1, "replicas of a created stream (3 on a cluster)")
	fs.DurationVar(&o.dupWindow, "dup-window", bridge.DefaultDuplicateWindow, "duplicate window: at least the longest time the bridge may be down")
	fs.DurationVar(&o.maxAge, "max-age", 0, "max age of messages in a created stream (0: unlimited; else at least -dup-window)")
	fs.Int64Var(&o.maxBytes, "max-bytes", -1, "max bytes of a created stream (-1: unlimited)")
	fs.BoolVar(&o.createStream, "create-stream", true, "create the stream when it does not exist")
	fs.BoolVar(&o.updateStream, "update-stream", false, "add the subjects to / raise the duplicate window of an existing stream that lacks them")

	fs.StringVar(&o.host, "host", "remotemanager.digi.com", "Remote Manager host (push on port 3201, TLS); ignored with -push-addr")
	fs.StringVar(&o.pushAddr, "push-addr", "", "push endpoint HOST:PORT (default: -host on port 3201, 3200 with -plaintext); when set, -host is ignored, also as the TLS server name: this HOST is verified instead")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates to trust for push TLS")
	fs.BoolVar(&o.plaintext, "plaintext", false, "push without TLS (port 3200); credentials cross the network in clear")
	monitors := fs.String("monitors", "", "comma-separated ids of the monitors to bridge (explicit-ack, persistent)")
	fs.StringVar(&o.username, "username", "", "Remote Manager user (default $RM_USERNAME); the password is read from $RM_PASSWORD")

	fs.IntVar(&o.maxPending, "max-pending", bridge.DefaultMaxPending, "events per monitor published and awaiting their PubAck")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", bridge.DefaultAckTimeout, "wait for a block's PubAcks before the session is abandoned and replayed")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "on SIGINT/SIGTERM, wait this long for in-flight blocks to be stored and acked (a second signal stops at once)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")

	fs.BoolVar(&o.ha, "ha", false, "share -monitors with the other replicas using the same -lease-bucket: each monitor is bridged by the one replica holding its lease")
	fs.StringVar(&o.leaseBucket, "lease-bucket", bridge.DefaultLeaseBucket, "JetStream key-value bucket of the leases (-ha); created when missing")
	fs.DurationVar(&o.leaseTTL, "lease-ttl", bridge.DefaultLeaseTTL, "lease TTL of a created -lease-bucket: a crashed replica's monitors are taken over about this long after; sessions stop when renewals are TTL/2 late")
	fs.StringVar(&o.replicaName, "replica-name", "", "this replica's name in the lease bucket, unique among the replicas: letters, digits, '-', '_' (default: host name and a random suffix)")
	fs.DurationVar(&o.standByAfter, "stand-by-after", bridge.DefaultStandByAfter, "(-ha) a replica with no push session connected for this long, while other replicas stream, hands its monitors over and stands by (negative: never)")
	fs.StringVar(&o.httpAddr, "http-addr", "", "serve /healthz, /readyz and /metrics (Prometheus) on this HOST:PORT (default: none)")
	fs.DurationVar(&o.progress, "progress", time.Minute, "log a progress line this often (0: never)")

	fs.BoolVar(&o.demo, "demo", false, "run against an embedded Remote Manager simulator and NATS server with generated events")
	fs.IntVar(&o.count, "count", 0, "stop gracefully once the stream holds this many messages, those it held at the start included (0: run until a signal; 200 with -demo)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: jetstream-bridge [flags] -monitors ID[,ID…]\n"+
			"       jetstream-bridge -demo [-count N]\n\n"+
			"Remote Manager credentials come from RM_USERNAME and RM_PASSWORD.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	bad := func(format string, a ...any) (*options, error) {
		err := usageError{fmt.Sprintf(format, a...)}
		fmt.Fprintln(stderr, "jetstream-bridge:", err)
		return nil, err
	}
	if fs.NArg() > 0 {
		// Not quoted: they are likely credentials, given as pushclient
		// takes them.
		return bad("unexpected %d argument(s) (credentials come from RM_USERNAME and RM_PASSWORD)", fs.NArg())
	}
	if o.natsURLs == "" {
		o.natsURLs = getenv("NATS_URL")
	}
	if o.natsURLs == "" {
		o.natsURLs = nats.DefaultURL
	}
	if err := checkNATSURLs(o.natsURLs); err != nil {
		return bad("%v", err)
	}
	if o.username == "" {
		o.username = getenv("RM_USERNAME")
	}
	o.password = getenv("RM_PASSWORD")
	for _, f := range strings.Split(*monitors, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 32)
		if err != nil || id == 0 {
			return bad("-monitors: %q is not a monitor id", f)
		}
		if slices.Contains(o.monitors, uint32(id)) {
			return bad("-monitors: monitor %d is named twice", id)
		}
		o.monitors = append(o.monitors, uint32(id))
	}
	if !o.demo {
		if len(o.monitors) == 0 {
			return bad("-monitors is required (or -demo)")
		}
		if o.username == "" || o.password == "" {
			return bad("RM_USERNAME (or -username) and RM_PASSWORD are required (or -demo)")
		}
	}
	if o.streamName == "" || strings.ContainsAny(o.streamName, ">*. /\\\t\r\n") {
		return bad("-stream: %q cannot name a JetStream stream (no '.', '*', '>', '/', '\\' or white space)", o.streamName)
	}
	if o.storage != "file" && o.storage != "memory" {
		return bad("-storage must be file or memory")
	}
	if o.replicas < 1 || o.replicas > 5 {
		return bad("-replicas must be 1…5")
	}
	if o.dupWindow <= 0 || o.maxAge < 0 || o.ackTimeout <= 0 || o.drainTimeout < 0 || o.maxPending < 1 || o.count < 0 {
		return bad("-dup-window, -ack-timeout and -max-pending must be positive; -max-age, -drain-timeout and -count not negative")
	}
	// JetStream refuses to create a stream with these: found here rather
	// than after NATS answers.
	if o.dupWindow < minStreamWindow {
		return bad("-dup-window must be at least %v", minStreamWindow)
	}
	if o.maxAge > 0 && o.maxAge < minStreamWindow {
		return bad("-max-age must be 0 (unlimited) or at least %v", minStreamWindow)
	}
	if o.maxAge > 0 && o.dupWindow > o.maxAge {
		return bad("-dup-window %v must not be longer than -max-age %v (JetStream refuses such a stream)", o.dupWindow, o.maxAge)
	}
	if err := bridge.ValidPrefix(o.prefix); err != nil {
		return bad("-subject-prefix: %v", err)
	}
	if o.pushAddr != "" {
		if _, _, err := net.SplitHostPort(o.pushAddr); err != nil {
			return bad("-push-addr must be HOST:PORT")
		}
	}
	if err := o.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return bad("-log-level: %v", err)
	}
	if o.progress < 0 {
		return bad("-progress must not be negative")
	}
	if o.ha {
		if !validBucket(o.leaseBucket) {
			return bad("-lease-bucket: %q cannot name a key-value bucket (use letters, digits, '-' and '_')", o.leaseBucket)
		}
		if o.leaseTTL < bridge.MinLeaseTTL {
			return bad("-lease-ttl must be at least %v", bridge.MinLeaseTTL)
		}
		if o.replicaName == "" {
			o.replicaName = bridge.DefaultReplicaName()
		}
		if err := bridge.ValidReplicaName(o.replicaName); err != nil {
			return bad("-replica-name: %v", err)
		}
		if o.standByAfter > 0 && o.standByAfter < 10*time.Second {
			// Shorter, a replica would stand by before its first push
			// connections had a chance.
			return bad("-stand-by-after must be at least 10s (negative: never)")
		}
	}
	if o.httpAddr != "" {
		if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
			return bad("-http-addr must be HOST:PORT")
		}
	}
	return o, nil
}

// checkNATSURLs parses the server URLs of -nats (or $NATS_URL) as the NATS
// client does, so that a malformed one is bad usage at once instead of a
// connection retried for ever. The error names the URL by its position
// only: it may hold a password.
func checkNATSURLs(list string) error {
	n := 0
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		n++
		if !strings.Contains(u, "://") {
			u = "nats://" + u
		}
		pu, err := url.Parse(u)
		if err == nil && pu.Port() != "" {
			if p, perr := strconv.ParseUint(pu.Port(), 10, 16); perr != nil || p == 0 {
				err = errors.New("bad port")
			}
		}
		if err != nil || pu.Host == "" {
			return fmt.Errorf("-nats (or $NATS_URL): server URL %d is not a valid URL (percent-encode a space, %%, #, /, ? or @ in its user name or password)", n)
		}
	}
	if n == 0 {
		return errors.New("-nats (or $NATS_URL) names no server")
	}
	return nil
}

// validBucket reports whether name can name a JetStream key-value bucket,
// as the NATS client checks it: letters, digits, '-' and '_'.
func validBucket(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
