package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

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

func (p *printer) print(ev stream.Event) error {
	if p.ndjson {
		line, err := eventjson.Line(ev)
		if err != nil {
			return err
		}
		p.w.Write(line)
		return p.w.Flush()
	}
	fmt.Fprintf(p.w, "%s\n", ev) // stream.Event.String: the one-line summary
	body := ev.Body
	if ev.Format == stream.FormatJSON {
		p.indent.Reset()
		if json.Indent(&p.indent, ev.Body, "    ", "  ") == nil {
			body = p.indent.Bytes()
		}
	}
	fmt.Fprintf(p.w, "    %s\n", body)
	return p.w.Flush()
}
