package monitor

// Budgets on the answers' parsing: every 2xx body is checked, in one pass
// that allocates nothing, before a decoder reads it, so that what the
// decoders (encoding/json, encoding/xml) keep is bounded by the budgets and
// what they do is linear in the body's size. The body's size is bounded
// where it is read (maxBodySize, maxErrorBody).

import (
	"errors"
	"fmt"

	"github.com/pushmon/pushmon/internal/xmlguard"
)

const (
	// maxDepth bounds the nesting of a JSON or XML answer. Monitor and
	// history answers nest a handful of levels.
	maxDepth = xmlguard.DefaultMaxDepth
	// A JSON answer of n bytes may hold jsonTokenBase + n/jsonBytesPerToken
	// tokens (objects, arrays, keys and scalars each count one). Real
	// answers spend 6 to 20 bytes per token; what costs the decoders
	// memory is many tiny tokens ([{},{},…], [1,1,…]).
	jsonTokenBase     = 1024
	jsonBytesPerToken = 4
)

// checkBody checks an answer against the parsing budgets: a JSON body
// ('{' or '[' first) with checkJSON, an XML body ('<' first) with
// xmlguard's default limits (depth, attributes per element, name length,
// tokens per byte). It returns nil, a *LimitError, or an error matching
// ErrMalformedResponse for XML markup no parser can delimit. Other bodies
// are left to the decoders, which refuse them.
//
// maxItems, when positive, is the page size the request asked for: no
// array that is a member of a JSON answer's top-level object (the page's
// list, whatever its name) may hold more elements.
func checkBody(body []byte, maxItems int) error {
	body = trimBody(body)
	switch firstByte(body) {
	case '{', '[':
		return checkJSON(body, maxItems)
	case '<':
		err := xmlguard.Check(body, xmlguard.Limits{MaxDepth: maxDepth})
		var le *xmlguard.LimitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &le):
			return fmt.Errorf("%w at byte %d", &LimitError{le.Limit, int64(le.Max)}, le.Offset)
		default:
			return fmt.Errorf("%w: %v", ErrMalformedResponse, err)
		}
	}
	return nil
}

// checkJSON scans a JSON document once, without allocating, and stops at
// the first container nested deeper than maxDepth, the first token beyond
// the token budget, or (maxItems > 0) the first element beyond maxItems of
// an array that is a member of the top-level object. It checks only what
// it needs to find the tokens; the decoder validates the rest.
func checkJSON(b []byte, maxItems int) error {
	maxTokens := jsonTokenBase + len(b)/jsonBytesPerToken
	var open [maxDepth + 1]byte // the open containers' brackets; open[0] unused
	depth, tokens, items := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if maxItems > 0 && depth == 2 && open[1] == '{' && open[2] == '[' && c != ']' && c != ',' && !isJSONSpace(c) {
			// A value starts in a page's list.
			if items++; items > maxItems {
				return fmt.Errorf("%w at byte %d", &LimitError{LimitItems, int64(maxItems)}, i)
			}
		}
		switch {
		case c == '{' || c == '[':
			if depth++; depth > maxDepth {
				return fmt.Errorf("%w at byte %d", &LimitError{LimitDepth, maxDepth}, i)
			}
			open[depth] = c
			if depth == 2 {
				items = 0
			}
		case c == '}' || c == ']':
			depth = max(depth-1, 0)
			continue
		case c == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z':
			// A number or a literal (true, false, null): one token.
			for i+1 < len(b) && (b[i+1] == '.' || b[i+1] == '+' || b[i+1] == '-' ||
				b[i+1] >= '0' && b[i+1] <= '9' || b[i+1] >= 'a' && b[i+1] <= 'z' || b[i+1] >= 'A' && b[i+1] <= 'Z') {
				i++
			}
		default:
			continue // ':' and ','; anything else the decoder refuses
		}
		if tokens++; tokens > maxTokens {
			return fmt.Errorf("%w at byte %d", &LimitError{LimitTokens, int64(maxTokens)}, i)
		}
	}
	return nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
