package streamtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
)

// Executing templates: a monitor's compiled template, a block's document
// rendered through it (or the standard one), and the evaluation of the
// template's nodes on the block's Msg objects.

// templateLocked returns the monitor's compiled template, nil when it has
// none. m.mu must be held.
func (m *monitor) templateLocked() *template {
	if m.spec.SchemaType != "handlebars" {
		return nil
	}
	if m.x.tmpl == nil || m.x.tmplSrc != m.spec.SchemaData {
		t, err := parseTemplate(m.spec.SchemaData)
		if err != nil {
			return nil // validated at create; cannot happen
		}
		m.x.tmpl, m.x.tmplSrc = t, m.spec.SchemaData
	}
	return m.x.tmpl
}

// blockDocument renders a block: through the template when there is one,
// else the standard document.
func (m *monitor) blockDocument(dst []byte, xmlFormat bool, items []qitem, t *template) []byte {
	if t != nil {
		out, err := renderTemplate(dst[:0], t, items)
		if err == nil {
			return out
		}
		m.s.logf("streamtest: monitor %d: template failed, sending the standard document: %v", m.id, err)
	}
	return appendDocument(dst[:0], xmlFormat, items)
}

// tframe is one context level: the value and the loop variables.
type tframe struct {
	v    any
	vars map[string]any
}

// The rendering budget. A template comes from whoever creates the
// monitor, and loops nested over a block's events multiply: a few bytes
// of template can ask for more output or work than any machine has.
// Rendering stops with errTemplateBudget once the output passes
// maxTemplateOutput (the largest document the push clients accept by
// default) or the steps (nodes executed and loop iterations) pass
// maxTemplateSteps plus templateStepsPerItem for each item of the root.
const (
	maxTemplateOutput    = 16 << 20
	maxTemplateSteps     = 1 << 20
	templateStepsPerItem = 1 << 8
)

var errTemplateBudget = errors.New("template exceeds the rendering budget (16 MiB of output, or a million steps plus 256 per event)")

// texec is one rendering: its output and the budget left.
type texec struct {
	b     bytes.Buffer
	base  int // the length of what b held before the rendering
	steps int // left
}

// step spends one step, and fails once the budget is spent.
func (x *texec) step() error {
	if x.steps--; x.steps < 0 || x.b.Len()-x.base > maxTemplateOutput {
		return errTemplateBudget
	}
	return nil
}

// render executes t on root (a JSON-decoded value) and appends to dst.
func (t *template) render(dst []byte, root any) ([]byte, error) {
	x := &texec{steps: maxTemplateSteps}
	if items, ok := root.([]any); ok {
		x.steps += templateStepsPerItem * len(items)
	}
	x.b.Write(dst)
	x.base = len(dst)
	err := x.execNodes(t.nodes, []tframe{{v: root}})
	if err == nil && x.b.Len()-x.base > maxTemplateOutput {
		err = errTemplateBudget
	}
	return x.b.Bytes(), err
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

func (x *texec) execNodes(nodes []tnode, stack []tframe) error {
	b := &x.b
	for i := range nodes {
		if err := x.step(); err != nil {
			return err
		}
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
			if err := x.execNodes(part, stack); err != nil {
				return err
			}
		case tWith:
			v := lookup(stack, n.path)
			if !truthy(v) {
				if err := x.execNodes(n.alt, stack); err != nil {
					return err
				}
				continue
			}
			if err := x.execNodes(n.body, append(stack, tframe{v: v})); err != nil {
				return err
			}
		case tEach:
			if err := x.execEach(n, stack); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *texec) execEach(n *tnode, stack []tframe) error {
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
		return x.execNodes(n.alt, stack)
	}
	for i, it := range items {
		if err := x.step(); err != nil {
			return err
		}
		f := tframe{v: it.v, vars: map[string]any{
			"index": json.Number(strconv.Itoa(i)), "key": it.key, "first": i == 0, "last": i == len(items)-1,
		}}
		if err := x.execNodes(n.body, append(stack, f)); err != nil {
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
