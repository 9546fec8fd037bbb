package streamtest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// What a monitor is made of: MonitorSpec, its Secret token, and its
// validation with defaults filled in (SpecError naming the field at fault).

// MonitorSpec describes a monitor: what the legacy REST API calls the
// <Monitor> elements. The zero value of every field means its default.
//
// Printing a MonitorSpec never shows TransportToken (a Secret).
type MonitorSpec struct {
	// Topics the monitor subscribes to (monTopic, comma-joined over REST):
	// "DeviceCore", "DataPoint/dev1", "DataPoint/*/metrics", "FileData/*.*",
	// "[operation=U]DeviceCore", "DeviceCore[U,D]", "[group=A,B]devices".
	// The first segment must be a known resource name. At least one.
	Topics []string
	// Transport is "tcp" (default), "http" (the server pushes blocks to
	// TransportURL) or "polling" (events are stored for the history API).
	Transport string
	// Format is "json" (default) or "xml".
	Format string
	// Compression is "none" (default), "zlib" or "gzip" (a legacy alias:
	// the bytes are zlib).
	Compression string
	// BatchSize is the most events per block, 1…65535. CreateMonitor
	// treats 0 as 1; a REST create without monBatchSize gets 100.
	BatchSize int
	// BatchDuration is how long the first pending event may wait for a
	// block to fill. 0 means 10 s; a negative value means no wait (send
	// what is pending at once, which REST spells monBatchDuration 0).
	BatchDuration time.Duration
	// AckExplicit is monAckOption=explicit: blocks stay un-acked until the
	// client acks them. Otherwise a block is delivered once written.
	AckExplicit bool
	// Persistent is monAutoReplayOnConnect=true: see the package doc.
	Persistent  bool
	Description string
	// SchemaType ("handlebars") and SchemaData: pushed blocks are rendered
	// with the template (a Handlebars subset, see the package doc).
	SchemaType, SchemaData string

	// HTTP transport settings, stored and listed (except the token, which
	// is never echoed).
	TransportURL     string
	TransportToken   Secret // "user:pass"; never printed
	TransportMethod  string // "PUT" (default) or "POST"
	TransportHeaders string
	ConnectTimeout   time.Duration // 0 → 5 s
	ResponseTimeout  time.Duration // 0 → 5 s
}

// Secret is a string that never prints: every fmt verb, encoding/json
// and encoding's text form (and so log/slog's handlers) show "[REDACTED]"
// (or "" when empty). Convert with string(sec) to read it.
type Secret string

// String returns "[REDACTED]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString returns a redacted Go expression.
func (s Secret) GoString() string { return "streamtest.Secret(" + strconv.Quote(s.String()) + ")" }

// Format makes every verb print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText returns the redacted form, so that encoding/json (and
// log/slog's JSON handler) do not print the text of a Secret, nor of a
// MonitorSpec holding one. A Secret still decodes from a JSON string.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func cloneSpec(s MonitorSpec) MonitorSpec {
	s.Topics = append([]string(nil), s.Topics...)
	return s
}

// SpecError reports an invalid MonitorSpec field (or REST element). It
// matches ErrInvalidMonitor with errors.Is. Field is the REST element
// name, such as "monTopic"; Error() reads like the service's message:
// "Invalid monTopic specified".
type SpecError struct {
	Field  string
	Reason string // details for humans; never contains a secret
}

// Error returns "Invalid <Field> specified (<Reason>)".
func (e *SpecError) Error() string {
	s := "Invalid " + e.Field + " specified"
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrInvalidMonitor) true.
func (e *SpecError) Is(target error) bool { return target == ErrInvalidMonitor }

func specErr(field, format string, args ...any) error {
	return &SpecError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// normalizeSpec validates spec, fills in defaults and parses its topics.
func normalizeSpec(spec MonitorSpec) (MonitorSpec, []topicFilter, error) {
	spec = cloneSpec(spec)
	if len(spec.Topics) == 0 {
		return spec, nil, specErr("monTopic", "no topic")
	}
	filters := make([]topicFilter, 0, len(spec.Topics))
	for i, t := range spec.Topics {
		t = strings.TrimSpace(t)
		if len(splitTopics(t)) > 1 {
			return spec, nil, specErr("monTopic", "topic %q contains a comma outside brackets", t)
		}
		f, err := parseTopic(t)
		if err != nil {
			return spec, nil, specErr("monTopic", "%v", err)
		}
		spec.Topics[i] = t
		filters = append(filters, f)
	}
	spec.Transport = strings.ToLower(strings.TrimSpace(spec.Transport))
	switch spec.Transport {
	case "":
		spec.Transport = "tcp"
	case "tcp", "http", "polling":
	default:
		return spec, nil, specErr("monTransportType", "%q", spec.Transport)
	}
	spec.Format = strings.ToLower(strings.TrimSpace(spec.Format))
	switch spec.Format {
	case "":
		spec.Format = "json"
	case "json", "xml":
	default:
		return spec, nil, specErr("monFormatType", "%q", spec.Format)
	}
	spec.Compression = strings.ToLower(strings.TrimSpace(spec.Compression))
	switch spec.Compression {
	case "":
		spec.Compression = "none"
	case "none", "zlib", "gzip":
	default:
		return spec, nil, specErr("monCompression", "%q", spec.Compression)
	}
	switch {
	case spec.BatchSize == 0:
		spec.BatchSize = 1
	case spec.BatchSize < 0 || spec.BatchSize > 0xFFFF:
		return spec, nil, specErr("monBatchSize", "%d is outside 1…65535", spec.BatchSize)
	}
	if spec.BatchDuration == 0 {
		spec.BatchDuration = 10 * time.Second
	}
	spec.TransportMethod = strings.ToUpper(strings.TrimSpace(spec.TransportMethod))
	switch spec.TransportMethod {
	case "":
		spec.TransportMethod = "PUT"
	case "PUT", "POST":
	default:
		return spec, nil, specErr("monTransportMethod", "%q", spec.TransportMethod)
	}
	if spec.ConnectTimeout < 0 {
		return spec, nil, specErr("monConnectTimeout", "negative")
	}
	if spec.ResponseTimeout < 0 {
		return spec, nil, specErr("monResponseTimeout", "negative")
	}
	if spec.ConnectTimeout == 0 {
		spec.ConnectTimeout = 5 * time.Second
	}
	if spec.ResponseTimeout == 0 {
		spec.ResponseTimeout = 5 * time.Second
	}
	if spec.Transport == "http" {
		u, err := url.Parse(spec.TransportURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return spec, nil, specErr("monTransportUrl", "an http monitor needs an absolute http(s) URL")
		}
	}
	switch spec.SchemaType {
	case "":
	case "handlebars":
		if _, err := parseTemplate(spec.SchemaData); err != nil {
			return spec, nil, specErr("monSchemaData", "%v", err)
		}
	default:
		return spec, nil, specErr("monSchemaType", "%q", spec.SchemaType)
	}
	return spec, filters, nil
}
