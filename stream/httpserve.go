package stream

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
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
	r.log(req.Context(), slog.LevelWarn, "push refused", "status", status, "reason", msg)
	http.Error(w, msg, status)
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
