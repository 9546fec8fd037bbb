package main

// pushclient monitors list|reset ID|delete ID: find, reset and clean up
// the account's monitors.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/pushmon/pushmon/internal/urlredact"
	"github.com/pushmon/pushmon/monitor"
)

// parseMonitorsCommand checks "monitors list|reset ID|delete ID" at the
// front of args and returns the command and the arguments after it.
func parseMonitorsCommand(args []string) (cmd []string, rest []string, err error) {
	if len(args) < 2 {
		return nil, nil, errors.New("monitors needs list, reset ID or delete ID")
	}
	switch args[1] {
	case "list":
		return args[:2], args[2:], nil
	case "reset", "delete":
		if len(args) < 3 {
			return nil, nil, fmt.Errorf("monitors %s needs a monitor id", args[1])
		}
		if id, err := strconv.ParseUint(args[2], 10, 32); err != nil || id == 0 {
			return nil, nil, fmt.Errorf("monitors %s: %q is not a monitor id", args[1], args[2])
		}
		return args[:3], args[3:], nil
	}
	return nil, nil, fmt.Errorf("monitors: unknown command %q (list, reset ID, delete ID)", args[1])
}

// monitorsCommand runs a parsed "monitors" command.
func monitorsCommand(ctx context.Context, api *monitor.Client, o *options, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch o.cmd[1] {
	case "list":
		ms, err := api.List(ctx, "")
		if err != nil {
			return explain(err)
		}
		return printMonitors(stdout, o.output, ms)
	case "reset":
		id := parseID(o.cmd[2])
		// The v1 reset re-enables a DISABLED monitor; a server without it
		// gets the legacy "kick" (a bare PUT), which resets any monitor.
		err := api.V1().Reset(ctx, id)
		var ae *monitor.APIError
		if errors.As(err, &ae) && (ae.StatusCode == 404 || ae.StatusCode == 405) {
			err = api.Reset(ctx, id)
		}
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "monitor %d reset\n", id)
	case "delete":
		id := parseID(o.cmd[2])
		if err := api.Delete(ctx, id); err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "monitor %d deleted\n", id)
	}
	return nil
}

func parseID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32) // checked by parseMonitorsCommand
	return uint32(n)
}

// printMonitors writes a table, or one JSON object per monitor for
// -output ndjson. Tokens and header values never appear.
func printMonitors(w io.Writer, mode string, ms []monitor.Monitor) error {
	if mode == "ndjson" {
		enc := json.NewEncoder(w)
		for _, m := range ms {
			rec := map[string]any{
				"id": m.ID, "transport": m.Transport, "status": m.Status, "topics": m.Topics,
				"format": m.Format, "persistent": m.Persistent, "description": m.Description,
			}
			if m.URL != "" {
				rec["url"] = redactedURL(m)
			}
			if m.SchemaType != "" {
				rec["schema_type"] = m.SchemaType
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTRANSPORT\tSTATUS\tTOPICS\tDESCRIPTION")
	for _, m := range ms {
		tr := string(m.Transport)
		if tr == "" {
			tr = "tcp"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", m.ID, cell(tr), cell(m.Status), cell(strings.Join(m.Topics, ",")), cell(m.Description))
	}
	return tw.Flush()
}

// cell is a server's text as a table cell: quoted, with escapes, when it
// holds anything but printable characters (a tab, or a terminal control
// sequence in a description).
func cell(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

// redactedURL is the monitor's push URL with the user info's password and
// every query value hidden: the monitor package prints URLs as they are
// (they are addresses), but a listing is often pasted into tickets, and a
// monitor created by another tool may carry a key in its query.
func redactedURL(m monitor.Monitor) string { return urlredact.String(m.URL) }
