package main

// Which monitors pushclient creates and deletes. Every monitor it creates
// is marked by its description; it deletes only those, unless
// -replace-foreign says otherwise, and names every monitor it deletes or
// leaves alone on stderr.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pushmon/pushmon/monitor"
)

// Description prefixes of the monitors pushclient creates. A temporary
// monitor is deleted on exit, and at a later start-up if it was left
// behind; a kept one (-keep) is never deleted by pushclient.
const (
	descTemporary = "pushclient temporary"
	descKept      = "pushclient kept"
)

// description is the monDescription of the monitor this run creates:
// the prefix, then what identifies the run, e.g.
// "pushclient temporary: run 3f9a1c2b7d4e, host build-7, pid 4242" (the
// host as runHost names it).
func description(keep bool) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := descTemporary
	if keep {
		d = descKept
	}
	d += ": run " + hex.EncodeToString(b[:])
	if host := runHost(); host != "" {
		d += ", host " + host
	}
	return d + ", pid " + strconv.Itoa(os.Getpid())
}

// runHost is where this run's process id means something: the host's
// name and, where the system has them, its PID namespace and a tag of its
// machine id ("build-7 pidns 4026531836 machine 5f0c2a9e7b31"), so that
// two containers sharing a host name, or two machines sharing one (the
// initial PID namespace has the same number on every Linux host), never
// take each other's processes for their own. "" when the host has no
// usable name.
func runHost() string {
	host := hostName()
	if host == "" {
		return ""
	}
	if ns := pidNamespace(); ns != "" {
		host += " pidns " + ns
	}
	if m := machineTag(); m != "" {
		host += " machine " + m
	}
	return host
}

// hostName is the host's name as a description carries it: printable
// ASCII, "" when none or longer than 64 bytes.
func hostName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, host)
	if len(host) > 64 {
		return ""
	}
	return host
}

// isTemporary reports whether m's description is one pushclient gives a
// temporary monitor: the prefix and ": run " — not merely a description
// that starts with the same words.
func isTemporary(m monitor.Monitor) bool {
	return strings.HasPrefix(m.Description, descTemporary+": run ")
}

// leftover reports whether m, a temporary monitor, was left behind by a
// run that has ended: its description names this host as runHost does
// (PID namespace and machine included) and a process that no longer
// runs, and, for tcp, no client is connected. A monitor with no client
// connected is not enough: its run may be reconnecting, or may not have
// connected yet; and a run on another host cannot be checked, so its
// monitor is left alone.
func leftover(m monitor.Monitor) bool {
	if isTCP(m) && m.Status == monitor.StatusActive {
		return false
	}
	host, pid, ok := origin(m.Description)
	return ok && host != "" && host == runHost() && processGone(pid)
}

func isTCP(m monitor.Monitor) bool { return m.Transport == "" || m.Transport == monitor.TransportTCP }

// origin returns the host and process id a description of a monitor
// pushclient created names: "…: run R, host H, pid P" (the host may be
// missing).
func origin(desc string) (host string, pid int, ok bool) {
	_, rest, ok := strings.Cut(desc, ": run ")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, ", pid ")
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(rest[i+len(", pid "):])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	if _, h, found := strings.Cut(rest[:i], ", host "); found {
		host = h
	}
	return host, pid, true
}

// createMonitor checks the run's monitor spec, clears the way
// (clearTopics), then creates the monitor: a spec that cannot be created
// deletes nothing. A non-zero id is a monitor this run created, to delete
// whatever the error; a monitor a failed create may have made, and that
// cannot be deleted, goes on left. The create request is not cancelled by ctx, so that
// a signal cannot leave a monitor the server created but whose id never
// arrived; it has its own deadline.
func createMonitor(ctx context.Context, api *monitor.Client, o *options, log *slog.Logger, tr *transport, left *leftBehind) (uint32, error) {
	topics := strings.Split(o.topics, ",")
	spec := monitor.Spec{
		Topics:        topics,
		Format:        monitor.Format(o.format),
		Compression:   monitor.Compression(o.compression),
		BatchSize:     o.batchSize,
		BatchDuration: time.Duration(o.batchDuration) * time.Second,
		Ack:           monitor.AckOption(o.ack),
		Persistent:    o.replay,
		Description:   description(o.keep),
	}
	if err := tr.spec(&spec); err != nil {
		return 0, err
	}
	if err := spec.Validate(); err != nil {
		return 0, err
	}
	if err := clearTopics(ctx, api, o, log, topics); err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.restTimeout)
	id, err := api.Create(cctx, spec)
	cancel()
	if err != nil {
		if mayHaveCreated(err) {
			removeUnconfirmed(ctx, api, o, log, topics, spec.Description, left)
		}
		return 0, explain(err)
	}
	log.Info("monitor created", "monitor_id", id, "topics", o.topics, "description", spec.Description)
	return id, nil
}

// clearTopics deletes the monitors on topics that an earlier run left
// behind (and, with -replace-foreign, every other one), and names on
// stderr those it leaves alone.
func clearTopics(ctx context.Context, api *monitor.Client, o *options, log *slog.Logger, topics []string) error {
	fctx, cancel := context.WithTimeout(ctx, o.restTimeout)
	found, err := api.FindByTopics(fctx, topics)
	cancel()
	if err != nil {
		return explain(err)
	}
	for _, m := range found {
		attrs := []any{"monitor_id", m.ID, "description", m.Description, "topics", strings.Join(m.Topics, ","), "status", m.Status}
		switch {
		case isTemporary(m) && leftover(m):
			log.Info("deleting a monitor an earlier pushclient run left behind", attrs...)
		case o.replaceForeign:
			log.Warn("deleting a monitor on the same topics (-replace-foreign)", attrs...)
		case isTemporary(m) && isTCP(m) && m.Status == monitor.StatusActive:
			log.Info("leaving alone a monitor on the same topics that another pushclient is connected to", attrs...)
			continue
		case isTemporary(m):
			log.Info("leaving alone a monitor on the same topics that another pushclient may be receiving "+
				"(if its run has ended, delete it with 'pushclient monitors delete ID')", attrs...)
			continue
		case strings.HasPrefix(m.Description, descKept+": run "):
			log.Info("leaving alone a monitor on the same topics that an earlier pushclient run kept (-monitor-id reuses it)", attrs...)
			continue
		default:
			log.Info("leaving alone a monitor on the same topics that this run did not create (-replace-foreign deletes it)", attrs...)
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, o.restTimeout)
		err := api.Delete(dctx, m.ID)
		cancel()
		if err != nil && !errors.Is(err, monitor.ErrNotFound) {
			return explain(err)
		}
	}
	return nil
}

// mayHaveCreated reports whether a failed create may still have created
// the monitor: the request may have reached the server, and no answer
// says it was refused.
func mayHaveCreated(err error) bool {
	var ae *monitor.APIError
	return !errors.As(err, &ae) && !errors.Is(err, monitor.ErrInvalidSpec) && !errors.Is(err, monitor.ErrInvalidConfig)
}

// removeUnconfirmed deletes the monitor a failed create may have made,
// found by the run's unique description. One it cannot delete, or cannot
// look for, goes on left.
func removeUnconfirmed(ctx context.Context, api *monitor.Client, o *options, log *slog.Logger, topics []string, desc string, left *leftBehind) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.restTimeout)
	defer cancel()
	found, err := api.FindByTopics(fctx, topics)
	if err != nil {
		left.add(log, 0, desc, err, "the monitor create failed and could not be checked: a monitor may be left behind",
			"description", desc, "err", err)
		return
	}
	for _, m := range found {
		if m.Description != desc {
			continue
		}
		if err := api.Delete(fctx, m.ID); err != nil && !errors.Is(err, monitor.ErrNotFound) {
			left.add(log, m.ID, desc, err, "deleting the monitor of a failed create failed", "monitor_id", m.ID, "err", err)
			continue
		}
		log.Info("deleted the monitor a failed create had made", "monitor_id", m.ID)
	}
}

// deleteMonitor deletes the run's monitor on the way out, with a deadline
// of its own: ctx is usually cancelled by then. A monitor it cannot
// delete goes on left; one already gone (404) is not left behind.
func deleteMonitor(ctx context.Context, api *monitor.Client, o *options, log *slog.Logger, id uint32, left *leftBehind) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.restTimeout)
	defer cancel()
	err := api.Delete(dctx, id)
	switch {
	case errors.Is(err, monitor.ErrNotFound):
		log.Info("monitor already deleted", "monitor_id", id)
	case err != nil:
		left.add(log, id, "", err, "deleting monitor failed", "monitor_id", id, "err", explain(err))
	default:
		log.Info("monitor deleted", "monitor_id", id)
	}
}

// exitMonitorLeft is the exit status when a monitor this run created
// was, or may have been, left behind: its delete failed (or went
// unanswered), or a create whose answer was lost could not be checked.
// It wins over every other status but a usage error's: the run's own
// error, if any, is printed before.
const exitMonitorLeft = 3

// leftBehind collects the monitors this run created, or may have created,
// and could not delete. run reports them last on stderr, each with the
// command that deletes it, and exits exitMonitorLeft. With -demo nothing
// is collected: the embedded simulator, and every monitor on it, ends
// with the process.
type leftBehind struct {
	demo     bool
	monitors []leftMonitor
}

type leftMonitor struct {
	id   uint32 // 0: a create whose answer was lost; the monitor, if it exists, carries desc
	desc string // of a failed create's monitor; "" for the run's own (its id is known)
	err  error
}

// add records a monitor this run created, or may have created, and could
// not delete (id 0: a create whose answer was lost, its monitor known by
// desc). report says it once, last on stderr, with the command that
// deletes it; nothing says it before. With -demo nothing is collected
// (the simulator ends with the process, and so does the monitor): the
// failure is logged at once, at WARN, as msg with attrs.
func (l *leftBehind) add(log *slog.Logger, id uint32, desc string, err error, msg string, attrs ...any) {
	if l.demo {
		log.Warn(msg, attrs...)
		return
	}
	l.monitors = append(l.monitors, leftMonitor{id, desc, err})
}

// report logs, at level ERROR, each monitor left behind and the command
// that deletes it (or lists the monitors, to find one whose id is
// unknown).
func (l *leftBehind) report(log *slog.Logger, o *options) {
	for _, m := range l.monitors {
		if m.id == 0 {
			log.Error("pushclient: a monitor may be left behind (a create whose answer was lost could not be checked); "+
				"find its id by its description with: "+command(o, "monitors", "list")+
				"; delete it with: "+command(o, "monitors", "delete", "ID"),
				"description", m.desc, "topics", o.topics, "err", explain(m.err))
			continue
		}
		id := strconv.FormatUint(uint64(m.id), 10)
		attrs := []any{"monitor_id", m.id, "topics", o.topics, "err", explain(m.err)}
		if m.desc != "" {
			attrs = append(attrs, "description", m.desc)
		}
		log.Error("pushclient: monitor "+id+" left behind (deleting it failed); delete it with: "+
			command(o, "monitors", "delete", id), attrs...)
	}
}

// command is a pushclient command line that reaches the same REST API as
// this run (its -api-url, password hidden, or -host; -insecure; -ca-file),
// ending with args, its words quoted for a POSIX shell where they need
// it. Credentials are not in it: the same arguments or RM_USERNAME and
// RM_PASSWORD go with it.
func command(o *options, args ...string) string {
	words := []string{"pushclient"}
	switch {
	case o.apiURL != "":
		words = append(words, "-api-url", showURL(o.apiURL))
	case o.hostSet:
		words = append(words, "-host", o.host)
	}
	if o.insecure {
		words = append(words, "-insecure")
	}
	if o.caFile != "" {
		words = append(words, "-ca-file", o.caFile)
	}
	words = append(words, args...)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote returns w as one word of a POSIX shell: as it is when it
// holds only characters the shell takes literally, else in single quotes.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// explain adds what the operator can do about a REST error.
func explain(err error) error {
	switch {
	case errors.Is(err, monitor.ErrUnauthorized):
		return fmt.Errorf("authentication failed (check username and password): %w", err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w (no answer within -rest-timeout)", err)
	}
	return err
}
