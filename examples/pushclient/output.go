package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
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

// errWriteAbandoned is the error of a write to stdout that was given up
// unfinished: the run ended while stdout's reader, still there, took
// nothing (a paused pager, a pipe into a stuck process).
var errWriteAbandoned = errors.New("write to stdout abandoned: its reader is not reading")

// abandonable is an io.Writer whose writes can be given up: each Write
// writes to w in a goroutine of its own and waits for it, until abandon
// is called. From then on, a Write under way and every later one return
// errWriteAbandoned at once (a write that has finished returns its own
// result); the write given up goes on in its goroutine until the reader
// takes it or the process exits. Writes must not be concurrent.
type abandonable struct {
	w    io.Writer
	once sync.Once
	gone chan struct{}
}

func newAbandonable(w io.Writer) *abandonable {
	return &abandonable{w: w, gone: make(chan struct{})}
}

func (a *abandonable) Write(p []byte) (int, error) {
	select {
	case <-a.gone:
		return 0, errWriteAbandoned
	default:
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := a.w.Write(p)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		return r.n, r.err
	case <-a.gone:
		select {
		case r := <-done:
			return r.n, r.err
		default:
			return 0, errWriteAbandoned
		}
	}
}

// abandon gives up the write under way, if any, and every later one. It
// may be called any number of times, from any goroutine.
func (a *abandonable) abandon() { a.once.Do(func() { close(a.gone) }) }
