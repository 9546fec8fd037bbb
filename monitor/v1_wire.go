package monitor

// The v1 API's wire format: a spec as the JSON object v1 takes, and the
// answers' monitors read one at a time under the page size asked for.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// encodeV1 renders a normalized spec as a v1 JSON object, fields in table
// order.
func encodeV1(s Spec) []byte {
	b := []byte{'{'}
	for i, ft := range specText(&s) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(b, ft.def.V1)
		b = append(b, ':')
		switch ft.def.kind {
		case kindNumber, kindBool:
			b = append(b, ft.text...) // validated decimal or true/false
		case kindList:
			b = appendJSON(b, splitTopics(ft.text))
		case kindLines:
			b = appendJSON(b, strings.Split(ft.text, "\n"))
		default:
			b = appendJSON(b, ft.text)
		}
	}
	return append(b, '}')
}

func appendJSON(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings and []string always encode
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// v1Page is one decoded list answer.
type v1Page struct {
	items  []Monitor
	cursor string
}

// decodeV1List decodes the v1 list answer {"count":…,"size":…,"cursor":…,
// "next_uri":…,"list":[…]} ("items" is accepted as well as "list"),
// reading its monitors one at a time and at most maxItems of them. The
// next page's cursor is "cursor", else "next_cursor", else the cursor
// parameter of "next_uri", as in a history page.
func decodeV1List(body []byte, maxItems int) (v1Page, error) {
	if firstByte(body) != '{' {
		return v1Page{}, errors.New("not a JSON object")
	}
	var p v1Page
	var cursors [3]json.RawMessage
	err := walkObject(trimBody(body), func(key string, dec *json.Decoder) error {
		if strings.EqualFold(key, "list") || strings.EqualFold(key, "items") {
			return eachElement(dec, func(_ int, raw json.RawMessage) error {
				if len(p.items) == maxItems {
					return errTooManyItems(maxItems)
				}
				m, err := decodeV1Monitor(raw)
				if err != nil {
					return fmt.Errorf("list[%d]: %w", len(p.items), err)
				}
				p.items = append(p.items, m)
				return nil
			})
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		for i, name := range cursorMembers {
			if strings.EqualFold(key, name) {
				return setCursor(&cursors[i], raw, name)
			}
		}
		return nil
	})
	if err != nil {
		return v1Page{}, fmt.Errorf("JSON: %w", err)
	}
	var stranded bool
	if p.cursor, stranded, err = nextCursor(cursors); err != nil {
		return v1Page{}, err
	}
	if stranded {
		return v1Page{}, errStranded
	}
	return p, nil
}

// decodeV1One decodes a single-monitor answer: the monitor object itself,
// or a list envelope holding it (want 0: the first). ok is false when the
// answer names no such monitor, an empty body included.
func decodeV1One(body []byte, want uint32, maxItems int) (*Monitor, bool, error) {
	switch firstByte(body) {
	case 0:
		return nil, false, nil
	case '{':
	default:
		return nil, false, errors.New("not a JSON object")
	}
	probe, err := decodeObject(trimBody(body))
	if err != nil {
		return nil, false, fmt.Errorf("JSON: %w", err)
	}
	_, hasList := probe["list"]
	_, hasItems := probe["items"]
	if _, hasID := probe["id"]; !hasID && (hasList || hasItems) {
		p, err := decodeV1List(body, maxItems)
		if err != nil {
			return nil, false, err
		}
		for i := range p.items {
			if want == 0 || p.items[i].ID == want {
				return &p.items[i], true, nil
			}
		}
		return nil, false, nil
	}
	if _, hasID := probe["id"]; !hasID {
		return nil, false, nil
	}
	m, err := decodeV1Monitor(trimBody(body))
	if err != nil {
		return nil, false, err
	}
	if want != 0 && m.ID != want {
		return nil, false, fmt.Errorf("answer is for monitor %d, not %d", m.ID, want)
	}
	return &m, true, nil
}

// decodeV1Monitor translates a v1 monitor object to legacy element text
// through fieldTable and parses it like a legacy answer. Unknown fields are
// ignored.
func decodeV1Monitor(raw json.RawMessage) (Monitor, error) {
	obj, err := decodeMonitorObject(raw)
	if err != nil {
		return Monitor{}, fmt.Errorf("monitor object: %w", err)
	}
	f := make(map[string]string, len(obj))
	for i := range fieldTable {
		d := &fieldTable[i]
		v, ok := obj[d.V1]
		if !ok {
			continue
		}
		text, err := v1Text(v, d.kind)
		if err != nil {
			return Monitor{}, fmt.Errorf("%s: %w", d.V1, err)
		}
		f[d.Legacy] = text
	}
	return monitorFromFields(f)
}

// v1Text turns a v1 JSON value into the legacy element text of its kind.
// Lists may come as arrays or as already-joined strings; headers also as an
// object of name → value.
func v1Text(raw json.RawMessage, k fieldKind) (string, error) {
	raw = bytes.TrimSpace(raw)
	if k == kindList || k == kindLines {
		sep := ","
		if k == kindLines {
			sep = "\n"
		}
		switch firstByte(raw) {
		case '[':
			if err := checkElements(raw, maxValues, LimitValues); err != nil {
				return "", err
			}
			var items []any
			if err := json.Unmarshal(raw, &items); err != nil {
				return "", err
			}
			parts := make([]string, 0, len(items))
			for _, it := range items {
				switch it := it.(type) {
				case string:
					parts = append(parts, it)
				case float64, bool:
					parts = append(parts, fmt.Sprint(it))
				default:
					return "", fmt.Errorf("array element of type %T", it)
				}
			}
			return strings.Join(parts, sep), nil
		case '{':
			if k != kindLines {
				return "", errors.New("unexpected JSON object")
			}
			if err := checkMembers(raw, maxValues, LimitValues); err != nil {
				return "", err
			}
			var hs map[string]string
			if err := json.Unmarshal(raw, &hs); err != nil {
				return "", err
			}
			var lines []string
			for _, name := range slices.Sorted(maps.Keys(hs)) {
				lines = append(lines, name+": "+hs[name])
			}
			return strings.Join(lines, "\n"), nil
		}
	}
	return jsonScalar(raw)
}
