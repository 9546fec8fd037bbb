package streamtest

import (
	"fmt"
	"strings"
)

// condition is a parsed list condition: alternatives joined with "or",
// each a list of clauses joined with "and" ("and" binds tighter). A nil
// condition matches everything.
type condition [][]kv

var condFields = map[string]bool{
	"monId": true, "cstId": true, "monTopic": true, "monTransportType": true, "monFormatType": true,
	"monStatus": true, "monCompression": true, "monAckOption": true, "monAutoReplayOnConnect": true,
	"monDescription": true, "monBatchSize": true, "monBatchDuration": true,
}

// parseCondition parses field='value' clauses joined with "and" or "or"
// (case-insensitive keywords; "and" binds tighter, no parentheses); a
// doubled single quote inside a value stands for one.
func parseCondition(s string) (condition, error) {
	return parseConditionFields(s, func(f string) (string, bool) { return f, condFields[f] })
}

// parseConditionFields is parseCondition with field names mapped to
// legacy element names by fieldName (the v1 query language uses v1 names).
func parseConditionFields(s string, fieldName func(string) (string, bool)) (condition, error) {
	var c condition
	var cur []kv
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	skip()
	if i == len(s) {
		return nil, nil
	}
	for {
		skip()
		j := i
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] == '_') {
			i++
		}
		field, known := fieldName(s[j:i])
		if !known {
			return nil, fmt.Errorf("unsupported field %q", s[j:i])
		}
		skip()
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("expected = after %s", field)
		}
		i++
		skip()
		if i >= len(s) || s[i] != '\'' {
			return nil, fmt.Errorf("expected a quoted value for %s", field)
		}
		i++
		var v strings.Builder
		for {
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated value for %s", field)
			}
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					v.WriteByte('\'')
					i += 2
					continue
				}
				i++
				break
			}
			v.WriteByte(s[i])
			i++
		}
		cur = append(cur, kv{field, v.String()})
		skip()
		if i == len(s) {
			return append(c, cur), nil
		}
		switch {
		case keywordAt(s, i, "and"):
			i += 3
		case keywordAt(s, i, "or"):
			c = append(c, cur)
			cur = nil
			i += 2
		default:
			return nil, fmt.Errorf("expected 'and' or 'or' at offset %d", i)
		}
	}
}

// keywordAt reports whether s has the keyword kw (any case) at i,
// followed by a space or tab.
func keywordAt(s string, i int, kw string) bool {
	n := len(kw)
	return len(s)-i > n && strings.EqualFold(s[i:i+n], kw) && (s[i+n] == ' ' || s[i+n] == '\t')
}

func (c condition) match(fields []kv) bool {
	if c == nil {
		return true
	}
	for _, alt := range c {
		if matchAll(alt, fields) {
			return true
		}
	}
	return false
}

func matchAll(clauses []kv, fields []kv) bool {
	for _, cl := range clauses {
		if !strings.EqualFold(field(fields, cl.k), cl.v) {
			return false
		}
	}
	return true
}

// field returns the value of element k in row, "" when absent.
func field(row []kv, k string) string {
	for _, f := range row {
		if f.k == k {
			return f.v
		}
	}
	return ""
}
