package main

// The command line: flags, arguments, credentials from the environment,
// the -h text and the one-line message of a usage error.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/secret"
	"github.com/pushmon/pushmon/stream"
)

// options are the parsed command line.
type options struct {
	host           string // HOST or HOST:PORT
	hostSet        bool   // -host or -a was given
	topics         string
	insecure       bool
	apiURL         string
	pushAddr       string
	caFile         string
	compression    string
	format         string
	batchSize      int
	batchDuration  int
	ack            string
	replay         bool
	monitorID      uint
	keep           bool
	replaceForeign bool
	restTimeout    time.Duration
	output         string
	count          int
	demo           bool
	verbose        bool
	statsInterval  time.Duration
	username       string
	password       secret.String

	// transports.go and monitors.go
	transport  string        // tcp, http or polling
	listen     string        // http: address to serve on
	publicURL  string        // http: URL registered on the monitor
	token      secret.String // http: push token (default random)
	interval   time.Duration // polling
	schemaFile string        // handlebars template
	cmd        []string      // "monitors list|reset ID|delete ID"
}

// minPollInterval is the shortest -interval (-transport polling), the
// poller's own minimum: each poll is at least one request to the
// account's history API, and a shorter wait would spend the account's
// request rate (429 Throttled) on polls that mostly find nothing new.
const minPollInterval = stream.MinPollInterval

// minStatsInterval is the shortest -stats-interval: a -v line is a
// summary over the interval, and a shorter one would fill stderr with
// lines (1ns: a busy loop).
const minStatsInterval = time.Second

// usageError is bad usage. parseFlags returns one only after its one-line
// message is on stderr, and run exits 2 on it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// secretFlag is a flag.Value that keeps its text in a secret.String from
// the moment it is parsed.
type secretFlag struct{ p *secret.String }

func (f secretFlag) String() string {
	if f.p == nil {
		return ""
	}
	return f.p.String() // redacted
}

func (f secretFlag) Set(s string) error {
	*f.p = secret.New(s)
	return nil
}

// aliases maps each short flag to the flag it stands for.
var aliases = map[string]string{
	"a": "host", "t": "topics", "c": "compression", "f": "format", "b": "batchsize", "d": "batchduration",
}

const usageHead = `usage: pushclient [flags] username password
       pushclient -demo [flags]
       pushclient [flags] monitors list|reset ID|delete ID [username password]

pushclient creates a monitor for -topics, prints its events on stdout as they
arrive, and deletes that monitor when it stops: on Ctrl-C, SIGTERM or SIGHUP,
after -count events, or when the reader of stdout has gone away
(pushclient | head; noticed at once on Linux, elsewhere when the next
event is written). A second Ctrl-C or SIGTERM quits at once, without
deleting (a second SIGHUP does not: a terminal that closes sends two).
Status lines ("connecting to …", "waiting for events on monitor N …", and
with -v a periodic rate and lag line) and logs go to stderr, never to
stdout.

Which monitors it deletes:
  - The monitor it creates has the description "` + descTemporary + `: run …"
    ("` + descKept + `: run …" with -keep, which it never deletes).
  - At start-up it deletes the leftovers of runs that could not clean up
    (killed with SIGKILL, say): monitors on the same topics whose
    description starts with "` + descTemporary + `: run ", names this host
    (its PID namespace and machine) and a process that has ended, and
    that no client is connected to. A run that is reconnecting, or has
    not connected yet, or runs on another host, keeps its monitor.
  - Every other monitor on the same topics (another service's, a kept one,
    one another pushclient is or may be receiving) is left alone and named
    on stderr. -replace-foreign deletes them too, as the original
    push_client.py did, printing each one's id, description and topics to
    stderr first.
  - -monitor-id N uses monitor N as it is: nothing is created or deleted.

TLS: REST goes to https://HOST and push to HOST:3201, both verified against
the system's CAs, or only against the CAs in -ca-file. -insecure turns TLS
off for both (REST http://HOST, push HOST:3200): the password then crosses
the network in clear. -api-url and -push-addr override the addresses; an
-api-url's scheme decides REST's TLS.

Credentials may also come from RM_USERNAME and RM_PASSWORD (better than
arguments, which other users of the machine can see).

Exit status: 0 on a signal or after -count events; 1 on errors (bad
credentials included); 2 on bad usage; 3 when a monitor it created was, or
may have been, left behind (its delete at exit failed or went unanswered:
stderr names the monitor and the command that deletes it), whatever else
happened; 141 when stdout was closed by its reader (the status a shell
shows for a command ended by SIGPIPE).

flags:
`

// parseFlags parses args. -h prints the usage on stdout and returns
// flag.ErrHelp; any other problem prints one line on stderr and returns a
// usageError.
func parseFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("pushclient", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parseFlags prints the messages itself
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, def, usage) }
	integer := func(p *int, name string, def int, usage string) { fs.IntVar(p, name, def, usage) }
	str(&o.host, "host", "remotemanager.digi.com", "Remote Manager `HOST` or HOST:PORT: REST at https://HOST[:PORT], push at HOST:3201; HOST is also the push TLS server name with -push-addr")
	str(&o.topics, "topics", "DeviceCore", "comma-separated `topics` to monitor")
	fs.BoolVar(&o.insecure, "insecure", false, "no TLS: plaintext REST (http://HOST) and push (port 3200); the password crosses the network in clear")
	str(&o.apiURL, "api-url", "", "REST base `URL`, without query or fragment (default https://HOST, or http://HOST with -insecure)")
	str(&o.pushAddr, "push-addr", "", "push endpoint `HOST:PORT` (default HOST:3201, or HOST:3200 with -insecure)")
	str(&o.caFile, "ca-file", "", "PEM `FILE` of the CA certificates to trust, instead of the system's, for REST (https) and push TLS alike")
	str(&o.compression, "compression", "zlib", "monitor compression: none, zlib or gzip")
	str(&o.format, "format", "json", "monitor format: json or xml")
	integer(&o.batchSize, "batchsize", 1, "events per batch")
	integer(&o.batchDuration, "batchduration", 60, "`seconds` the server may batch events")
	str(&o.ack, "ack", "explicit", "ack option: explicit or off")
	fs.BoolVar(&o.replay, "replay", false, "persistent monitor: the server records events while disconnected and replays them")
	fs.UintVar(&o.monitorID, "monitor-id", 0, "use this existing monitor `ID`: nothing is created or deleted")
	fs.BoolVar(&o.keep, "keep", false, `do not delete the monitor on exit (it is described "`+descKept+`"; reuse it with -monitor-id)`)
	fs.BoolVar(&o.replaceForeign, "replace-foreign", false, "also delete, at start-up, monitors on the same topics that pushclient did not create, naming each on stderr")
	fs.DurationVar(&o.restTimeout, "rest-timeout", 30*time.Second, "deadline of each REST call at start-up and exit")
	str(&o.output, "output", "text", "output: text or ndjson (one JSON object per event)")
	integer(&o.count, "count", 0, "exit after this many events (0: run until interrupted)")
	fs.BoolVar(&o.demo, "demo", false, "run against an embedded simulator with generated events (no account needed)")
	fs.BoolVar(&o.verbose, "v", false, "print a rate and lag line on stderr every -stats-interval")
	fs.DurationVar(&o.statsInterval, "stats-interval", 10*time.Second, "time between -v lines, at least "+minStatsInterval.String())
	str(&o.transport, "transport", "tcp", "how events arrive: tcp (push connection), http (the server pushes to -public-url) or polling (history API)")
	str(&o.listen, "listen", "127.0.0.1:8080", "http: `address` to serve the receiver on")
	str(&o.publicURL, "public-url", "", "http: the `URL` Remote Manager pushes to, reaching -listen (with -demo: derived from -listen)")
	fs.Var(secretFlag{&o.token}, "token", "http: push `TOKEN` \"user:password\" the server sends to -public-url (default: random)")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "polling: time between polls of the history API, at least "+minPollInterval.String())
	str(&o.schemaFile, "schema", "", "handlebars template `FILE` for the monitor; events are printed as rendered")
	for short, long := range aliases {
		f := fs.Lookup(long)
		fs.Var(f.Value, short, f.Usage)
	}

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return nil, err
		}
		return nil, badUsage(stderr, "bad flag: %s", flagMessage(err))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		name := f.Name
		if long, ok := aliases[name]; ok {
			name = long
		}
		set[name] = true
	})
	o.hostSet = set["host"]
	bad := func(format string, a ...any) (*options, error) {
		return nil, badUsage(stderr, "bad flag: "+format, a...)
	}

	rest := fs.Args()
	if len(rest) > 0 && rest[0] == "monitors" {
		cmd, after, err := parseMonitorsCommand(rest)
		if err != nil {
			return nil, badUsage(stderr, "%v", err)
		}
		o.cmd, rest = cmd, after
	}
	switch len(rest) {
	case 0:
		o.username, o.password = getenv("RM_USERNAME"), secret.New(getenv("RM_PASSWORD"))
	case 2:
		o.username, o.password = rest[0], secret.New(rest[1])
	default:
		return nil, badUsage(stderr, "want username and password, got %d argument(s)", len(rest))
	}
	if !o.demo && (o.username == "" || o.password.IsZero()) {
		return nil, badUsage(stderr, "username and password are required (arguments, or RM_USERNAME and RM_PASSWORD), or use -demo")
	}
	if !oneOf(o.compression, "none", "zlib", "gzip") {
		return bad("-compression must be none, zlib or gzip")
	}
	if !oneOf(o.format, "json", "xml") {
		return bad("-format must be json or xml")
	}
	if !oneOf(o.ack, "explicit", "off") {
		return bad("-ack must be explicit or off")
	}
	if !oneOf(o.output, "text", "ndjson") {
		return bad("-output must be text or ndjson")
	}
	if !oneOf(o.transport, "tcp", "http", "polling") {
		return bad("-transport must be tcp, http or polling")
	}
	if o.transport == "tcp" && o.cmd == nil && (len(o.username) > protocol.MaxCredentialLen || o.password.Len() > protocol.MaxCredentialLen) {
		// Refused now, as the push handshake would refuse it, before a
		// monitor is created for nothing.
		return bad("-transport tcp: the username and the password must each be at most %d bytes (the push handshake's limit)", protocol.MaxCredentialLen)
	}
	if o.restTimeout <= 0 {
		return bad("-rest-timeout must be positive")
	}
	if o.statsInterval < minStatsInterval {
		return bad("-stats-interval must be at least %v (it is the time between two -v lines), got %v",
			minStatsInterval, o.statsInterval)
	}
	if o.interval < minPollInterval {
		return bad("-interval must be at least %v (it is the time between two polls of the account's history API), got %v",
			minPollInterval, o.interval)
	}
	if _, pass, ok := strings.Cut(o.token.Reveal(), ":"); !o.token.IsZero() && (!ok || pass == "") {
		// Refused now, as the receiver would refuse it, before a
		// monitor is created with it.
		return bad(`-token must be "user:password" with a password`)
	}
	if o.transport == "http" && o.cmd == nil && o.monitorID == 0 && !o.demo && o.publicURL == "" {
		// The monitor needs the URL Remote Manager pushes to; only -demo
		// derives it (from -listen).
		return bad("-transport http needs -public-url: the URL at which Remote Manager reaches -listen")
	}
	if o.transport == "http" && o.monitorID != 0 && o.token.IsZero() {
		return bad("-transport http with -monitor-id needs the monitor's -token")
	}
	if o.replaceForeign && o.monitorID != 0 {
		return bad("-replace-foreign replaces nothing with -monitor-id, which creates no monitor")
	}
	if o.batchSize < 1 || o.batchDuration < 0 || o.count < 0 || o.monitorID > 0xFFFFFFFF ||
		o.batchSize > math.MaxInt32 || o.batchDuration > math.MaxInt32 {
		return bad("-batchsize must be ≥ 1; -batchduration, -count and -monitor-id must not be negative or too large")
	}
	if strings.Trim(o.topics, ", ") == "" {
		return bad("-topics must name at least one topic")
	}
	for t := range strings.SplitSeq(o.topics, ",") {
		if strings.TrimSpace(t) == "" {
			// The monitor would be refused only after login, exit 1.
			return bad("-topics has an empty topic (two commas in a row, or one at an end)")
		}
	}
	if o.host == "" || strings.ContainsAny(o.host, "/?#@ ") {
		return bad("-host takes HOST or HOST:PORT (an https URL goes to -api-url)")
	}
	if o.pushAddr != "" {
		if _, _, err := net.SplitHostPort(o.pushAddr); err != nil {
			return bad("-push-addr must be HOST:PORT")
		}
	}
	if o.apiURL != "" {
		u, err := url.Parse(o.apiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("-api-url must be an http or https URL")
		}
		if u.User == nil && strings.Contains(o.apiURL, "@") {
			// A password with an unescaped '/', '?' or '#' ends the user
			// info early ("https://bob:2024/pw@host" is host bob, port
			// 2024): the status lines would print the rest of the URL.
			return bad("-api-url has an '@' outside its user info (percent-encode '/', '?', '#' and '@' in a password)")
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o.apiURL, "#") {
			// The REST client sends only the scheme, host and path of
			// its base URL: a key in the query would be dropped, and
			// printed in the status lines.
			return bad("-api-url takes no query or fragment (they are not sent)")
		}
		if o.insecure && u.Scheme == "https" {
			return bad("-insecure turns TLS off, but -api-url is https")
		}
	}
	if o.insecure && o.caFile != "" {
		return bad("-ca-file is for TLS, which -insecure turns off")
	}
	return o, nil
}

// badUsage prints the one-line message of a usage error and returns it.
func badUsage(stderr io.Writer, format string, a ...any) error {
	err := usageError{fmt.Sprintf(format, a...)}
	fmt.Fprintf(stderr, "pushclient: %s (see -h)\n", err.msg)
	return err
}

// flagMessage rewords the flag package's parse errors to name the flag
// first.
func flagMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return name + " is not a flag"
	}
	return msg
}

// printUsage writes the -h text: the head, then each flag once with its
// short alias beside it.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	short := map[string]string{}
	for s, long := range aliases {
		short[long] = s
	}
	var b strings.Builder
	b.WriteString(usageHead)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, isAlias := aliases[f.Name]; !isAlias {
			names = append(names, f.Name)
		}
	})
	sort.Strings(names)
	for _, name := range names {
		f := fs.Lookup(name)
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  -%s", name)
		if s, ok := short[name]; ok {
			fmt.Fprintf(&b, ", -%s", s)
		}
		if arg != "" {
			fmt.Fprintf(&b, " %s", arg)
		}
		fmt.Fprintf(&b, "\n    \t%s", usage)
		if d := f.DefValue; d != "" && d != "false" && d != "0" {
			fmt.Fprintf(&b, " (default %s)", d)
		}
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

func oneOf(s string, choices ...string) bool {
	for _, c := range choices {
		if s == c {
			return true
		}
	}
	return false
}
