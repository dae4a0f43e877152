package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Apply applies Falco-style -o overrides to c, in order. Each is
// key=value, where key is a path of names separated by dots, with list
// items as [i] (an existing item, or the next one) or [] (a new item at
// the end), and \. for a dot inside a name:
//
//	http_output.url=http://localhost:2801/
//	rules_files[]=/etc/vigil/extra.yaml
//	append_output[0].extra_output=pid=%proc.pid
//	rules[].disable.rule=Write below etc
//	append_output[0].extra_fields[0].my\.field=%proc.name
//
// A value that starts with { and ends with } (or [ and ]) is parsed as
// YAML, so JSON works too: append_output[]={"match":{"rule":"x"},"extra_output":"y"}.
// Any other value is one scalar, read by the type of the key it sets
// (true, 8765, 0.5, a string). Environment variables are not expanded:
// the shell has done that.
//
// The overrides are applied to c's YAML tree and the tree is decoded as
// Parse decodes a file, so an override is checked as a file is. Unlike in
// a file, an unknown key is an error. On error c is unchanged; the errors
// name the override.
func Apply(c *Config, overrides []string) ([]Warning, error) {
	if c == nil {
		return nil, &Error{Msg: "nil configuration"}
	}
	if len(overrides) == 0 {
		return nil, nil
	}
	tree := encode(c)
	d := newDecoder()
	d.strict = true
	for _, o := range overrides {
		label := "-o " + o
		key, val, ok := strings.Cut(o, "=")
		if !ok {
			d.errorf(Pos{File: label}, "", "expected key=value")
			continue
		}
		steps, err := parseKey(key)
		if err != nil {
			d.errorf(Pos{File: label}, "", "%v", err)
			continue
		}
		if steps[0].name == "rules_file" {
			d.warnf(Pos{File: label}, "rules_file", "deprecated; use rules_files")
			steps[0].name = "rules_files"
		}
		v, err := overrideValue(val)
		if err != nil {
			d.errorf(Pos{File: label}, key, "%v", err)
			continue
		}
		d.mark(v, label)
		if err := d.set(tree, steps, v, label); err != nil {
			d.errorf(Pos{File: label}, "", "%v", err)
		}
	}
	if err := d.err(); err != nil {
		return d.warns, err
	}
	out := *c
	d.pos[""] = Pos{}
	d.decodeStruct("", "", tree, reflectValue(&out))
	d.check(&out)
	if err := d.err(); err != nil {
		return d.warns, err
	}
	*c = out
	return d.warns, nil
}

// step is one element of an override key: a name, or a list index (-1
// for a new item at the end).
type step struct {
	name  string
	index int
	isIdx bool
}

func (s step) String() string {
	if !s.isIdx {
		return s.name
	}
	if s.index < 0 {
		return "[]"
	}
	return "[" + strconv.Itoa(s.index) + "]"
}

// parseKey splits an override key into steps.
func parseKey(key string) ([]step, error) {
	var steps []step
	i := 0
	for i < len(key) {
		// A name, up to an unescaped . or [.
		var name strings.Builder
		start := i
		for i < len(key) && key[i] != '.' && key[i] != '[' {
			if key[i] == '\\' && i+1 < len(key) && (key[i+1] == '.' || key[i+1] == '\\' || key[i+1] == '[') {
				i++
			}
			name.WriteByte(key[i])
			i++
		}
		if name.Len() == 0 {
			return nil, fmt.Errorf("invalid key %q: expected a name at offset %d", key, start)
		}
		steps = append(steps, step{name: name.String()})
		// Indexes.
		for i < len(key) && key[i] == '[' {
			end := strings.IndexByte(key[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("invalid key %q: unterminated [ at offset %d", key, i)
			}
			idx := key[i+1 : i+end]
			s := step{isIdx: true, index: -1}
			if idx != "" {
				n, err := strconv.Atoi(idx)
				if err != nil || n < 0 || strings.HasPrefix(idx, "+") {
					return nil, fmt.Errorf("invalid key %q: expected a list index, got %q", key, idx)
				}
				s.index = n
			}
			steps = append(steps, s)
			i += end + 1
		}
		if i == len(key) {
			break
		}
		if key[i] != '.' {
			return nil, fmt.Errorf("invalid key %q: expected . or [ at offset %d", key, i)
		}
		i++
		if i == len(key) {
			return nil, fmt.Errorf("invalid key %q: ends with a dot", key)
		}
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("invalid key %q: empty", key)
	}
	return steps, nil
}

// overrideValue returns the node for an override's value.
func overrideValue(val string) (*yaml.Node, error) {
	t := strings.TrimSpace(val)
	if (strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")) || (strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]")) {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(t), &doc); err != nil {
			return nil, fmt.Errorf("invalid YAML value: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) == 1 {
			return doc.Content[0], nil
		}
	}
	// A quoted scalar: never null, so "key=" sets an empty string.
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val, Style: yaml.DoubleQuotedStyle}, nil
}

// mark records that n and the nodes under it come from the override
// label; they have no line and column.
func (d *decoder) mark(n *yaml.Node, label string) {
	d.files[n] = label
	var unpos func(n *yaml.Node, depth int)
	unpos = func(n *yaml.Node, depth int) {
		if n == nil || depth > 1000 {
			return
		}
		n.Line, n.Column = 0, 0
		if n.Kind == yaml.AliasNode {
			return
		}
		for _, c := range n.Content {
			unpos(c, depth+1)
		}
	}
	unpos(n, 0)
}

// set puts v at steps in tree, creating maps and list items on the way.
func (d *decoder) set(tree *yaml.Node, steps []step, v *yaml.Node, label string) error {
	cur := tree
	var path strings.Builder
	for si, s := range steps {
		last := si == len(steps)-1
		if cur.Kind == yaml.AliasNode {
			// Copy rather than edit what the alias points to.
			cp := *cur.Alias
			*cur = cp
		}
		if !s.isIdx {
			if isNull(cur) {
				*cur = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				d.files[cur] = label
			}
			if cur.Kind != yaml.MappingNode {
				return fmt.Errorf("%s is not a map", pathOr(path.String()))
			}
			var next *yaml.Node
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if cur.Content[i].Value == s.name {
					next = cur.Content[i+1]
				}
			}
			if next == nil {
				k := str(s.name)
				next = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				d.files[k], d.files[next] = label, label
				cur.Content = append(cur.Content, k, next)
			}
			if path.Len() > 0 {
				path.WriteByte('.')
			}
			path.WriteString(s.name)
			cur = next
		} else {
			if isNull(cur) {
				*cur = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
				d.files[cur] = label
			}
			if cur.Kind != yaml.SequenceNode {
				return fmt.Errorf("%s is not a list", pathOr(path.String()))
			}
			idx := s.index
			if idx < 0 {
				idx = len(cur.Content)
			}
			switch {
			case idx == len(cur.Content):
				n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				d.files[n] = label
				cur.Content = append(cur.Content, n)
				cur.Style = 0
			case idx > len(cur.Content):
				return fmt.Errorf("%s[%d]: index out of range (the list has %d items)", path.String(), idx, len(cur.Content))
			}
			fmt.Fprintf(&path, "[%d]", idx)
			cur = cur.Content[idx]
		}
		if last {
			*cur = *v
			d.files[cur] = label
		}
	}
	return nil
}

func pathOr(p string) string {
	if p == "" {
		return "the configuration"
	}
	return p
}
