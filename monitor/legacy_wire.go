package monitor

// The legacy /ws/Monitor wire mapping: Spec → XML request bodies, and a
// monitor's elements → Monitor. The element names and their order come
// from fieldTable (fields.go), which also maps them to the v1 API; parsing
// the elements' text is here (monitorFromFields), for the legacy decoder
// (decode.go) and the v1 one alike.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	if topicCount(f["monTopic"]) > maxValues || strings.Count(f["monTransportHeaders"], "\n") >= maxValues {
		return Monitor{}, &LimitError{LimitValues, maxValues}
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
//
// A password holding a '/', '#', '?' or a space makes the URL unparsable,
// or parsed without user info ("https://u:2024/pw@host" has port 2024 and
// the path "/pw@host"): such a URL, one that does not parse or has no
// user info but an '@' after a ':' past its scheme, has everything between
// its scheme and its last '@' replaced, since where the user info ends
// cannot be told.
func redactURLUser(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		at := strings.LastIndexByte(raw, '@')
		if at < 0 {
			return raw
		}
		start := 0
		if i := strings.Index(raw, "://"); i >= 0 && i < at {
			start = i + len("://")
		}
		if err == nil && !strings.Contains(raw[start:at], ":") {
			return raw // an '@' in the path or query, no password before it
		}
		return raw[:start] + "REDACTED" + raw[at:]
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
	if a, err := decodeLegacy(resp.body, -1); err == nil {
		if id, ok := locationID(a.location); ok {
			return id, true
		}
	}
	return locationID(resp.header.Get("Location"))
}

// seeOtherID returns the id of the monitor a followed 303 See Other named:
// where the request was sent, when that path, below the base path, is
// /ws/Monitor/{id} or /ws/v1/monitors/inventory/{id}.
func seeOtherID(base *url.URL, resp *response) (uint32, bool) {
	if resp.seeOther == nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(strings.TrimSuffix(resp.seeOther.Path, "/"), base.Path)
	if !ok {
		return 0, false
	}
	for _, prefix := range [...]string{legacyPath + "/", v1InventoryPath + "/"} {
		if len(rest) > len(prefix) && strings.EqualFold(rest[:len(prefix)], prefix) && isDigits(rest[len(prefix):]) {
			return locationID(rest[len(prefix):])
		}
	}
	return 0, false
}

// seeOtherMonitor returns the id of the monitor a create answered with 303
// See Other: the id its path names (seeOtherID) and the monitor the
// answer to the GET holds — one monitor, as the legacy API or the v1 API
// answers a GET of one — or a <location>; when both name one, they must
// agree. A body that names no monitor leaves the path's id.
func seeOtherMonitor(base *url.URL, resp *response) (uint32, error) {
	byPath, hasPath := seeOtherID(base, resp)
	var byBody uint32
	if a, err := decodeLegacy(resp.body, 1); err == nil && len(a.items) == 1 {
		byBody = a.items[0].ID
	} else if m, ok, err := decodeV1One(resp.body, 0, 1); err == nil && ok {
		byBody = m.ID
	} else if id, ok := createdID(&response{body: resp.body}); ok {
		byBody = id
	}
	switch {
	case hasPath && byBody != 0 && byBody != byPath:
		return 0, fmt.Errorf("the answer is for monitor %d, not %d where the 303 led", byBody, byPath)
	case hasPath:
		return byPath, nil
	case byBody != 0:
		return byBody, nil
	}
	return 0, errors.New("no monitor id where the 303 led nor in the answer")
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
