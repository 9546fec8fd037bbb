package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pushmon/pushmon/examples/internal/eventjson"
	"github.com/pushmon/pushmon/stream"
)

// printer writes events to stdout, flushing after each so a pipe sees
// every event as it arrives.
type printer struct {
	ndjson bool
	w      *bufio.Writer
	indent bytes.Buffer
}

func newPrinter(mode string, w io.Writer) *printer {
	return &printer{ndjson: mode == "ndjson", w: bufio.NewWriter(w)}
}

// print writes ev. In text mode, the event's summary line starts at the
// first column and every line of its body is indented; what the server
// sent (a topic, an operation, a body, which devices fill) is shown with
// its control characters escaped, so that it can neither drive the
// terminal nor pass for another event's line.
func (p *printer) print(ev stream.Event) error {
	if p.ndjson {
		line, err := eventjson.Line(ev)
		if err != nil {
			return err
		}
		p.w.Write(line)
		return p.w.Flush()
	}
	p.w.WriteString(visible(ev.String(), false)) // stream.Event.String: the one-line summary
	p.w.WriteString("\n")
	body := ev.Body
	if ev.Format == stream.FormatJSON {
		p.indent.Reset()
		if json.Indent(&p.indent, ev.Body, "", "  ") == nil {
			body = p.indent.Bytes()
		}
	}
	for line := range strings.Lines(visible(string(body), true)) {
		p.w.WriteString("    ")
		p.w.WriteString(strings.TrimSuffix(line, "\n"))
		p.w.WriteString("\n")
	}
	if len(body) == 0 {
		p.w.WriteString("    \n")
	}
	return p.w.Flush()
}

// visible returns s with every character that is not graphic — control
// characters, format characters such as a bidi override, bytes that are
// not UTF-8 — written as its Go escape (\x1b, \u202e, \xff); newlines,
// tabs and the carriage return of a CRLF are kept when lines is true.
func visible(s string, lines bool) string {
	ok := func(r rune, rest string) bool {
		return unicode.IsGraphic(r) || lines && (r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(rest, "\n"))
	}
	clean := true
	for i, r := range s {
		if r == utf8.RuneError || !ok(r, s[i+utf8.RuneLen(r):]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case ok(r, s[i+n:]):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}
