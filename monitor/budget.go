package monitor

// Budgets on the answers' parsing: every 2xx body is checked, in one pass
// that allocates nothing, before a decoder reads it, so that what the
// decoders (encoding/json, encoding/xml) keep is bounded by the budgets and
// what they do is linear in the body's size. The body's size is bounded
// where it is read (maxBodySize, maxErrorBody).

import (
	"bytes"
	"encoding/json"
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

	// The budgets above bound what a parser keeps per byte; those below
	// bound what the decoders build per byte, where one tiny token would
	// cost a map entry, a slice element or a record (16 to 300 bytes).
	//
	// maxMembers bounds the members of a JSON object (or the child
	// elements of an XML one) that a decoder reads into a map: a monitor
	// has about 30, a history record about 10, an answer's envelope 6.
	maxMembers = 256
	// maxValues bounds the values of a monitor's list field (topics,
	// headers), as a JSON array or object or as joined text.
	maxValues = 1024
	// A history page of n bytes may give recordBase + n/bytesPerRecord
	// records (a Document's Msg array gives one per element); the shortest
	// real event takes more than 100 bytes.
	recordBase     = 1024
	bytesPerRecord = 128
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

// topLevel counts the bytes sep at the top level of the JSON object or
// array raw (its members' colons, its elements' commas), outside strings,
// without allocating; it stops counting past limit.
func topLevel(raw []byte, sep byte, limit int) int {
	n, depth := 0, 0
	for i := 0; i < len(raw) && n <= limit; i++ {
		switch c := raw[i]; c {
		case '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		default:
			if c == sep && depth == 1 {
				n++
			}
		}
	}
	return n
}

// checkMembers returns a *LimitError when the JSON object raw has more
// than limit members (what the limit bounds names it).
func checkMembers(raw []byte, limit int, what string) error {
	if topLevel(raw, ':', limit) > limit {
		return &LimitError{what, int64(limit)}
	}
	return nil
}

// checkElements returns a *LimitError when the JSON array raw has more
// than limit elements.
func checkElements(raw []byte, limit int, what string) error {
	if raw = bytes.TrimSpace(raw); len(raw) > 2 && topLevel(raw, ',', limit)+1 > limit {
		return &LimitError{what, int64(limit)}
	}
	return nil
}

// decodeObject reads the JSON object raw into a map of its members, at
// most maxMembers of them (a *LimitError beyond).
func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	if err := checkMembers(raw, maxMembers, LimitMembers); err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeMonitorObject is decodeObject for one monitor: a monitor field
// (see knownField) named twice with two values is an error, since which
// one holds (encoding/json keeps the last) cannot be told — an id taken
// from the wrong one names another monitor. The same value twice is one
// value; a member the client does not read may repeat (the last is kept),
// so that a field a server adds as a repeated element breaks nothing.
func decodeMonitorObject(raw []byte) (map[string]json.RawMessage, error) {
	m, err := decodeObject(raw)
	if err != nil || topLevel(raw, ':', maxMembers) == len(m) {
		return m, err
	}
	// Fewer keys than members: some are named twice. Compare their values.
	err = walkObject(bytes.TrimSpace(raw), func(key string, dec *json.Decoder) error {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if knownField[key] && !bytes.Equal(bytes.TrimSpace(v), bytes.TrimSpace(m[key])) {
			return fmt.Errorf("member %q named twice with two values", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
