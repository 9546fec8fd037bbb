package monitor

// The one place that relates a Monitor's Go fields, the legacy /ws/Monitor
// elements and the v1 JSON fields. The legacy encoder (legacy_wire.go)
// writes its <Monitor> elements from this table, in its order; the v1
// encoder and decoder (v1.go) translate through it, so a field added here
// reaches both APIs.

import (
	"strconv"
	"strings"
	"time"

	"github.com/pushmon/pushmon/secret"
)

// FieldMapping relates one monitor field across the two REST APIs.
// [FieldMappings] lists them all.
type FieldMapping struct {
	// Field is the Go field: "ID", "CustomerID", "Status", … of [Monitor],
	// or "Spec.Topics", "Spec.BatchDuration", … of its embedded [Spec].
	Field string
	// Legacy is the element of the legacy /ws/Monitor API, e.g. "monTopic".
	Legacy string
	// V1 is the field of the v1 JSON API, e.g. "topics".
	V1 string
	// Wire describes the value on the wire in both APIs, e.g. "seconds:
	// decimal text / JSON number".
	Wire string
	// ReadOnly fields are maintained by the server and never sent.
	ReadOnly bool
}

// fieldKind is how a value is represented: the legacy API carries every
// value as element text; the v1 API uses JSON types.
type fieldKind uint8

const (
	kindText   fieldKind = iota // text / JSON string
	kindNumber                  // decimal text / JSON number
	kindBool                    // "true" or "false" / JSON boolean
	kindList                    // comma-separated (commas inside brackets do not split) / JSON array of strings
	kindLines                   // one item per line / JSON array of strings
	kindTime                    // ISO-8601 (or epoch milliseconds) / JSON string (or number)
)

// fieldDef is one row of the table: the public mapping, the value kind, and
// for writable fields the wire text of a normalized Spec ("" leaves the
// field out so the server keeps its default).
type fieldDef struct {
	FieldMapping
	kind fieldKind
	text func(s *Spec) string
}

func wire(k fieldKind, unit string) string {
	base := map[fieldKind]string{
		kindText:   "text / JSON string",
		kindNumber: "decimal text / JSON number",
		kindBool:   `"true" or "false" / JSON boolean`,
		kindList:   "comma-separated / JSON array of strings",
		kindLines:  "one per line / JSON array of strings",
		kindTime:   "ISO-8601 text / JSON string",
	}[k]
	if unit != "" {
		return unit + ": " + base
	}
	return base
}

func def(field, legacy, v1 string, k fieldKind, unit string, text func(*Spec) string) fieldDef {
	return fieldDef{FieldMapping{field, legacy, v1, wire(k, unit), text == nil}, k, text}
}

func countText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func durationText(d, unit time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/unit), 10)
}

// knownField holds the names of fieldTable's fields in both APIs (legacy
// element, v1 member): the fields an answer may not name twice with two
// values.
var knownField = func() map[string]bool {
	m := make(map[string]bool, 2*len(fieldTable))
	for _, f := range fieldTable {
		m[f.Legacy], m[f.V1] = true, true
	}
	delete(m, "")
	return m
}()

// fieldTable is in legacy element order: the <Monitor> bodies list their
// elements in this order (after monId).
var fieldTable = []fieldDef{
	def("ID", "monId", "id", kindNumber, "", nil),
	def("CustomerID", "cstId", "customer_id", kindNumber, "", nil),
	def("Spec.Topics", "monTopic", "topics", kindList, "",
		func(s *Spec) string { return strings.Join(s.Topics, ",") }),
	def("Spec.Transport", "monTransportType", "type", kindText, "tcp, http or polling",
		func(s *Spec) string { return string(s.Transport) }),
	def("Spec.Format", "monFormatType", "format", kindText, "json or xml",
		func(s *Spec) string { return string(s.Format) }),
	def("Spec.BatchSize", "monBatchSize", "batch_size", kindNumber, "events",
		func(s *Spec) string { return countText(s.BatchSize) }),
	def("Spec.BatchDuration", "monBatchDuration", "batch_duration", kindNumber, "seconds",
		func(s *Spec) string { return durationText(s.BatchDuration, time.Second) }),
	def("Spec.Compression", "monCompression", "compression", kindText, "none or zlib",
		func(s *Spec) string { return string(s.Compression) }),
	def("Spec.Ack", "monAckOption", "acknowledgement", kindText, "explicit or off",
		func(s *Spec) string { return string(s.Ack) }),
	// Always sent, so that an update can turn it off.
	def("Spec.Persistent", "monAutoReplayOnConnect", "persistent", kindBool, "",
		func(s *Spec) string { return strconv.FormatBool(s.Persistent) }),
	def("Spec.Description", "monDescription", "description", kindText, "",
		func(s *Spec) string { return s.Description }),
	def("Spec.URL", "monTransportUrl", "url", kindText, "",
		func(s *Spec) string { return s.URL }),
	def("Spec.Token", "monTransportToken", "auth_token", kindText, `"user:password"`,
		func(s *Spec) string { return s.Token.Reveal() }),
	def("Spec.Method", "monTransportMethod", "method", kindText, "PUT or POST",
		func(s *Spec) string { return s.Method }),
	def("Spec.Headers", "monTransportHeaders", "headers", kindLines, `"Name: value"`,
		func(s *Spec) string { return joinSecrets(s.Headers, "\n") }),
	def("Spec.ConnectTimeout", "monConnectTimeout", "connect_timeout", kindNumber, "milliseconds",
		func(s *Spec) string { return durationText(s.ConnectTimeout, time.Millisecond) }),
	def("Spec.ResponseTimeout", "monResponseTimeout", "response_timeout", kindNumber, "milliseconds",
		func(s *Spec) string { return durationText(s.ResponseTimeout, time.Millisecond) }),
	def("Spec.SchemaType", "monSchemaType", "schema_type", kindText, "handlebars",
		func(s *Spec) string { return s.SchemaType }),
	def("Spec.Schema", "monSchemaData", "schema", kindText, "template",
		func(s *Spec) string { return s.Schema }),
	def("Status", "monStatus", "status", kindText, "", nil),
	def("LastConnect", "monLastConnect", "last_connect", kindTime, "", nil),
	def("LastSent", "monLastSent", "last_sent", kindTime, "", nil),
	def("LastSentUUID", "monLastSentUuid", "last_sent_uuid", kindText, "", nil),
}

// FieldMappings returns the mapping of every monitor field between the Go
// types, the legacy API's elements and the v1 API's fields, in legacy
// element order. The slice is a fresh copy the caller may modify.
//
//	Go field              legacy element          v1 field
//	ID                    monId                   id
//	CustomerID            cstId                   customer_id
//	Spec.Topics           monTopic                topics
//	Spec.Transport        monTransportType        type
//	Spec.Format           monFormatType           format
//	Spec.BatchSize        monBatchSize            batch_size
//	Spec.BatchDuration    monBatchDuration        batch_duration
//	Spec.Compression      monCompression          compression
//	Spec.Ack              monAckOption            acknowledgement
//	Spec.Persistent       monAutoReplayOnConnect  persistent
//	Spec.Description      monDescription          description
//	Spec.URL              monTransportUrl         url
//	Spec.Token            monTransportToken       auth_token
//	Spec.Method           monTransportMethod      method
//	Spec.Headers          monTransportHeaders     headers
//	Spec.ConnectTimeout   monConnectTimeout       connect_timeout
//	Spec.ResponseTimeout  monResponseTimeout      response_timeout
//	Spec.SchemaType       monSchemaType           schema_type
//	Spec.Schema           monSchemaData           schema
//	Status                monStatus               status
//	LastConnect           monLastConnect          last_connect
//	LastSent              monLastSent             last_sent
//	LastSentUUID          monLastSentUuid         last_sent_uuid
func FieldMappings() []FieldMapping {
	out := make([]FieldMapping, len(fieldTable))
	for i, f := range fieldTable {
		out[i] = f.FieldMapping
	}
	return out
}

// joinSecrets joins the revealed secrets with sep, for the wire.
func joinSecrets(ss []secret.String, sep string) string {
	parts := make([]string, len(ss))
	for i, v := range ss {
		parts[i] = v.Reveal()
	}
	return strings.Join(parts, sep)
}

// specText returns the wire text of every writable field of a normalized
// spec that is set, in table order, as (field definition, text) pairs.
func specText(s *Spec) []fieldText {
	var out []fieldText
	for i := range fieldTable {
		f := &fieldTable[i]
		if f.text == nil {
			continue
		}
		if v := f.text(s); v != "" {
			out = append(out, fieldText{f, v})
		}
	}
	return out
}

type fieldText struct {
	def  *fieldDef
	text string
}
