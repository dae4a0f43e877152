package rules

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// itemErr is a problem found while reading one item; the item is skipped.
type itemErr struct {
	code string
	msg  string
	at   loc
}

func (e *itemErr) Error() string { return e.msg }

// fileCtx holds what the reader needs to turn YAML nodes into positions.
type fileCtx struct {
	name  string
	lines []string
}

func (f *fileCtx) at(n *yaml.Node) loc {
	if n == nil {
		return loc{file: f.name, line: 1, col: 1}
	}
	return loc{file: f.name, line: n.Line, col: n.Column}
}

func (f *fileCtx) errAt(n *yaml.Node, code, msg string) *itemErr {
	return &itemErr{code: code, msg: msg, at: f.at(n)}
}

// deref follows aliases (bounded, so a malformed document cannot loop).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0)
}

func isScalar(n *yaml.Node) bool { return n != nil && n.Kind == yaml.ScalarNode && !isNull(n) }
func isSeq(n *yaml.Node) bool    { return n != nil && n.Kind == yaml.SequenceNode }
func isMap(n *yaml.Node) bool    { return n != nil && n.Kind == yaml.MappingNode }

// mapKeys returns the key nodes and value nodes of a mapping, aliases
// resolved.
func mapPairs(m *yaml.Node) (keys, vals []*yaml.Node) {
	if !isMap(m) {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, deref(m.Content[i]))
		vals = append(vals, deref(m.Content[i+1]))
	}
	return keys, vals
}

// get returns the value of key in mapping m, or nil when absent (the first
// occurrence wins, as in yaml-cpp).
func get(m *yaml.Node, key string) *yaml.Node {
	v, _ := getKV(m, key)
	return v
}

func getKV(m *yaml.Node, key string) (val, k *yaml.Node) {
	if !isMap(m) {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn := deref(m.Content[i])
		if kn != nil && kn.Kind == yaml.ScalarNode && kn.Value == key {
			v := deref(m.Content[i+1])
			if v == nil {
				// An unresolvable alias: present but null.
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: kn.Line, Column: kn.Column}
			}
			return v, kn
		}
	}
	return nil, nil
}

func has(m *yaml.Node, key string) bool { return get(m, key) != nil }

// str decodes a required (or optional) non-empty scalar, as Falco's
// decode_val does. present is false when an optional key is absent.
func (f *fileCtx) str(m *yaml.Node, key string, optional bool) (s string, n *yaml.Node, present bool, err *itemErr) {
	v := get(m, key)
	if v == nil {
		if optional {
			return "", nil, false, nil
		}
		return "", nil, false, f.errAt(m, ErrYAMLValidate, "Item has no mapping for key '"+key+"'")
	}
	if isNull(v) {
		return "", v, true, f.errAt(m, ErrYAMLValidate, "Mapping for key '"+key+"' is empty")
	}
	if v.Kind != yaml.ScalarNode {
		return "", v, true, f.errAt(v, ErrYAMLValidate, "Value is not a scalar value")
	}
	if v.Value == "" {
		return "", v, true, f.errAt(v, ErrYAMLValidate, "Value must be non-empty")
	}
	return v.Value, v, true, nil
}

// parseYAMLBool converts a scalar the way yaml-cpp's convert<bool> does.
func parseYAMLBool(s string) (bool, bool) {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

func (f *fileCtx) boolean(m *yaml.Node, key string, optional bool) (b, present bool, err *itemErr) {
	s, n, present, err := f.str(m, key, optional)
	if err != nil || !present {
		return false, present, err
	}
	b, ok := parseYAMLBool(s)
	if !ok {
		return false, true, f.errAt(n, ErrYAMLValidate, "Can't decode YAML scalar value")
	}
	return b, true, nil
}

func (f *fileCtx) uint(m *yaml.Node, key string, optional bool) (u uint64, present bool, err *itemErr) {
	s, n, present, err := f.str(m, key, optional)
	if err != nil || !present {
		return 0, present, err
	}
	u, perr := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
	if perr != nil {
		return 0, true, f.errAt(n, ErrYAMLValidate, "Can't decode YAML scalar value")
	}
	return u, true, nil
}

// strSeq decodes a sequence of scalars (list items, tags).
func (f *fileCtx) strSeq(m *yaml.Node, key string, optional bool) (out []string, present bool, err *itemErr) {
	v := get(m, key)
	if v == nil {
		if optional {
			return nil, false, nil
		}
		return nil, false, f.errAt(m, ErrYAMLValidate, "Item has no mapping for key '"+key+"'")
	}
	if !isSeq(v) {
		return nil, true, f.errAt(v, ErrYAMLValidate, "Value is not a sequence")
	}
	for _, c := range v.Content {
		c = deref(c)
		if !isScalar(c) {
			return nil, true, f.errAt(orNode(c, v), ErrYAMLValidate, "sequence value is not scalar")
		}
		out = append(out, c.Value)
	}
	return out, true, nil
}

func orNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// text is a string with the file position of each of its bytes, so that a
// position inside a condition (even after list substitution, appends and
// exception rendering) can be reported as file:line:col.
type text struct {
	s    string
	locs []loc // len(locs) == len(s)
}

func (t text) at(off int) loc {
	if len(t.locs) == 0 {
		return loc{}
	}
	if off < 0 {
		off = 0
	}
	if off >= len(t.locs) {
		// Just past the end (where a parser stops on truncated input).
		l := t.locs[len(t.locs)-1]
		l.col++
		return l
	}
	return t.locs[off]
}

// constText is s with every byte at l.
func constText(s string, l loc) text {
	locs := make([]loc, len(s))
	for i := range locs {
		locs[i] = l
	}
	return text{s: s, locs: locs}
}

// join concatenates texts.
func join(parts ...text) text {
	var out text
	n := 0
	for _, p := range parts {
		n += len(p.s)
	}
	b := make([]byte, 0, n)
	out.locs = make([]loc, 0, n)
	for _, p := range parts {
		b = append(b, p.s...)
		out.locs = append(out.locs, p.locs...)
	}
	out.s = string(b)
	return out
}

// scalarText returns the value of a scalar node with the file position of
// each byte, found by matching the value's lines against the raw source.
// Positions it cannot match fall back to the closest known one.
func (f *fileCtx) scalarText(n *yaml.Node) text {
	v := n.Value
	base := f.at(n)
	t := constText(v, base)
	if len(v) == 0 || n.Line < 1 || n.Line > len(f.lines) {
		return t
	}
	type seg struct {
		line, col int // 1-based position of content
		content   string
	}
	var segs []seg
	block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	maxLines := strings.Count(v, "\n") + strings.Count(v, " ") + 2
	if block {
		indent := -1
		for i := n.Line; i < len(f.lines) && len(segs) < maxLines+16; i++ {
			line := f.lines[i]
			trimmed := strings.TrimLeft(line, " ")
			if strings.TrimSpace(line) == "" {
				continue
			}
			ind := len(line) - len(trimmed)
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			segs = append(segs, seg{line: i + 1, col: indent + 1, content: strings.TrimRight(line[indent:], " \t\r")})
		}
	} else {
		first := f.lines[n.Line-1]
		start := n.Column - 1
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			start++
		}
		if start >= 0 && start <= len(first) {
			segs = append(segs, seg{line: n.Line, col: start + 1, content: strings.TrimRight(first[start:], " \t\r")})
		}
		for i := n.Line; i < len(f.lines) && len(segs) < maxLines; i++ {
			line := f.lines[i]
			trimmed := strings.TrimLeft(line, " \t")
			segs = append(segs, seg{line: i + 1, col: len(line) - len(trimmed) + 1, content: strings.TrimRight(trimmed, " \t\r")})
		}
	}
	cur := 0
	last := base
	for _, sg := range segs {
		if cur >= len(v) {
			break
		}
		c := sg.content
		if c == "" {
			continue
		}
		idx := strings.Index(v[cur:], c)
		if idx < 0 {
			// The line may extend past the value (closing quote, comment):
			// match the longest prefix of the line that the value continues with.
			k := 0
			for k < len(c) && cur+k < len(v) && v[cur+k] == c[k] {
				k++
			}
			if k == 0 {
				continue
			}
			c = c[:k]
			idx = 0
		}
		for k := cur; k < cur+idx; k++ {
			t.locs[k] = last
		}
		for k := 0; k < len(c); k++ {
			t.locs[cur+idx+k] = loc{file: f.name, line: sg.line, col: sg.col + k}
		}
		cur += idx + len(c)
		last = loc{file: f.name, line: sg.line, col: sg.col + len(c)}
	}
	for k := cur; k < len(v); k++ {
		t.locs[k] = last
	}
	return t
}
