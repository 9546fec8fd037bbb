package stream

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pushmon/pushmon/protocol"
)

// The HTTP receiver's request body: reading it within MaxBodySize, what
// it is (zlib, gzip or a document as is) and inflating it within
// MaxDecompressed.

// readBody reads req's body, at most MaxBodySize bytes, within
// BodyTimeout unless the http.Server has a ReadTimeout of its own. When
// the receiver stops, a read that waits on a stalled sender is cut short,
// so that Close does not wait for the sender. Both go through the
// connection's read deadline, where the server supports it.
func (r *HTTPReceiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	stop := context.AfterFunc(r.ctx, func() {
		_ = rc.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()
	if d := r.cfg.BodyTimeout; d > 0 {
		// A deadline of the receiver's own would replace, and so could
		// loosen, the one the server set from its ReadTimeout. net/http
		// clears it once the body is read, so that it does not bound
		// the wait for the consumer.
		if hs, _ := req.Context().Value(http.ServerContextKey).(*http.Server); hs == nil || hs.ReadTimeout <= 0 {
			_ = rc.SetReadDeadline(time.Now().Add(d))
		}
	}
	return io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBodySize))
}

// inflate returns the document: the body itself, or the body inflated
// when it is zlib (or gzip) compressed. A non-zero status refuses it. An
// empty body is returned as it is, whatever Content-Encoding says: it is
// a keep-alive, with nothing to inflate.
func (r *HTTPReceiver) inflate(req *http.Request, body []byte) ([]byte, int, string) {
	if len(body) == 0 {
		return body, 0, ""
	}
	enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding")))
	isZlib, isGzip := zlibHeader(body), gzipMagic(body)
	switch {
	case isGzip:
		out, err := gunzip(body, r.cfg.MaxDecompressed)
		if errors.Is(err, protocol.ErrDecompressedTooLarge) {
			return nil, http.StatusRequestEntityTooLarge, "inflated body too large"
		}
		if err != nil {
			return nil, http.StatusBadRequest, "bad gzip body"
		}
		return out, 0, ""
	case isZlib, enc == "deflate" || enc == "zlib":
		out, err := inflateOwned(body, r.cfg.MaxDecompressed)
		if errors.Is(err, protocol.ErrDecompressedTooLarge) {
			return nil, http.StatusRequestEntityTooLarge, "inflated body too large"
		}
		if err != nil {
			return nil, http.StatusBadRequest, "bad zlib body"
		}
		return out, 0, ""
	case enc == "gzip" || enc == "x-gzip": // labelled gzip, without its magic bytes
		return nil, http.StatusBadRequest, "bad gzip body"
	case enc != "" && enc != "identity":
		return nil, http.StatusUnsupportedMediaType, "unsupported Content-Encoding"
	}
	return body, 0, ""
}

// zlibHeader reports whether b starts with a zlib header the receiver can
// inflate: CM 8 (deflate), CINFO ≤ 7 (window ≤ 32 KiB), FCHECK
// ((CMF<<8 | FLG) % 31 == 0) and no preset dictionary (FDICT clear: no
// push uses one). No well-formed JSON or XML document starts like that:
// of the bytes a JSON document may start with, only '8' is a valid CMF,
// and the FLG bytes that then pass FCHECK without FDICT (0x11, 'O',
// 0x8D, 0xCB) cannot follow a leading digit 8 ("80" has FDICT set).
func zlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0F == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[1]&0x20 == 0
}

// gzipMagic reports whether b starts with the gzip magic bytes 1F 8B,
// which no JSON or XML document does.
func gzipMagic(b []byte) bool { return len(b) >= 2 && b[0] == 0x1F && b[1] == 0x8B }

// gunzip returns the gzip body inflated, its members concatenated, or an
// error matching protocol.ErrDecompressedTooLarge beyond limit bytes. As
// the zlib Inflater does, it measures the output before keeping any of it
// (inflating it over a small buffer) and then inflates it again into a
// buffer of exactly that size: a compression bomb costs the reader's
// window, not the limit and the growth of a buffer up to it.
func gunzip(body []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(limit) {
		return nil, protocol.ErrDecompressedTooLarge
	}
	if err := zr.Reset(bytes.NewReader(body)); err != nil {
		return nil, err
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, err
	}
	var one [1]byte
	if m, err := zr.Read(one[:]); m != 0 || err != io.EOF {
		return nil, errors.New("stream: gzip output changed between passes")
	}
	return out, nil
}
