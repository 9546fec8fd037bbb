package stream

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"
)

// Serving one push request: its steps, in order, and the answers to the
// requests refused.

// fail answers a refused request.
func (r *HTTPReceiver) fail(w http.ResponseWriter, req *http.Request, status int, msg string) {
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="pushmon"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "60")
	}
	r.countAnswer(status, msg)
	if ok, held := r.refusals.admit(status); ok {
		args := []any{"status", status, "reason", msg}
		if held > 0 {
			args = append(args, "not_logged_since", held)
		}
		r.log(req.Context(), slog.LevelWarn, "push refused", args...)
	}
	http.Error(w, msg, status)
}

// refusalWindow is how often at most the HTTP receiver logs a refusal of
// one status: a sender that repeats a refused push (a wrong token, an
// oversized body) as fast as it can would otherwise write a line per
// request. The refusals in between are counted in HTTPStats as ever, and
// their number is given with the next line logged for that status.
const refusalWindow = time.Minute

// refusalLog throttles the log lines of refusals, one logThrottle per
// status (a handful: the receiver's own answers). Safe for concurrent use.
type refusalLog struct {
	mu sync.Mutex
	by map[int]*logThrottle
}

// admit reports whether a refusal with status is logged now, and how many
// of that status were not logged before it.
func (l *refusalLog) admit(status int) (ok bool, held int) {
	l.mu.Lock()
	t := l.by[status]
	if t == nil {
		if l.by == nil {
			l.by = make(map[int]*logThrottle)
		}
		t = &logThrottle{window: refusalWindow}
		l.by[status] = t
	}
	l.mu.Unlock()
	return t.admit()
}

// held returns, and forgets, the refusals of each status not logged
// yet, for the receiver's end: otherwise their number would be told only
// by a next refusal of that status, which may never come.
func (l *refusalLog) held() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out map[int]int
	for status, t := range l.by {
		if n := t.due(true); n > 0 {
			if out == nil {
				out = make(map[int]int)
			}
			out[status] = n
		}
	}
	return out
}

// ServeHTTP receives one push. See [HTTPReceiver] for the answers.
func (r *HTTPReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.stats.requests.Add(1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.refuse(w, req, http.StatusServiceUnavailable, "receiver stopped")
		return
	}
	r.inflight.Add(1)
	r.mu.Unlock()
	defer r.inflight.Done()

	if !r.admit(w, req) {
		return
	}
	defer func() { <-r.slots }()
	body, err := r.readBody(w, req)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case r.ctx.Err() != nil:
			r.fail(w, req, http.StatusServiceUnavailable, "receiver stopped")
		case errors.As(err, &mbe):
			r.fail(w, req, http.StatusRequestEntityTooLarge, "body too large")
		case errors.Is(err, os.ErrDeadlineExceeded):
			r.fail(w, req, http.StatusRequestTimeout, "reading body timed out")
		default:
			r.fail(w, req, http.StatusBadRequest, "reading body failed")
		}
		return
	}
	var timeout <-chan time.Time
	if r.cfg.HandoffTimeout > 0 {
		t := time.NewTimer(r.cfg.HandoffTimeout)
		defer t.Stop()
		timeout = t.C
	}
	// The request's turn: only then is its body inflated and split, so
	// that waiting requests hold their bodies as received and nothing
	// more.
	if status, msg, ok := give(r.turn, struct{}{}, r.ctx.Done(), req.Context().Done(), timeout); !ok {
		r.fail(w, req, status, msg)
		return
	}
	defer func() { <-r.turn }()
	doc, status, msg := r.inflate(req, body)
	if status != 0 {
		r.fail(w, req, status, msg)
		return
	}
	body = nil
	events, status, msg := r.split(req.Context(), doc)
	if status != 0 {
		r.fail(w, req, status, msg)
		return
	}
	if len(events) == 0 {
		r.countAnswer(http.StatusOK, reasonKeepAlive)
		w.WriteHeader(http.StatusOK)
		return
	}
	if status, msg := r.handOff(req.Context(), events, r.retried(doc), timeout); status != http.StatusOK {
		r.fail(w, req, status, msg)
		return
	}
	r.countAnswer(http.StatusOK, reasonDelivered)
	w.WriteHeader(http.StatusOK)
}
