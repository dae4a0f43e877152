// Package rules loads Falco rules files: lists, macros and rules, with
// Falco's append/override, exceptions, required versions and warnings, and
// compiles each rule with package engine.
//
// Semantics follow Falco 0.44 (engine version 0.62.0, see EngineVersion):
// lists are substituted into conditions textually before parsing, macros
// are substituted on the syntax tree (a macro sees only macros defined
// before it), exceptions become "(cond) and not ..." text, and several files
// load into one collection in order, later definitions overriding earlier
// ones. Unlike Falco, which stops at the first error, Load reports every
// error it can find, each with file:line:col and the item it belongs to.
package rules

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Options tune loading. A nil *Options means the defaults.
type Options struct {
	// Fields is the field registry conditions and outputs are compiled
	// against; nil means fields.Default().
	Fields *fields.Registry
	// ExtraOutputs append text and fields to the outputs of the rules they
	// match, in order (Falco's append_output configuration).
	ExtraOutputs []ExtraOutput
}

// ExtraOutput appends Text (after a space) to the output of every rule that
// Match selects, and adds Fields to its JSON output_fields. Suggested
// appends the container fields Falco's container plugin suggests
// (container_id=%container.id, container_name=..., image repository and
// tag, k8s pod and namespace) that the output does not already show.
type ExtraOutput struct {
	Match     OutputMatch
	Text      string
	Fields    []ExtraField
	Suggested bool
}

// suggestedFields are the container plugin's suggested output fields, with
// the keys Falco renders them under.
var suggestedFields = []struct{ key, field string }{
	{"container_id", "container.id"},
	{"container_name", "container.name"},
	{"container_image_repository", "container.image.repository"},
	{"container_image_tag", "container.image.tag"},
	{"k8s_pod_name", "k8s.pod.name"},
	{"k8s_ns_name", "k8s.ns.name"},
}

// appendSuggested appends the suggested fields output does not show yet.
func appendSuggested(output string) string {
	for _, f := range suggestedFields {
		if !strings.Contains(output, "%"+f.field+" ") && !strings.HasSuffix(output, "%"+f.field) &&
			!strings.Contains(output, "%"+f.field+")") && !strings.Contains(output, "%"+f.field+",") {
			output += " " + f.key + "=%" + f.field
		}
	}
	return output
}

// ExtraField is a named output template rendered into output_fields.
type ExtraField struct {
	Key    string
	Format string
}

// OutputMatch selects rules by source, by tags (a rule must carry every
// tag listed) and by name. Empty members match every rule.
type OutputMatch struct {
	Source string
	Tags   []string
	Rule   string
}

// matches reports whether m selects the rule.
func (m OutputMatch) matches(name, source string, tags []string) bool {
	if m.Source != "" && m.Source != source {
		return false
	}
	if m.Rule != "" && m.Rule != name {
		return false
	}
	for _, t := range m.Tags {
		if !slices.Contains(tags, t) {
			return false
		}
	}
	return true
}

// File is a rules file held in memory.
type File struct {
	Name string
	Data []byte
}

// Load reads and loads the rules files at paths, in order. A directory
// contributes its *.yaml and *.yml files (not recursively) in
// lexicographic order. A file that cannot be read is reported as a
// LOAD_ERR_FILE_READ error. The Ruleset holds every rule that loaded even
// when the Result has errors; callers should not run rules from a load that
// is not OK.
func Load(paths []string, opts *Options) (*Ruleset, *Result) {
	var files []File
	res := &Result{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			res.errorf(ErrFileRead, item{}, loc{file: p, line: 1, col: 1}, "cannot read rules: %v", err)
			continue
		}
		names := []string{p}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				res.errorf(ErrFileRead, item{}, loc{file: p, line: 1, col: 1}, "cannot read rules directory: %v", err)
				continue
			}
			names = names[:0]
			for _, e := range ents {
				n := e.Name()
				if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
					if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
						names = append(names, filepath.Join(p, n))
					}
				}
			}
			sort.Strings(names)
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				res.errorf(ErrFileRead, item{}, loc{file: n, line: 1, col: 1}, "cannot read rules file: %v", err)
				continue
			}
			files = append(files, File{Name: n, Data: data})
		}
	}
	rs, r2 := LoadFiles(files, opts)
	r2.Errors = append(res.Errors, r2.Errors...)
	return rs, r2
}

// LoadFiles loads rules files held in memory, in order. See Load.
func LoadFiles(files []File, opts *Options) (*Ruleset, *Result) {
	reg := fields.Default()
	if opts != nil && opts.Fields != nil {
		reg = opts.Fields
	}
	res := &Result{}
	c := newCollector(func(f string) bool { return validExceptionField(f, reg) })
	for _, f := range files {
		c.readFile(f.Name, f.Data, res)
	}
	var extras []ExtraOutput
	if opts != nil {
		extras = opts.ExtraOutputs
	}
	rs := c.compile(reg, extras, res)
	// Vigil provides the container plugin's fields itself; any other plugin
	// requirement cannot be met, which is worth a warning but, unlike in
	// Falco, not a failure: rules using that plugin's source are skipped.
	own := []Plugin{{Name: "container", Version: ContainerPluginVersion}}
	for i, alts := range c.plugins {
		for _, err := range checkPlugins([][]PluginRequirement{alts}, own) {
			at := c.pluginLocs[i]
			res.warnf(WarnPluginRequirement, item{typ: ItemRequiredPluginVersions, at: at}, at, "%v (Vigil provides the fields of the container plugin %s and no other plugin)", err, ContainerPluginVersion)
		}
	}
	return rs, res
}

// validExceptionField reports whether f (a field, possibly with an
// argument, or a transformer expression) is usable on the left side of a
// check.
func validExceptionField(f string, reg *fields.Registry) bool {
	op, n, err := parse.ParseOperand(strings.TrimSpace(f))
	if err != nil || n != len(strings.TrimSpace(f)) {
		return false
	}
	_, _, err = engine.Compile(&parse.UnaryCheck{Left: op, Op: "exists"}, reg)
	return err == nil || !isUnknownFilterErr(err.Error())
}
