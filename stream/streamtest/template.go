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
//
// This file holds the template's syntax tree and its parser; its execution
// is in template_exec.go.

import (
	"fmt"
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
