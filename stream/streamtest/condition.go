package streamtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The condition language of GET /ws/Monitor?condition=… (and of the v1
// API's query, with v1 field names):
//
//	expr       = and { "or" and }
//	and        = primary { "and" primary }
//	primary    = "(" expr ")" | field op value
//	op         = "=" | "<>" | "<" | ">" | "<=" | ">=" | "like"
//	value      = 'text' (a doubled ' stands for one) | number
//
// Keywords are case-insensitive; "and" binds tighter than "or". "=" and
// "<>" compare without regard to case, numerically when the value is a
// number and the field holds one; "<", ">", "<=" and ">=" compare numbers
// numerically and text without regard to case; "like" matches text where
// % stands for any run of characters and _ for one, without regard to
// case. A field the row lacks reads as "".
//
// The text is untrusted input, so the parser works under a budget: at
// most maxConditionLen bytes, maxConditionDepth nested parentheses and
// maxConditionTerms comparisons, each refused with a *conditionLimitError.

// Budgets of a condition.
const (
	maxConditionLen   = 4096
	maxConditionDepth = 16
	maxConditionTerms = 64
)

// conditionLimitError reports a condition over one of its budgets.
type conditionLimitError struct {
	What  string // "length", "nesting", "comparisons"
	Limit int
}

func (e *conditionLimitError) Error() string {
	return fmt.Sprintf("condition over its %s limit of %d", e.What, e.Limit)
}

// condition is a parsed condition. The zero condition matches everything.
type condition struct{ root *condNode }

// condNode is one node of a condition: a list of alternatives (or), a list
// of clauses that must all hold (and), or a comparison.
type condNode struct {
	op    string // "or", "and", or a comparison operator
	kids  []*condNode
	field string
	value string
}

var condFields = map[string]bool{
	"monId": true, "cstId": true, "monTopic": true, "monTransportType": true, "monFormatType": true,
	"monStatus": true, "monCompression": true, "monAckOption": true, "monAutoReplayOnConnect": true,
	"monDescription": true, "monBatchSize": true, "monBatchDuration": true,
}

// parseCondition parses a /ws/Monitor condition; "" gives the condition
// that matches everything.
func parseCondition(s string) (condition, error) {
	return parseConditionFields(s, func(f string) (string, bool) { return f, condFields[f] })
}

// parseConditionFields is parseCondition with field names mapped to
// legacy element names by fieldName (the v1 query language uses v1 names).
func parseConditionFields(s string, fieldName func(string) (string, bool)) (condition, error) {
	if len(s) > maxConditionLen {
		return condition{}, &conditionLimitError{"length", maxConditionLen}
	}
	p := &condParser{s: s, fieldName: fieldName}
	if p.skip(); p.i == len(s) {
		return condition{}, nil
	}
	root, err := p.expr(0)
	if err != nil {
		return condition{}, err
	}
	if p.skip(); p.i < len(s) {
		return condition{}, fmt.Errorf("expected 'and' or 'or' at offset %d", p.i)
	}
	return condition{root}, nil
}

// condParser is a recursive-descent parser over s.
type condParser struct {
	s         string
	i         int
	terms     int
	fieldName func(string) (string, bool)
}

func (p *condParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// word reads an identifier (letters, digits, '_', not starting with a
// digit) at the current position, or returns "".
func (p *condParser) word() string {
	j := p.i
	for j < len(p.s) && (isLetter(p.s[j]) || p.s[j] == '_' || j > p.i && p.s[j] >= '0' && p.s[j] <= '9') {
		j++
	}
	return p.s[p.i:j]
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// keyword reports whether the keyword kw (any case) is next, as a whole
// word, and consumes it if so.
func (p *condParser) keyword(kw string) bool {
	p.skip()
	if w := p.word(); strings.EqualFold(w, kw) {
		p.i += len(w)
		return true
	}
	return false
}

// expr parses alternatives joined with "or" at parenthesis depth d.
func (p *condParser) expr(d int) (*condNode, error) {
	return p.list(d, "or", p.and)
}

// and parses clauses joined with "and".
func (p *condParser) and(d int) (*condNode, error) {
	return p.list(d, "and", p.primary)
}

// list parses items joined with the keyword kw; one item is returned as
// it is.
func (p *condParser) list(d int, kw string, item func(int) (*condNode, error)) (*condNode, error) {
	first, err := item(d)
	if err != nil {
		return nil, err
	}
	n := &condNode{op: kw, kids: []*condNode{first}}
	for p.keyword(kw) {
		next, err := item(d)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, next)
	}
	if len(n.kids) == 1 {
		return first, nil
	}
	return n, nil
}

// primary parses a parenthesised expression or one comparison.
func (p *condParser) primary(d int) (*condNode, error) {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if d+1 > maxConditionDepth {
			return nil, &conditionLimitError{"nesting", maxConditionDepth}
		}
		p.i++
		n, err := p.expr(d + 1)
		if err != nil {
			return nil, err
		}
		if p.skip(); p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("expected ) at offset %d", p.i)
		}
		p.i++
		return n, nil
	}
	if p.terms++; p.terms > maxConditionTerms {
		return nil, &conditionLimitError{"comparisons", maxConditionTerms}
	}
	w := p.word()
	field, known := p.fieldName(w)
	if !known {
		return nil, fmt.Errorf("unsupported field %q at offset %d", w, p.i)
	}
	p.i += len(w)
	op, err := p.operator(field)
	if err != nil {
		return nil, err
	}
	v, err := p.value(field)
	if err != nil {
		return nil, err
	}
	return &condNode{op: op, field: field, value: v}, nil
}

// operator reads a comparison operator after field.
func (p *condParser) operator(field string) (string, error) {
	p.skip()
	for _, op := range []string{"<>", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.s[p.i:], op) {
			p.i += len(op)
			return op, nil
		}
	}
	if p.keyword("like") {
		return "like", nil
	}
	return "", fmt.Errorf("expected =, <>, <, >, <=, >= or like after %s", field)
}

// value reads a quoted text or a number.
func (p *condParser) value(field string) (string, error) {
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == '\'' {
		p.i++
		var v strings.Builder
		for {
			if p.i >= len(p.s) {
				return "", fmt.Errorf("unterminated value for %s", field)
			}
			c := p.s[p.i]
			p.i++
			if c == '\'' {
				if p.i < len(p.s) && p.s[p.i] == '\'' {
					p.i++
				} else {
					return v.String(), nil
				}
			}
			v.WriteByte(c)
		}
	}
	j := p.i
	for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.' || p.s[j] == '-' && j == p.i) {
		j++
	}
	if _, ok := number(p.s[p.i:j]); !ok {
		return "", fmt.Errorf("expected a quoted value or a number for %s", field)
	}
	v := p.s[p.i:j]
	p.i = j
	return v, nil
}

// match reports whether row satisfies c.
func (c condition) match(row []kv) bool { return c.root == nil || c.root.eval(row) }

func (n *condNode) eval(row []kv) bool {
	switch n.op {
	case "or":
		for _, k := range n.kids {
			if k.eval(row) {
				return true
			}
		}
		return false
	case "and":
		for _, k := range n.kids {
			if !k.eval(row) {
				return false
			}
		}
		return true
	case "like":
		return like(strings.ToLower(field(row, n.field)), strings.ToLower(n.value))
	}
	cmp := compare(field(row, n.field), n.value)
	switch n.op {
	case "=":
		return cmp == 0
	case "<>":
		return cmp != 0
	case "<":
		return cmp < 0
	case ">":
		return cmp > 0
	case "<=":
		return cmp <= 0
	default: // ">="
		return cmp >= 0
	}
}

// compare orders a field's text against a value: as numbers when both
// are numbers, otherwise as text without regard to case.
func compare(a, b string) int {
	x, okA := number(a)
	y, okB := number(b)
	switch {
	case !okA || !okB:
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// number parses decimal text such as 12, -3 or 0.5 (no exponent, no
// Inf or NaN).
func number(s string) (float64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789.") != "" || strings.Count(digits, ".") > 1 || digits == "." {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// like reports whether s matches the pattern p, where % matches any run
// of characters and _ one character. It backtracks only to the last %,
// so it runs in O(len(s)·len(p)).
func like(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0 // position after the last % in p, and in s where it matched
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '%':
			star, mark = pi+1, si
			pi++
		case pi < len(p) && p[pi] == '_':
			_, n := utf8.DecodeRuneInString(s[si:])
			si += n
			pi++
		case pi < len(p) && p[pi] == s[si]:
			si++
			pi++
		case star >= 0:
			_, n := utf8.DecodeRuneInString(s[mark:])
			mark += n
			si, pi = mark, star
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
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
