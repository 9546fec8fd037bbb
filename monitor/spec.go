package monitor

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushmon/pushmon/secret"
)

// Spec is a monitor's configuration: what [Client.Create] sends and what
// [Client.Update] replaces. Zero-valued fields are left out of the request so
// the server applies its default, except Persistent, which is always sent (so
// that an Update can turn it off).
//
// Token and Headers are [secret.String] values: a Spec — or a Monitor, or a
// struct of yours holding either, in any field — prints them redacted in
// every fmt verb, in encoding/json and in log/slog. Only the request
// encoders reveal them, to send them to the server. URL is an address, not
// a secret: it is printed as is, and [Spec.Validate] refuses one with user
// info or an unescaped '@' (put the credentials in Token, which is what the server sends as
// Basic authorization to URL); keep API keys in Headers, not in the query.
//
// A Spec is a plain value with no internal state; copies are independent
// apart from the shared backing arrays of Topics and Headers.
type Spec struct {
	// Topics to monitor, one per element, e.g. "DeviceCore",
	// "DataPoint/00000000-00000000-00409DFF-FF000000", "[group=A,B]devices".
	// An element holding a comma-separated list is split (commas inside
	// brackets do not split). At least one topic is required.
	Topics      []string
	Transport   Transport   // monTransportType
	Format      Format      // monFormatType
	Compression Compression // monCompression
	// BatchSize is the most events in one batch (monBatchSize; server default 100).
	BatchSize int
	// BatchDuration is the longest the server aggregates before sending
	// (monBatchDuration, whole seconds on the wire; server default 10 s).
	BatchDuration time.Duration
	Ack           AckOption // monAckOption (tcp only)
	// Persistent makes the server record events while no client is
	// connected and replay them on the next connect (monAutoReplayOnConnect).
	Persistent  bool
	Description string // monDescription

	// URL the server pushes to (monTransportUrl; http transport, required
	// there). Not a secret, and it must not carry user info, nor an
	// unescaped '@' anywhere (a password holding a '/' would end the user
	// info early and print as the host and path): percent-encode one in a
	// path or query as %40.
	URL string
	// Token is "user:password" for the server's Basic auth to URL
	// (monTransportToken).
	Token secret.String
	// Method is PUT (server default) or POST (monTransportMethod).
	Method string
	// Headers added to each push, "Name: value" each (monTransportHeaders,
	// one per line on the wire), e.g. secret.New("X-Api-Key: " + key).
	Headers []secret.String
	// ConnectTimeout and ResponseTimeout bound the server's pushes to URL
	// (monConnectTimeout, monResponseTimeout; whole milliseconds on the
	// wire; 0 means the server default of 5 s).
	ConnectTimeout, ResponseTimeout time.Duration

	// SchemaType names the template language of Schema, e.g. "handlebars"
	// (monSchemaType).
	SchemaType string
	// Schema is a template that renders each event (monSchemaData); events
	// of such a monitor are delivered as the template renders them.
	Schema string
}

// Validate checks s without sending anything. It returns nil or a
// [*SpecError] (which matches [ErrInvalidSpec]). Create and Update call it.
func (s Spec) Validate() error {
	_, err := s.normalize()
	return err
}

// normalize validates s and returns the canonical form that goes on the
// wire: trimmed and split topics, lower-case enumerations, gzip → zlib,
// upper-case method, trimmed headers.
func (s Spec) normalize() (Spec, error) {
	n := s
	topics, err := normalizeTopics(s.Topics)
	if err != nil {
		return Spec{}, err
	}
	n.Topics = topics

	n.Transport = Transport(strings.ToLower(strings.TrimSpace(string(s.Transport))))
	switch n.Transport {
	case "", TransportTCP, TransportHTTP, TransportPolling:
	default:
		return Spec{}, &SpecError{"Transport", fmt.Sprintf("%q is not tcp, http or polling", s.Transport)}
	}
	n.Format = Format(strings.ToLower(strings.TrimSpace(string(s.Format))))
	switch n.Format {
	case "", JSON, XML:
	default:
		return Spec{}, &SpecError{"Format", fmt.Sprintf("%q is not json or xml", s.Format)}
	}
	n.Compression = normalizeCompression(s.Compression)
	switch n.Compression {
	case "", CompressionNone, Zlib:
	default:
		return Spec{}, &SpecError{"Compression", fmt.Sprintf("%q is not none or zlib", s.Compression)}
	}
	n.Ack = AckOption(strings.ToLower(strings.TrimSpace(string(s.Ack))))
	switch n.Ack {
	case "", AckOff, AckExplicit:
	default:
		return Spec{}, &SpecError{"Ack", fmt.Sprintf("%q is not off or explicit", s.Ack)}
	}

	if s.BatchSize < 0 {
		return Spec{}, &SpecError{"BatchSize", "must not be negative"}
	}
	if err := checkDuration("BatchDuration", s.BatchDuration, time.Second); err != nil {
		return Spec{}, err
	}
	if err := checkDuration("ConnectTimeout", s.ConnectTimeout, time.Millisecond); err != nil {
		return Spec{}, err
	}
	if err := checkDuration("ResponseTimeout", s.ResponseTimeout, time.Millisecond); err != nil {
		return Spec{}, err
	}

	if !xmlText(s.Description) {
		return Spec{}, &SpecError{"Description", "contains a character XML cannot carry"}
	}

	n.URL = strings.TrimSpace(s.URL)
	if n.URL != "" {
		u, err := url.Parse(n.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !xmlText(n.URL) {
			// The URL may embed credentials: do not quote it.
			return Spec{}, &SpecError{"URL", "must be an absolute http or https URL"}
		}
		if u.User != nil {
			// A string field cannot redact itself wherever it is printed;
			// Token is the server's way to authenticate to URL.
			return Spec{}, &SpecError{"URL", `must not carry user info: put "user:password" in Token`}
		}
		if strings.Contains(n.URL, "@") {
			// User info whose password holds an unescaped '/', '?' or
			// '#' ends early: "https://bob:2024/pw@host/x" parses as host
			// bob, port 2024 and path "/pw@host/x", no user info, and the
			// password would be printed with the URL (and pushed to).
			return Spec{}, &SpecError{"URL", `has an '@' outside user info: percent-encode an '@' in a path or query as %40, and put "user:password" in Token`}
		}
	} else if n.Transport == TransportHTTP {
		return Spec{}, &SpecError{"URL", "is required for the http transport"}
	}
	if tok := s.Token.Reveal(); tok != "" {
		if !strings.Contains(tok, ":") || strings.ContainsAny(tok, "\r\n") || !xmlText(tok) {
			return Spec{}, &SpecError{"Token", `must be "user:password" on one line`}
		}
	}
	n.Method = strings.ToUpper(strings.TrimSpace(s.Method))
	switch n.Method {
	case "", "PUT", "POST":
	default:
		return Spec{}, &SpecError{"Method", fmt.Sprintf("%q is not PUT or POST", s.Method)}
	}
	n.Headers = nil
	for i, h := range s.Headers {
		name, value, ok := strings.Cut(strings.TrimSpace(h.Reveal()), ":")
		field := "Headers[" + strconv.Itoa(i) + "]"
		if !ok || !isToken(strings.TrimSpace(name)) {
			return Spec{}, &SpecError{field, `must be "Name: value" with a valid header name`}
		}
		if strings.ContainsAny(value, "\r\n") || !xmlText(value) {
			return Spec{}, &SpecError{field, "value must be one line of valid text"}
		}
		n.Headers = append(n.Headers, secret.New(strings.TrimSpace(name)+": "+strings.TrimSpace(value)))
	}
	n.SchemaType = strings.TrimSpace(s.SchemaType)
	if !xmlText(n.SchemaType) {
		return Spec{}, &SpecError{"SchemaType", "contains a character XML cannot carry"}
	}
	if !xmlText(s.Schema) {
		return Spec{}, &SpecError{"Schema", "contains a character XML cannot carry"}
	}
	return n, nil
}

func normalizeCompression(c Compression) Compression {
	c = Compression(strings.ToLower(strings.TrimSpace(string(c))))
	if c == "gzip" {
		return Zlib
	}
	return c
}

func checkDuration(field string, d, unit time.Duration) error {
	if d < 0 {
		return &SpecError{field, "must not be negative"}
	}
	if d%unit != 0 {
		return &SpecError{field, "must be a whole number of " + map[time.Duration]string{
			time.Second: "seconds", time.Millisecond: "milliseconds"}[unit]}
	}
	return nil
}

// normalizeTopics trims, splits comma lists (outside brackets) and drops
// nothing silently: an empty topic is an error.
func normalizeTopics(in []string) ([]string, error) {
	var out []string
	for i, t := range in {
		parts := splitTopics(t)
		if len(parts) == 0 || slices.Contains(parts, "") {
			return nil, &SpecError{"Topics[" + strconv.Itoa(i) + "]", "empty topic"}
		}
		for _, p := range parts {
			if !xmlText(p) || strings.ContainsAny(p, "\r\n") {
				return nil, &SpecError{"Topics[" + strconv.Itoa(i) + "]", "contains a control character"}
			}
		}
		out = append(out, parts...)
	}
	if len(out) == 0 {
		return nil, &SpecError{"Topics", "at least one topic is required"}
	}
	return out, nil
}

// splitTopics splits a monTopic value on the commas that are not inside
// brackets ("[group=A,B]devices" is one topic) and trims each part. Empty
// parts are kept so callers can reject them; an all-blank input gives nil.
func splitTopics(s string) []string {
	var out []string
	eachTopic(s, func(t string) { out = append(out, t) })
	return out
}

// topicCount returns how many topics splitTopics finds in s, without
// allocating.
func topicCount(s string) int {
	n := 0
	eachTopic(s, func(string) { n++ })
	return n
}

// eachTopic calls f with each topic of s (trimmed), split at the commas
// outside brackets; an all-blank s has none.
func eachTopic(s string, f func(string)) {
	if strings.TrimSpace(s) == "" {
		return
	}
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				f(strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	f(strings.TrimSpace(s[start:]))
}

// sameTopics reports whether a and b hold the same topics, ignoring order.
func sameTopics(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// xmlText reports whether s is valid UTF-8 made only of characters XML 1.0
// can carry. encoding/xml would silently replace the others with U+FFFD.
func xmlText(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return false
			}
		}
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20:
			return false
		case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
}

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
