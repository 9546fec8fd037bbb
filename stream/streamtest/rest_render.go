package streamtest

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rendering of the legacy REST API's answers: a monitor's elements,
// list envelopes in XML and JSON, and XML errors.

// writeError answers status with the service's XML error body,
// <result><error>msg</error></result>.
func writeError(w http.ResponseWriter, status int, msg string) {
	var b strings.Builder
	b.WriteString(xmlDecl)
	b.WriteString("<result><error>")
	escASCII(&b, msg)
	b.WriteString("</error></result>")
	w.Header().Set("Content-Type", xmlContentType)
	w.WriteHeader(status)
	io.WriteString(w, b.String())
}

// kv is one monitor field as the REST API shows it.
type kv struct{ k, v string }

// restFieldsLocked renders the monitor's elements. m.mu must be held.
func (m *monitor) restFieldsLocked() []kv {
	sp := &m.spec
	f := []kv{
		{"monId", strconv.FormatUint(uint64(m.id), 10)},
		{"cstId", strconv.FormatUint(uint64(m.s.cst), 10)},
		{"monTopic", strings.Join(sp.Topics, ",")},
		{"monTransportType", sp.Transport},
		{"monFormatType", sp.Format},
		{"monBatchSize", strconv.Itoa(sp.BatchSize)},
		{"monBatchDuration", seconds(sp.BatchDuration)},
		{"monCompression", sp.Compression},
		{"monAckOption", ackOption(sp.AckExplicit)},
		{"monAutoReplayOnConnect", strconv.FormatBool(sp.Persistent)},
		{"monStatus", m.statusLocked()},
	}
	opt := func(k, v string) {
		if v != "" {
			f = append(f, kv{k, v})
		}
	}
	opt("monDescription", sp.Description)
	if sp.Transport == "http" {
		opt("monTransportUrl", sp.TransportURL)
		opt("monTransportMethod", sp.TransportMethod)
		opt("monTransportHeaders", sp.TransportHeaders)
		opt("monConnectTimeout", strconv.FormatInt(sp.ConnectTimeout.Milliseconds(), 10))
		opt("monResponseTimeout", strconv.FormatInt(sp.ResponseTimeout.Milliseconds(), 10))
	}
	opt("monSchemaType", sp.SchemaType)
	opt("monSchemaData", sp.SchemaData)
	if !m.lastConnect.IsZero() {
		opt("monLastConnect", m.lastConnect.Format(timestampLayout))
	}
	if !m.lastSent.IsZero() {
		opt("monLastSent", m.lastSent.Format(timestampLayout))
	}
	return f
}

// ackOption renders monAckOption.
func ackOption(explicit bool) string {
	if explicit {
		return "explicit"
	}
	return "off"
}

// seconds renders a batch duration as REST seconds: "0" for no wait,
// otherwise rounded up to a whole second.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

// rows returns the fields of every monitor that matches cond, by id.
func (s *Server) rows(cond condition) [][]kv {
	var rows [][]kv
	for _, m := range s.snapshot() {
		m.mu.Lock()
		if !m.deleted {
			f := m.restFieldsLocked()
			if cond.match(f) {
				rows = append(rows, f)
			}
		}
		m.mu.Unlock()
	}
	return rows
}

// writeList answers a page of a list of item elements ("Monitor",
// "DeviceCore") in the service's envelope, XML or JSON. A field named
// "parent/child" is rendered inside a parent element (a JSON object)
// holding the consecutive fields of the same parent.
func writeList(w http.ResponseWriter, asJSON bool, item string, total, start, size int, page [][]kv) {
	remaining := max(total-start-len(page), 0)
	head := []kv{
		{"resultTotalRows", strconv.Itoa(total)},
		{"requestedStartRow", strconv.Itoa(start)},
		{"resultSize", strconv.Itoa(len(page))},
		{"requestedSize", strconv.Itoa(size)},
		{"remainingSize", strconv.Itoa(remaining)},
	}
	if asJSON {
		b := []byte{'{'}
		for _, h := range head {
			b = appendJSONString(b, h.k)
			b = append(b, ':')
			b = appendJSONString(b, h.v)
			b = append(b, ',')
		}
		b = append(b, `"items":[`...)
		for i, row := range page {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONFields(b, row)
		}
		b = append(b, "]}"...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return
	}
	var b strings.Builder
	b.WriteString(xmlDecl)
	b.WriteString("\n<result>\n")
	for _, h := range head {
		writeElem(&b, h.k, h.v)
	}
	for _, row := range page {
		b.WriteString("<" + item + ">\n")
		writeElems(&b, row)
		b.WriteString("</" + item + ">\n")
	}
	b.WriteString("</result>\n")
	w.Header().Set("Content-Type", xmlContentType)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, b.String())
}

// group returns the length of the run of fields at the start of row that
// share the parent of row[0] ("id" of "id/devId"), and that parent; 1 and
// "" for a plain field.
func group(row []kv) (int, string) {
	parent, _, nested := strings.Cut(row[0].k, "/")
	if !nested {
		return 1, ""
	}
	n := 1
	for n < len(row) && strings.HasPrefix(row[n].k, parent+"/") {
		n++
	}
	return n, parent
}

// appendJSONFields appends row as a JSON object of strings.
func appendJSONFields(b []byte, row []kv) []byte {
	b = append(b, '{')
	for i := 0; i < len(row); {
		if i > 0 {
			b = append(b, ',')
		}
		n, parent := group(row[i:])
		if parent == "" {
			b = appendJSONString(b, row[i].k)
			b = append(b, ':')
			b = appendJSONString(b, row[i].v)
		} else {
			b = appendJSONString(b, parent)
			b = append(b, ':')
			sub := make([]kv, n)
			for j, f := range row[i : i+n] {
				sub[j] = kv{strings.TrimPrefix(f.k, parent+"/"), f.v}
			}
			b = appendJSONFields(b, sub)
		}
		i += n
	}
	return append(b, '}')
}

// writeElems writes row as XML elements.
func writeElems(b *strings.Builder, row []kv) {
	for i := 0; i < len(row); {
		n, parent := group(row[i:])
		if parent == "" {
			writeElem(b, row[i].k, row[i].v)
		} else {
			b.WriteString("  <" + parent + ">\n")
			for _, f := range row[i : i+n] {
				writeElem(b, strings.TrimPrefix(f.k, parent+"/"), f.v)
			}
			b.WriteString("  </" + parent + ">\n")
		}
		i += n
	}
}

func writeElem(b *strings.Builder, k, v string) {
	b.WriteString("  <")
	b.WriteString(k)
	b.WriteByte('>')
	escASCII(b, v)
	b.WriteString("</")
	b.WriteString(k)
	b.WriteString(">\n")
}

// escASCII writes s escaped for XML text, as pure ASCII: markup characters
// as entities, non-ASCII as numeric character references, characters XML
// cannot carry as U+FFFD.
func escASCII(b *strings.Builder, s string) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteString("&#13;")
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError:
			b.WriteString("&#65533;")
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		default:
			b.WriteString("&#")
			b.WriteString(strconv.Itoa(int(r)))
			b.WriteByte(';')
		}
	}
}
