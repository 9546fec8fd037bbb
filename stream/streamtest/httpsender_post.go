package streamtest

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// One push attempt of an http monitor's block: the request (method,
// content type, zlib, Basic auth, custom headers) and its outcome, with
// the URL, which may hold credentials, kept out of errors.

// httpPush is what one attempt needs, captured under the monitor's lock.
type httpPush struct {
	url, method, token string
	headers            string
	timeout            time.Duration
	xml, zlib          bool
	tmpl               *template
	items              []qitem
}

// post makes one attempt.
func (m *monitor) post(ctx context.Context, hc *http.Client, p httpPush, doc []byte) HTTPAttempt {
	a := HTTPAttempt{At: time.Now().UTC(), Events: len(p.items)}
	body := doc
	if p.zlib {
		var zb bytes.Buffer
		zw := zlib.NewWriter(&zb)
		_, _ = zw.Write(doc) // a bytes.Buffer does not fail
		_ = zw.Close()
		body = zb.Bytes()
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// p.method is never "": normalizeSpec defaults it to PUT.
	req, err := http.NewRequestWithContext(rctx, p.method, p.url, bytes.NewReader(body))
	if err != nil {
		a.Err = err.Error()
		return a
	}
	if p.xml {
		req.Header.Set("Content-Type", "application/xml")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.zlib {
		req.Header.Set("Content-Encoding", "deflate") // HTTP's "deflate" is the zlib format
	}
	req.Header.Set("User-Agent", "streamtest-push")
	for _, line := range strings.Split(p.headers, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); ok && name != "" {
			req.Header.Add(name, strings.TrimSpace(value))
		}
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(p.token)))
	}
	resp, err := hc.Do(req)
	if err != nil {
		a.Err = redactURLError(err)
		return a
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.Status = resp.StatusCode
	a.Delivered = resp.StatusCode >= 200 && resp.StatusCode < 300
	return a
}

// redactURLError drops the URL (which may carry credentials) from a
// client error.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
