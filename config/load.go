package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds the configuration files read.
const maxFileSize = 16 << 20

// Parse decodes the configuration in data onto Default(). name names the
// data in positions. ${VAR} in values is replaced by the environment
// variable VAR (empty when unset) and $${VAR} by a literal ${VAR}, as in
// Falco. Parse does not follow config_files; Load does.
//
// It returns the configuration and its warnings, or an error (one *Error
// or several joined) when the YAML is malformed or a value has the wrong
// type or is out of range.
func Parse(name string, data []byte) (*Config, []Warning, error) {
	root, err := parseYAML(name, data, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	d := newDecoder()
	return d.decodeRoot(name, root)
}

// Load reads the configuration file at path, merges the files its
// config_files key names (see ConfigFile), and decodes the result onto
// Default() as Parse does.
func Load(path string) (*Config, []Warning, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	root, err := parseYAML(path, data, os.LookupEnv)
	if err != nil {
		return nil, nil, err
	}
	d := newDecoder()
	if root != nil {
		d.include(path, root)
		if err := d.err(); err != nil {
			return nil, d.warns, err
		}
	}
	return d.decodeRoot(path, root)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read configuration %s: is a directory", path)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("read configuration %s: larger than %d bytes", path, maxFileSize)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return data, nil
}

// parseYAML parses data and expands environment variables in its values.
// It returns the top-level mapping, or nil for an empty document.
func parseYAML(name string, data []byte, lookup func(string) (string, bool)) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Pos: Pos{File: name, Line: root.Line, Col: root.Column}, Msg: "expected a map of configuration keys, got " + kindName(root)}
	}
	expandEnv(root, lookup)
	return root, nil
}

// yamlError turns yaml.v3's "yaml: line N: msg" into a positioned Error.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Pos{File: name}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(num); err == nil {
				p.Line, msg = l, after
			}
		}
	}
	return &Error{Pos: p, Msg: "invalid YAML: " + msg}
}

// expandEnv replaces ${VAR} in every scalar value (not in keys) with VAR's
// value, or nothing when it is unset, and $${VAR} with ${VAR}, as Falco
// does. Aliases are not followed: their targets are expanded where they
// are defined.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], lookup)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			expandEnv(c, lookup)
		}
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "${") {
			n.Value = expandString(n.Value, lookup)
		}
	}
}

// expandString returns s with ${VAR} replaced by lookup(VAR) (nothing when
// lookup reports it unset) and $${...} by ${...}, following Falco's
// yaml_helper exactly: an unterminated ${ ends the expansion, and so does a
// $ followed by anything else ("$HOME ${X}" is left as it is).
func expandString(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "${"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			if v, ok := lookup(rest[2:end]); ok {
				b.WriteString(v)
			}
			s = rest[end+1:]
		case strings.HasPrefix(rest, "$${"):
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(rest[1 : end+1])
			s = rest[end+1:]
		default:
			b.WriteString(rest)
			return b.String()
		}
	}
}

// decodeRoot decodes the top-level mapping root (nil: empty) onto
// Default(), then checks the result.
func (d *decoder) decodeRoot(name string, root *yaml.Node) (*Config, []Warning, error) {
	c := Default()
	d.pos[""] = Pos{File: name}
	if root != nil {
		d.legacyRulesFile(name, root)
		d.decodeStruct(name, "", root, reflectValue(c))
	}
	// A value that failed to decode kept its default, so checking still
	// finds the other problems without inventing new ones.
	d.check(c)
	if err := d.err(); err != nil {
		return nil, d.warns, err
	}
	return c, d.warns, nil
}

// legacyRulesFile renames Falco's deprecated rules_file key to rules_files,
// with a warning, or reports an error when both are given.
func (d *decoder) legacyRulesFile(name string, root *yaml.Node) {
	var legacy, current *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "rules_file":
			legacy = root.Content[i]
		case "rules_files":
			current = root.Content[i]
		}
	}
	if legacy == nil {
		return
	}
	file := name
	if f, ok := d.files[legacy]; ok {
		file = f
	}
	if current != nil {
		d.errorf(d.posOf(file, legacy), "rules_file", "rules_file and rules_files are both set; use rules_files only")
		return
	}
	d.warnf(d.posOf(file, legacy), "rules_file", "deprecated; use rules_files")
	legacy.Value = "rules_files"
}

// include merges the files root's config_files names into root, as Falco
// does: each file's top-level keys by the entry's strategy, in order.
func (d *decoder) include(path string, root *yaml.Node) {
	var cf *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "config_files" {
			cf = root.Content[i+1]
		}
	}
	if cf == nil {
		return
	}
	var entries []ConfigFile
	sub := newDecoder()
	sub.decodeSlice(path, "config_files", cf, reflectValue(&entries))
	for i := range entries {
		sub.checkValue(fmt.Sprintf("config_files[%d]", i), reflectValue(&entries[i]), fieldInfo{})
	}
	for i, e := range entries {
		if e.Strategy == "" {
			entries[i].Strategy = "append"
		}
	}
	d.warns = append(d.warns, sub.warns...)
	if err := sub.err(); err != nil {
		d.errs = append(d.errs, err)
		return
	}
	dir := filepath.Dir(path)
	for i, e := range entries {
		key := fmt.Sprintf("config_files[%d]", i)
		p := e.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // Falco skips missing includes
		case err != nil:
			d.errorf(sub.at(key), key, "%v", err)
			continue
		}
		files := []string{p}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				d.errorf(sub.at(key), key, "%v", err)
				continue
			}
			files = files[:0]
			for _, de := range ents {
				ext := filepath.Ext(de.Name())
				if de.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
					files = append(files, filepath.Join(p, de.Name()))
				}
			}
			sort.Strings(files)
		}
		for _, f := range files {
			if filepath.Clean(f) == filepath.Clean(path) {
				d.errorf(sub.at(key), key, "%s includes itself", f)
				continue
			}
			d.mergeFile(f, root, e.Strategy, sub.at(key), key)
		}
	}
}

// mergeFile merges the top-level keys of the file at path into root.
func (d *decoder) mergeFile(path string, root *yaml.Node, strategy string, from Pos, key string) {
	data, err := readFile(path)
	if err != nil {
		d.errorf(from, key, "%v", err)
		return
	}
	inc, err := parseYAML(path, data, os.LookupEnv)
	if err != nil {
		d.errs = append(d.errs, err)
		return
	}
	if inc == nil {
		return
	}
	for i := 0; i+1 < len(inc.Content); i += 2 {
		k, v := inc.Content[i], inc.Content[i+1]
		d.files[k], d.files[v] = path, path
		if k.Value == "config_files" {
			d.errorf(d.posOf(path, k), "config_files", "an included file may not include others")
			continue
		}
		j := -1
		for m := 0; m+1 < len(root.Content); m += 2 {
			if root.Content[m].Value == k.Value {
				j = m
			}
		}
		switch {
		case j < 0:
			root.Content = append(root.Content, k, v)
		case strategy == "add-only":
		case strategy == "append" && v.Kind == yaml.SequenceNode && root.Content[j+1].Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				d.files[item] = path
			}
			old := root.Content[j+1]
			merged := *old
			merged.Content = append(append([]*yaml.Node(nil), old.Content...), v.Content...)
			merged.Style = 0
			if f, ok := d.files[old]; ok {
				for _, item := range old.Content {
					if _, ok := d.files[item]; !ok {
						d.files[item] = f
					}
				}
			}
			root.Content[j+1] = &merged
		default:
			root.Content[j], root.Content[j+1] = k, v
		}
	}
}
