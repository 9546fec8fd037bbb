package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pushmon/pushmon/protocol"
	"github.com/pushmon/pushmon/stream"
)

// printer writes events to stdout, flushing after each so a pipe sees
// every event as it arrives.
type printer struct {
	ndjson bool
	w      *bufio.Writer
	enc    *json.Encoder
	indent bytes.Buffer
}

func newPrinter(mode string, w io.Writer) *printer {
	bw := bufio.NewWriter(w)
	return &printer{ndjson: mode == "ndjson", w: bw, enc: json.NewEncoder(bw)}
}

// record is one line of -output ndjson.
type record struct {
	Topic     string `json:"topic"`
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Timestamp string `json:"timestamp"`
	Group     string `json:"group"`
	Replay    bool   `json:"replay"`
	Body      any    `json:"body"`
}

func (p *printer) print(ev stream.Event) error {
	if p.ndjson {
		r := record{
			Topic: ev.Topic, Resource: ev.Resource, Operation: ev.Operation,
			Group: ev.Group, Replay: ev.Replay,
		}
		if !ev.Timestamp.IsZero() {
			r.Timestamp = ev.Timestamp.Format("2006-01-02T15:04:05.000Z07:00")
		}
		if ev.Format == protocol.FormatJSON && json.Valid(ev.Body) {
			r.Body = json.RawMessage(ev.Body)
		} else {
			r.Body = string(ev.Body)
		}
		if err := p.enc.Encode(r); err != nil {
			return err
		}
		return p.w.Flush()
	}
	fmt.Fprintf(p.w, "%s\n", ev) // stream.Event.String: the one-line summary
	body := ev.Body
	if ev.Format == protocol.FormatJSON {
		p.indent.Reset()
		if json.Indent(&p.indent, ev.Body, "    ", "  ") == nil {
			body = p.indent.Bytes()
		}
	}
	fmt.Fprintf(p.w, "    %s\n", body)
	return p.w.Flush()
}
