package stream

import (
	"net/http"
	"time"
)

// Admission of a push request, before a byte of its body is read: the
// credentials and custom headers (compared in constant time), the method,
// the declared length and a free slot.

// admit decides, before a byte of req's body is read, whether req is
// served: its credentials and custom headers must be right, its method PUT
// or POST, its declared length within MaxBodySize, and one of the
// MaxConcurrent slots free. It answers a refused request itself; an
// admitted one holds a slot, which the caller must give back (<-r.slots).
func (r *HTTPReceiver) admit(w http.ResponseWriter, req *http.Request) bool {
	if !r.authorized(req) {
		r.refuse(w, req, http.StatusUnauthorized, "unauthorized")
		return false
	}
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		w.Header().Set("Allow", "PUT, POST")
		r.refuse(w, req, http.StatusMethodNotAllowed, "method not allowed")
		return false
	}
	if req.ContentLength > r.cfg.MaxBodySize {
		r.refuse(w, req, http.StatusRequestEntityTooLarge, "body too large")
		return false
	}
	// A free slot, else 503. Connection: close keeps net/http from
	// reading the unread body to reuse the connection (and over HTTP/2
	// sends GOAWAY: the client is told to come back later).
	select {
	case r.slots <- struct{}{}:
		return true
	default:
		r.stats.busy.Add(1)
		w.Header().Set("Connection", "close")
		r.refuse(w, req, http.StatusServiceUnavailable, "too many requests at once")
		return false
	}
}

// refuse answers a request refused before a byte of its body was read.
// Over HTTP/1, when it has a body, the answer closes the connection and
// the body is not waited for: net/http would otherwise read the unread
// body (up to 256 KiB, to reuse the connection) before sending the answer
// and again after it, with no deadline behind a server without
// ReadTimeout, so that a sender stalling mid-body would never get its
// answer and would hold the connection for as long as it liked (an
// admitted request is cut at BodyTimeout). Moving the connection's read
// deadline to the past ends those reads at once. An HTTP/2 stream's
// unread body holds nothing.
func (r *HTTPReceiver) refuse(w http.ResponseWriter, req *http.Request, status int, msg string) {
	if req.ProtoMajor == 1 && req.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
	}
	r.fail(w, req, status, msg)
}

// authorized checks the Basic-auth token and the custom headers, each in
// time that depends on neither the value given nor the one expected, nor
// on their lengths (secret.String.Matches), and all of them whatever the
// first gave.
func (r *HTTPReceiver) authorized(req *http.Request) bool {
	ok := true
	if r.auth {
		u, p, has := req.BasicAuth()
		userOK := r.user.Matches(u)
		passOK := r.pass.Matches(p)
		ok = has && userOK && passOK
	}
	for _, h := range r.headers {
		if !h.value.Matches(req.Header.Get(h.name)) {
			ok = false
		}
	}
	return ok
}
