package stream

import "context"

// ParseDocument returns the events of one push document — a block's
// (inflated) document, a Block.Document kept in an archive — exactly as a
// TCP subscription hands them over: its Msgs in order,
// an invalid one with Err set, or, for a document that is not a
// Document/Msg envelope (template output), one Raw event holding it whole;
// none for a keep-alive (an empty Document, or a document of nothing but
// white space). format is the document's (FormatUnknown tells it by the first byte).
// Nothing is de-duplicated and MonitorID is 0.
//
// It is how a test builds the events its consumer would get, without a
// server: render the document (streamtest.AppendDocument renders the
// simulator's), parse it. The events alias doc, which must not be modified
// afterwards. A document over a parsing budget returns an error matching
// ErrDocumentLimit (a *LimitError) and no events, as a subscription skips
// such a block. ParseDocument is safe for concurrent use.
func ParseDocument(doc []byte, format Format) ([]Event, error) {
	evs, res := splitEvents(context.Background(), nil, nil, doc, format, 0)
	if res.err != nil {
		return nil, res.err
	}
	return evs, nil
}
