package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"time"

	"github.com/pushmon/pushmon/internal/envelope"
)

// From a request's document to the consumer: the split into events under
// the parsing budgets, the recognition of the server's retry of a failed
// push, and the hand-off, one request at a time.

// split turns a document into events under the parsing budgets, and
// counts and logs what it gave besides events. A non-zero status refuses
// it. The split stops at its next check when the request ends or the
// receiver stops (503).
func (r *HTTPReceiver) split(reqCtx context.Context, doc []byte) ([]Event, int, string) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 {
		return nil, 0, "" // keep-alive
	}
	ctx, cancel := context.WithCancel(reqCtx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	format := sniffFormat(trimmed)
	var sp envelope.Splitter
	events, res := splitEvents(ctx, &sp, nil, doc, format, r.cfg.MonitorID)
	err := res.err
	if err == nil && res.raw {
		err = sp.Wellformed(ctx, trimmed, envelope.Format(format))
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrDocumentLimit):
		r.countOverBudget(err)
		r.log(reqCtx, slog.LevelError, "push document over a parsing budget", "err", err)
		return nil, http.StatusRequestEntityTooLarge, "document exceeds a parsing budget"
	case errors.Is(err, envelope.ErrMalformed):
		return nil, http.StatusBadRequest, "malformed " + format.String() + " document"
	case r.ctx.Err() != nil:
		return nil, http.StatusServiceUnavailable, "receiver stopped"
	default: // the request ended
		return nil, http.StatusServiceUnavailable, "request ended"
	}
	if res.raw {
		r.stats.raw.Add(1)
	}
	if res.invalid > 0 {
		r.countInvalid(res.invalid, res.first)
		r.log(reqCtx, slog.LevelWarn, "invalid events delivered flagged", "err",
			fmt.Errorf("stream: %d invalid event(s) delivered with Event.Err set, the first: %w", res.invalid, res.first))
	}
	return events, 0, ""
}

// retried reports whether a document equal to doc was received recently
// (remembering doc's hash otherwise): then the request is the server's
// retry of a push that failed, whose events are all checked against the
// dedup window.
func (r *HTTPReceiver) retried(doc []byte) *resend {
	d := r.docs
	if d == nil {
		return nil
	}
	k := maphash.Bytes(d.seed, doc)
	d.mu.Lock()
	seen := d.seen(k)
	if !seen {
		d.add(k)
	}
	d.mu.Unlock()
	if !seen {
		return nil
	}
	return newResend(true, true)
}

// handOff gives events to the consumer; the caller has the turn. It
// checks against the dedup window those of a retried document (rs) and
// those flagged replay. It returns 200 when all were received, else 503:
// the receiver stopped, the hand-off timed out or the request itself
// ended.
func (r *HTTPReceiver) handOff(reqCtx context.Context, events []Event, rs *resend, timeout <-chan time.Time) (int, string) {
	status, msg := http.StatusOK, ""
	dups, lost, err := r.dedup.handOver(events, rs, func(ev Event) error {
		var ok bool
		if status, msg, ok = give(r.events, ev, r.ctx.Done(), reqCtx.Done(), timeout); !ok {
			return errNotHandedOver
		}
		return nil
	})
	r.countHandOver(events, dups, lost)
	if err != nil {
		return status, msg
	}
	return http.StatusOK, ""
}

// errNotHandedOver stops a hand-off that give refused.
var errNotHandedOver = errors.New("stream: not handed over")

// give sends v on ch unless the receiver stops, the request ends or the
// hand-off times out first; then it returns false and the answer for the
// request: 503. A request that ended is answered too: its client may
// still read the answer (it half-closed the connection, or a middleware
// or the server's BaseContext ended the request's context), and a
// handler that wrote nothing would make net/http answer 200 for events
// the consumer does not have.
func give[T any](ch chan<- T, v T, stopped, gone <-chan struct{}, timeout <-chan time.Time) (status int, msg string, ok bool) {
	select {
	case ch <- v:
		return http.StatusOK, "", true
	case <-stopped:
		return http.StatusServiceUnavailable, "receiver stopped", false
	case <-gone:
		return http.StatusServiceUnavailable, "request ended", false
	case <-timeout:
		return http.StatusServiceUnavailable, "consumer busy", false
	}
}
