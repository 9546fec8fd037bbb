package monitor

// The legacy /ws/Monitor wire mapping: Spec → XML request bodies, and JSON
// or XML answers → Monitor. The element names and their order come from
// fieldTable (fields.go), which also maps them to the v1 API; parsing the
// elements' text is here (monitorFromFields), and the v1 decoder reuses it.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushmon/pushmon/secret"
)

// encodeLegacy renders a normalized spec as a <Monitor> body: monId (id 0,
// for a create, omits it), then every set field of s in the order and with
// the element names of fieldTable (fields.go). Text is escaped by
// encoding/xml, so '<' and '&' arrive intact.
func encodeLegacy(id uint32, s Spec) ([]byte, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	root := xml.StartElement{Name: xml.Name{Local: "Monitor"}}
	if err := enc.EncodeToken(root); err != nil {
		return nil, err
	}
	if id != 0 {
		if err := enc.EncodeElement(strconv.FormatUint(uint64(id), 10), xml.StartElement{Name: xml.Name{Local: "monId"}}); err != nil {
			return nil, err
		}
	}
	for _, ft := range specText(&s) {
		if err := enc.EncodeElement(ft.text, xml.StartElement{Name: xml.Name{Local: ft.def.Legacy}}); err != nil {
			return nil, err
		}
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return nil, err
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeReset renders the bare "kick" body <Monitor><monId>id</monId></Monitor>.
func encodeReset(id uint32) []byte {
	return []byte("<Monitor><monId>" + strconv.FormatUint(uint64(id), 10) + "</monId></Monitor>")
}

// legacyPage is one decoded list answer.
type legacyPage struct {
	items     []Monitor
	remaining int64  // remainingSize; 0 when absent
	errText   string // an "error" the server put in a 2xx answer
}

// decodeList decodes a list or get answer in either representation: the
// JSON envelope (all values strings, or numbers) or XML <result> (or a bare
// <Monitor>).
func decodeList(body []byte) (legacyPage, error) {
	switch firstByte(body) {
	case '{':
		return decodeListJSON(body)
	case '<':
		return decodeListXML(body)
	case 0:
		return legacyPage{}, fmt.Errorf("empty body")
	default:
		return legacyPage{}, fmt.Errorf("neither JSON nor XML")
	}
}

type jsonEnvelope struct {
	RemainingSize json.RawMessage              `json:"remainingSize"`
	Items         []map[string]json.RawMessage `json:"items"`
	Error         json.RawMessage              `json:"error"`
	Location      json.RawMessage              `json:"location"`
	// v1 APIs answer errors as {"error_status":400,"error_message":"…"}.
	ErrorMessage json.RawMessage `json:"error_message"`
}

func decodeListJSON(body []byte) (legacyPage, error) {
	var env jsonEnvelope
	if err := json.Unmarshal(trimBody(body), &env); err != nil {
		return legacyPage{}, fmt.Errorf("JSON: %v", err)
	}
	var p legacyPage
	rem, err := jsonScalar(env.RemainingSize)
	if err != nil {
		return legacyPage{}, fmt.Errorf("remainingSize: %v", err)
	}
	if p.remaining, err = parseCount("remainingSize", rem); err != nil {
		return legacyPage{}, err
	}
	p.errText = jsonErrorText(env.Error)
	for i, item := range env.Items {
		f := make(map[string]string, len(item))
		for k, raw := range item {
			v, err := jsonScalar(raw)
			if err != nil {
				return legacyPage{}, fmt.Errorf("items[%d].%s: %v", i, k, err)
			}
			f[k] = v
		}
		m, err := monitorFromFields(f)
		if err != nil {
			return legacyPage{}, fmt.Errorf("items[%d]: %v", i, err)
		}
		p.items = append(p.items, m)
	}
	return p, nil
}

// jsonScalar returns a JSON string's value, or a number's or boolean's
// literal text; null and absent give "". Objects and arrays are refused.
func jsonScalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", fmt.Errorf("unexpected JSON %s", map[byte]string{'{': "object", '[': "array"}[raw[0]])
	}
	return string(raw), nil
}

// jsonErrorText reads an "error" value: a string or an array of strings
// (both seen from the server).
func jsonErrorText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if s, err := jsonScalar(raw); err == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	return string(raw)
}

// xmlFields collects the children of an element as name → text.
type xmlFields map[string]string

// UnmarshalXML implements xml.Unmarshaler.
func (f *xmlFields) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	m := make(map[string]string)
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var v struct {
				Text string `xml:",chardata"`
			}
			if err := d.DecodeElement(&v, &t); err != nil {
				return err
			}
			m[t.Name.Local] = v.Text
		case xml.EndElement:
			*f = m
			return nil
		}
	}
}

type xmlResult struct {
	RemainingSize string      `xml:"remainingSize"`
	Monitors      []xmlFields `xml:"Monitor"`
	Location      string      `xml:"location"`
	Errors        []string    `xml:"error"`
	Message       string      `xml:"message"`
}

// decodeXMLRoot decodes a <result> answer; a bare <Monitor> root becomes a
// result holding that one monitor.
func decodeXMLRoot(body []byte) (xmlResult, error) {
	d := newXMLDecoder(body)
	for {
		tok, err := d.Token()
		if err != nil {
			return xmlResult{}, fmt.Errorf("XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		var r xmlResult
		switch se.Name.Local {
		case "result":
			err = d.DecodeElement(&r, &se)
		case "Monitor":
			var f xmlFields
			err = d.DecodeElement(&f, &se)
			r.Monitors = []xmlFields{f}
		default:
			return xmlResult{}, fmt.Errorf("XML: unexpected root <%s>", se.Name.Local)
		}
		if err != nil {
			return xmlResult{}, fmt.Errorf("XML: %v", err)
		}
		return r, nil
	}
}

func decodeListXML(body []byte) (legacyPage, error) {
	r, err := decodeXMLRoot(body)
	if err != nil {
		return legacyPage{}, err
	}
	var p legacyPage
	if p.remaining, err = parseCount("remainingSize", r.RemainingSize); err != nil {
		return legacyPage{}, err
	}
	p.errText = joinTexts(r.Errors, nil)
	for i, f := range r.Monitors {
		m, err := monitorFromFields(f)
		if err != nil {
			return legacyPage{}, fmt.Errorf("Monitor[%d]: %v", i, err)
		}
		p.items = append(p.items, m)
	}
	return p, nil
}

func newXMLDecoder(body []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(trimBody(body)))
	d.CharsetReader = charsetReader
	return d
}

// charsetReader lets encoding/xml read the ISO-8859-1 answers the server
// declares ("<?xml version="1.0" encoding="ISO-8859-1"?>").
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8":
		return in, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
		raw, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(raw)+len(raw)/8)
		for _, b := range raw {
			out = utf8.AppendRune(out, rune(b))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}

// monitorFromFields maps monitor elements (from JSON or XML) to a Monitor.
// Unknown elements are ignored. Numbers must parse; timestamps that do not
// parse are left zero (they are informational).
func monitorFromFields(f map[string]string) (Monitor, error) {
	get := func(k string) string { return strings.TrimSpace(f[k]) }
	var m Monitor
	id, err := parseUint32("monId", get("monId"))
	if err != nil {
		return Monitor{}, err
	}
	if id == 0 {
		return Monitor{}, fmt.Errorf("monId missing or 0")
	}
	m.ID = id
	if m.CustomerID, err = parseUint32("cstId", get("cstId")); err != nil {
		return Monitor{}, err
	}
	for _, t := range splitTopics(f["monTopic"]) {
		if t != "" {
			m.Topics = append(m.Topics, t)
		}
	}
	m.Transport = Transport(strings.ToLower(get("monTransportType")))
	m.Format = Format(strings.ToLower(get("monFormatType")))
	m.Compression = normalizeCompression(Compression(get("monCompression")))
	m.Ack = AckOption(strings.ToLower(get("monAckOption")))
	if v := get("monBatchSize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return Monitor{}, fmt.Errorf("monBatchSize %q is not a count", v)
		}
		m.BatchSize = int(n)
	}
	if m.BatchDuration, err = parseDuration("monBatchDuration", get("monBatchDuration"), time.Second); err != nil {
		return Monitor{}, err
	}
	if v := get("monAutoReplayOnConnect"); v != "" {
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return Monitor{}, fmt.Errorf("monAutoReplayOnConnect %q is not a boolean", v)
		}
		m.Persistent = b
	}
	m.Description = f["monDescription"]
	m.URL = redactURLUser(get("monTransportUrl"))
	m.Token = secret.New(get("monTransportToken"))
	m.Method = strings.ToUpper(get("monTransportMethod"))
	for _, line := range strings.Split(f["monTransportHeaders"], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m.Headers = append(m.Headers, secret.New(line))
		}
	}
	if m.ConnectTimeout, err = parseDuration("monConnectTimeout", get("monConnectTimeout"), time.Millisecond); err != nil {
		return Monitor{}, err
	}
	if m.ResponseTimeout, err = parseDuration("monResponseTimeout", get("monResponseTimeout"), time.Millisecond); err != nil {
		return Monitor{}, err
	}
	m.SchemaType = get("monSchemaType")
	m.Schema = f["monSchemaData"]
	m.Status = strings.ToUpper(get("monStatus"))
	m.LastConnect = parseTimestamp(get("monLastConnect"))
	m.LastSent = parseTimestamp(get("monLastSent"))
	m.LastSentUUID = get("monLastSentUuid")
	return m, nil
}

// redactURLUser hides the password of a URL's user info. Spec.Validate
// refuses such URLs, but a monitor created elsewhere may have one, and URL
// is a plain string that fmt prints as is. The result does not validate,
// so it cannot be sent back by mistake.
func redactURLUser(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

func parseUint32(name, v string) (uint32, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a 32-bit unsigned integer", name, v)
	}
	return uint32(n), nil
}

func parseCount(name, v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a count", name, v)
	}
	return n, nil
}

func parseDuration(name, v string, unit time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("%s %q is not a duration in %s", name, v, unit)
	}
	return time.Duration(n) * unit, nil
}

// parseTimestamp reads the server's ISO-8601 timestamps (UTC, with or
// without fraction or zone) and epoch milliseconds. It returns the zero
// time for anything else.
func parseTimestamp(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if isDigits(v) {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return time.UnixMilli(ms).UTC()
		}
		return time.Time{}
	}
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// createdID finds the new monitor's id in a create answer: the body's
// <location>Monitor/N</location> (or JSON "location"), else the Location
// header. Either may be missing.
func createdID(resp *response) (uint32, bool) {
	var loc string
	switch firstByte(resp.body) {
	case '<':
		if r, err := decodeXMLRoot(resp.body); err == nil {
			loc = r.Location
		}
	case '{':
		var env jsonEnvelope
		if json.Unmarshal(trimBody(resp.body), &env) == nil {
			loc, _ = jsonScalar(env.Location)
		}
	}
	if id, ok := locationID(loc); ok {
		return id, true
	}
	return locationID(resp.header.Get("Location"))
}

// locationID reads the id from "Monitor/1234", "/ws/Monitor/1234",
// "https://host/ws/Monitor/1234/" or a bare "1234".
func locationID(loc string) (uint32, bool) {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return 0, false
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	loc = strings.TrimRight(loc, "/")
	seg := loc[strings.LastIndexByte(loc, '/')+1:]
	if !isDigits(seg) {
		return 0, false
	}
	n, err := strconv.ParseUint(seg, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint32(n), true
}

// errorMessage extracts the server's explanation from an error body:
// <result><error>…</error></result>, {"error": "…"} or {"error": ["…"]};
// otherwise a short, single-line excerpt of the body. The secrets of sc
// are scrubbed from the raw body first (cut is true when the body was cut
// short, so that a secret's first part at its end goes too), then from
// each decoded text, before anything is trimmed, collapsed or cut.
func errorMessage(body []byte, cut bool, sc scrubber) string {
	raw := string(body)
	if cut {
		raw = sc.scrubCut(raw)
	} else {
		raw = sc.scrub(raw)
	}
	b := []byte(raw)
	msg := ""
	switch firstByte(b) {
	case '<':
		if r, err := decodeXMLRoot(b); err == nil {
			if msg = joinTexts(r.Errors, sc); msg == "" {
				msg = joinTexts([]string{r.Message}, sc)
			}
		}
	case '{':
		var env jsonEnvelope
		if json.Unmarshal(trimBody(b), &env) == nil {
			if msg = sc.scrub(jsonErrorText(env.Error)); msg == "" {
				msg = sc.scrub(jsonErrorText(env.ErrorMessage))
			}
			msg = strings.TrimSpace(msg)
		}
	}
	if msg != "" {
		return cutText(msg, maxMessage)
	}
	return sc.oneLine(raw, 200)
}

// joinTexts scrubs each text, then trims it, and joins the non-empty ones
// with "; ".
func joinTexts(texts []string, sc scrubber) string {
	var out []string
	for _, t := range texts {
		if t = strings.TrimSpace(sc.scrub(t)); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "; ")
}

// trimBody drops leading white space and a UTF-8 byte-order mark.
func trimBody(b []byte) []byte {
	b = bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("\xEF\xBB\xBF"))
	return bytes.TrimLeft(b, " \t\r\n")
}

// firstByte returns the first byte after white space and a UTF-8 BOM, or 0.
func firstByte(b []byte) byte {
	if b = trimBody(b); len(b) == 0 {
		return 0
	}
	return b[0]
}
