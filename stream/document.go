package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/pushmon/pushmon/internal/envelope"
)

// minEventBytes is the fewest bytes one event takes in a document, as
// the events budget counts them: a block's Count, the server's claim, is
// believed up to one event per minEventBytes of its document (see
// Stats.Undelivered).
const minEventBytes = envelope.DefaultBytesPerEvent

// claimedEvents returns how many events a document of n bytes whose block
// declared count holds, as far as can be told without reading it: count,
// at least 1 and at most one per minEventBytes.
func claimedEvents(count uint16, n int) int {
	return min(max(int(count), 1), n/minEventBytes+1)
}

// splitResult is what splitting one document gave.
type splitResult struct {
	raw     bool  // the document was not an envelope: one Raw event
	invalid int   // events delivered with Err set
	first   error // the first of their errors
	// err is non-nil when no event was given: the document exceeds a
	// budget (a *LimitError) or the context ended (its cause).
	err error
}

// splitEvents appends the events of doc (format f) to dst: its Msgs, or,
// when doc is not an envelope (template output, a malformed document), one
// Raw event whose Body is doc. On res.err nothing is appended. doc must be
// owned by the caller and never modified afterwards: the events alias it.
// sp may be nil (a Splitter with the default budgets is then used); it
// must not be used by another goroutine meanwhile.
func splitEvents(ctx context.Context, sp *envelope.Splitter, dst []Event, doc []byte, f Format, monitorID uint32) (_ []Event, res splitResult) {
	if sp == nil {
		sp = new(envelope.Splitter)
	}
	if f == FormatUnknown {
		f = sniffFormat(doc)
	}
	n := len(dst)
	invalid, err := sp.Split(ctx, doc, envelope.Format(f), func(m envelope.Event) {
		if m.Err != nil && res.first == nil {
			res.first = m.Err
		}
		dst = append(dst, fromEnvelope(&m, f, monitorID))
		if onSplitEvent != nil {
			onSplitEvent()
		}
	})
	switch {
	case err == nil:
		res.invalid = invalid
		return dst, res
	case errors.Is(err, envelope.ErrNotEnvelope), errors.Is(err, envelope.ErrMalformed):
		clear(dst[n:])
		return append(dst[:n], Event{Raw: true, Body: doc, Format: f, MonitorID: monitorID}), splitResult{raw: true}
	}
	clear(dst[n:]) // drop references to the document
	return dst[:n], splitResult{err: err}
}

// onSplitEvent, when set by a test, is called after each event a split
// gives.
var onSplitEvent func()

// splitOrRaw appends the events of doc to dst, or, when doc is not a
// Document/Msg envelope or exceeds a budget, one Raw event whose Body is
// doc; raw tells which. doc must be owned by the caller and never
// modified afterwards: the events alias it. It reads the document under
// the default budgets, as the poller's stored documents are.
func splitOrRaw(dst []Event, doc []byte, format Format, monitorID uint32) (events []Event, raw bool) {
	dst, res := splitEvents(context.Background(), nil, dst, doc, format, monitorID)
	if res.err != nil {
		return append(dst, Event{Raw: true, Body: doc, Format: format, MonitorID: monitorID}), true
	}
	return dst, res.raw
}

// sniffFormat tells an XML document (first non-space byte '<') from JSON.
func sniffFormat(doc []byte) Format {
	if envelope.Sniff(doc) == envelope.XML {
		return FormatXML
	}
	return FormatJSON
}

// rawDigest names a raw document by its bytes (32 hex digits of their
// SHA-256), where something must tell raw records apart, as the poller's
// position does. It is not an identity: equal renderings are distinct
// events.
func rawDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}
