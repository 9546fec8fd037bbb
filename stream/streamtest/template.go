package streamtest

// A small subset of Handlebars, enough to simulate monitors with
// monSchemaType=handlebars. The service's own template language and data
// model are not documented in what is known; this is the simulator's
// choice, documented in doc.go:
//
// A template renders once per block (push, HTTP) with the block's events
// as the root value: an array of Msg objects, each {"topic", "operation",
// "timestamp", "group" (when set), "replay" (when true), "<Resource>": body}.
//
// Supported: text; {{path}} (HTML-escaped like Handlebars), {{{path}}}
// (raw), {{json path}} (the value as JSON, raw); {{#each path}}…{{else}}…
// {{/each}} with @index, @first, @last and @key; {{#if path}}…{{else}}…
// {{/if}}; {{#unless path}}…{{/unless}}; {{#with path}}…{{/with}};
// {{! comments }}. A path is this (or .), @index/@first/@last/@key, a
// dotted name such as DataPoint.data or this.topic, or ../name for the
// enclosing context. Falsy: false, null, missing, "", 0 and empty arrays.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

type tkind uint8

const (
	tText tkind = iota
	tEscaped
	tRaw
	tJSON
	tEach
	tIf
	tUnless
	tWith
)

type tnode struct {
	kind tkind
	text string // tText
	path tpath
	body []tnode
	alt  []tnode // {{else}} part
}

// tpath is a parsed path: up levels of "../", then either a data variable
// (@index…) or a list of names ("this" is the empty list).
type tpath struct {
	up    int
	data  string
	names []string
}

// template is a compiled template; immutable and safe for concurrent use.
type template struct{ nodes []tnode }

// parseTemplate compiles src. Errors name the offset of the problem.
func parseTemplate(src string) (*template, error) {
	p := &tparser{src: src}
	nodes, end, err := p.parse("")
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("unexpected {{%s}}", end)
	}
	return &template{nodes: nodes}, nil
}

type tparser struct {
	src string
	i   int
}

// parse reads nodes until the closing tag of block (or the end when block
// is ""). It returns the nodes and what stopped it: "" at the end, "else",
// or "/name".
func (p *tparser) parse(block string) ([]tnode, string, error) {
	var out []tnode
	for p.i < len(p.src) {
		j := strings.Index(p.src[p.i:], "{{")
		if j < 0 {
			out = append(out, tnode{kind: tText, text: p.src[p.i:]})
			p.i = len(p.src)
			break
		}
		if j > 0 {
			out = append(out, tnode{kind: tText, text: p.src[p.i : p.i+j]})
		}
		start := p.i + j
		triple := strings.HasPrefix(p.src[start:], "{{{")
		open, closer := "{{", "}}"
		if triple {
			open, closer = "{{{", "}}}"
		}
		k := strings.Index(p.src[start+len(open):], closer)
		if k < 0 {
			return nil, "", fmt.Errorf("unclosed %s at offset %d", open, start)
		}
		tag := strings.TrimSpace(p.src[start+len(open) : start+len(open)+k])
		p.i = start + len(open) + k + len(closer)
		if triple {
			path, err := parsePath(tag)
			if err != nil {
				return nil, "", fmt.Errorf("offset %d: %v", start, err)
			}
			out = append(out, tnode{kind: tRaw, path: path})
			continue
		}
		switch {
		case strings.HasPrefix(tag, "!"):
			// comment
		case tag == "else":
			if block == "" {
				return nil, "", fmt.Errorf("{{else}} outside a block at offset %d", start)
			}
			return out, "else", nil
		case strings.HasPrefix(tag, "/"):
			name := strings.TrimSpace(tag[1:])
			if name != block {
				return nil, "", fmt.Errorf("{{/%s}} at offset %d does not close {{#%s}}", name, start, block)
			}
			return out, "/" + name, nil
		case strings.HasPrefix(tag, "#"):
			name, arg, _ := strings.Cut(strings.TrimSpace(tag[1:]), " ")
			kind, ok := map[string]tkind{"each": tEach, "if": tIf, "unless": tUnless, "with": tWith}[name]
			if !ok {
				return nil, "", fmt.Errorf("unknown block helper %q at offset %d", name, start)
			}
			path, err := parsePath(strings.TrimSpace(arg))
			if err != nil {
				return nil, "", fmt.Errorf("offset %d: %v", start, err)
			}
			n := tnode{kind: kind, path: path}
			body, end, err := p.parse(name)
			if err != nil {
				return nil, "", err
			}
			n.body = body
			if end == "else" {
				alt, end2, err := p.parse(name)
				if err != nil {
					return nil, "", err
				}
				if end2 != "/"+name {
					return nil, "", fmt.Errorf("{{#%s}} at offset %d is not closed", name, start)
				}
				n.alt = alt
			} else if end != "/"+name {
				return nil, "", fmt.Errorf("{{#%s}} at offset %d is not closed", name, start)
			}
			out = append(out, n)
		default:
			kind := tEscaped
			if rest, ok := strings.CutPrefix(tag, "json "); ok {
				kind, tag = tJSON, strings.TrimSpace(rest)
			}
			path, err := parsePath(tag)
			if err != nil {
				return nil, "", fmt.Errorf("offset %d: %v", start, err)
			}
			out = append(out, tnode{kind: kind, path: path})
		}
	}
	if block != "" {
		return nil, "", fmt.Errorf("{{#%s}} is not closed", block)
	}
	return out, "", nil
}

func parsePath(s string) (tpath, error) {
	var p tpath
	if s == "" {
		return p, fmt.Errorf("empty expression")
	}
	for {
		rest, ok := strings.CutPrefix(s, "../")
		if !ok {
			break
		}
		p.up++
		s = rest
	}
	if strings.HasPrefix(s, "@") {
		switch s {
		case "@index", "@first", "@last", "@key":
			p.data = s[1:]
			return p, nil
		}
		return p, fmt.Errorf("unknown data variable %q", s)
	}
	if s == "this" || s == "." {
		return p, nil
	}
	s = strings.TrimPrefix(s, "this.")
	for _, name := range strings.Split(s, ".") {
		if name == "" || strings.ContainsAny(name, " \t{}\"'") {
			return p, fmt.Errorf("bad path %q", s)
		}
		p.names = append(p.names, name)
	}
	return p, nil
}

// tframe is one context level: the value and the loop variables.
type tframe struct {
	v    any
	vars map[string]any
}

// render executes t on root (a JSON-decoded value) and appends to dst.
func (t *template) render(dst []byte, root any) ([]byte, error) {
	var b bytes.Buffer
	b.Write(dst)
	err := execNodes(&b, t.nodes, []tframe{{v: root}})
	return b.Bytes(), err
}

func lookup(stack []tframe, p tpath) any {
	i := len(stack) - 1 - p.up
	if i < 0 {
		return nil
	}
	if p.data != "" {
		for ; i >= 0; i-- {
			if v, ok := stack[i].vars[p.data]; ok {
				return v
			}
		}
		return nil
	}
	v := stack[i].v
	for _, n := range p.names {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[n]
	}
	return v
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case json.Number:
		f, err := v.Float64()
		return err != nil || f != 0
	case float64:
		return v != 0
	case []any:
		return len(v) > 0
	}
	return true
}

func execNodes(b *bytes.Buffer, nodes []tnode, stack []tframe) error {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case tText:
			b.WriteString(n.text)
		case tEscaped:
			escapeHTML(b, valueText(lookup(stack, n.path)))
		case tRaw:
			b.WriteString(valueText(lookup(stack, n.path)))
		case tJSON:
			j, err := json.Marshal(lookup(stack, n.path))
			if err != nil {
				return err
			}
			b.Write(j)
		case tIf, tUnless:
			cond := truthy(lookup(stack, n.path))
			if n.kind == tUnless {
				cond = !cond
			}
			part := n.alt
			if cond {
				part = n.body
			}
			if err := execNodes(b, part, stack); err != nil {
				return err
			}
		case tWith:
			v := lookup(stack, n.path)
			if !truthy(v) {
				if err := execNodes(b, n.alt, stack); err != nil {
					return err
				}
				continue
			}
			if err := execNodes(b, n.body, append(stack, tframe{v: v})); err != nil {
				return err
			}
		case tEach:
			if err := execEach(b, n, stack); err != nil {
				return err
			}
		}
	}
	return nil
}

func execEach(b *bytes.Buffer, n *tnode, stack []tframe) error {
	v := lookup(stack, n.path)
	type item struct {
		key string
		v   any
	}
	var items []item
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			items = append(items, item{strconv.Itoa(i), x})
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			items = append(items, item{k, v[k]})
		}
	}
	if len(items) == 0 {
		return execNodes(b, n.alt, stack)
	}
	for i, it := range items {
		f := tframe{v: it.v, vars: map[string]any{
			"index": json.Number(strconv.Itoa(i)), "key": it.key, "first": i == 0, "last": i == len(items)-1,
		}}
		if err := execNodes(b, n.body, append(stack, f)); err != nil {
			return err
		}
	}
	return nil
}

// valueText renders a value as Handlebars would print it, except that
// objects and arrays print as JSON.
func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(j)
}

// escapeHTML escapes like Handlebars: & < > " ' ` =.
func escapeHTML(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#x27;")
		case '`':
			b.WriteString("&#x60;")
		case '=':
			b.WriteString("&#x3D;")
		default:
			b.WriteByte(c)
		}
	}
}

// templateRoot builds the root value of a block: the Msg objects of items
// as JSON-decoded values (numbers kept exact).
func templateRoot(items []qitem) (any, error) {
	doc := appendDocument(nil, false, items)
	var v struct {
		Document struct {
			Msg json.RawMessage
		}
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(v.Document.Msg))
	dec.UseNumber()
	var msg any
	if err := dec.Decode(&msg); err != nil {
		return nil, err
	}
	if one, ok := msg.(map[string]any); ok {
		return []any{one}, nil
	}
	return msg, nil
}

// renderTemplate renders the block document of items with t.
func renderTemplate(dst []byte, t *template, items []qitem) ([]byte, error) {
	root, err := templateRoot(items)
	if err != nil {
		return dst, err
	}
	return t.render(dst, root)
}
