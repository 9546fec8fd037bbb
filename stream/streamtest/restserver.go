package streamtest

import (
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serving the REST API: the plain and the TLS listener share one handler,
// behind an access log.

// serveHTTP serves the REST API on ln with a new http.Server stored in
// *srv, until Close.
func (s *Server) serveHTTP(srv **http.Server, ln net.Listener) {
	*srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(logfWriter{s}, "", 0),
	}
	hs := *srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = hs.Serve(ln) // returns when Close closes it
	}()
}

// HTTPSURL returns the base URL of the REST API over TLS,
// "https://127.0.0.1:port", or "" when Options.HTTPSAddr was not set. Its
// certificate is the TLS push one: trust CertPool, or use
// ClientTLSConfig.
func (s *Server) HTTPSURL() string { return s.httpsURL }

// accessLog logs one line per REST call through Logf: client address,
// method, path and query (quoted, so no client byte can forge a log line),
// status, user name, size of the answer and duration. Credentials are
// never logged.
func (s *Server) accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Logf == nil {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		user, _, _ := r.BasicAuth()
		s.logf("streamtest: REST %s %s %q %d (user %q, %d bytes, %v)", r.RemoteAddr, r.Method, r.URL.RequestURI(),
			sw.code(), user, sw.n, time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter records what a handler answered.
type statusWriter struct {
	http.ResponseWriter
	once   sync.Once
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	w.once.Do(func() { w.status = code })
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { w.status = http.StatusOK })
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) code() int {
	w.once.Do(func() { w.status = http.StatusOK })
	return w.status
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
