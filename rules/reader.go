package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/engine"
)

const (
	warningAppend  = "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."
	warningEnabled = "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace')."
	errOverrideApp = "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead."

	rgxIdentifier = "([a-zA-Z]+[a-zA-Z0-9_]*)"
	rgxBareStr    = `([^()"'[:space:]=,]+)`
)

var (
	reIdentifier = regexp.MustCompile(`^` + rgxIdentifier + `$`)
	reBareStr    = regexp.MustCompile(`^` + rgxBareStr + `$`)
	reYAMLLine   = regexp.MustCompile(`line (\d+)`)
)

// Keys each item kind knows; others raise LOAD_UNKNOWN_KEY.
var knownKeys = map[string][]string{
	ItemList:  {"list", "items", "append", "override"},
	ItemMacro: {"macro", "condition", "append", "override"},
	ItemRule: {"rule", "desc", "condition", "output", "priority", "source", "enabled", "tags", "exceptions",
		"warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration", "override", "append"},
	ItemRequiredEngineVersion:  {"required_engine_version"},
	ItemRequiredPluginVersions: {"required_plugin_versions"},
}

var (
	ruleAppendable  = []string{"condition", "output", "desc", "tags", "exceptions"}
	ruleReplaceable = []string{"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"}
	exceptionKeys   = []string{"name", "fields", "comps", "values"}
)

// readFile reads one rules file into the collector. Every item that can be
// read is read: an item with an error is reported and skipped.
func (c *collector) readFile(name string, data []byte, res *Result) {
	f := &fileCtx{name: name, lines: strings.Split(string(data), "\n")}
	docs, err := decodeDocs(data)
	if err != nil {
		at := loc{file: name, line: 1, col: 1}
		if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
			if n, e := strconv.Atoi(m[1]); e == nil {
				at.line = n
			}
		}
		res.errorf(ErrYAMLParse, item{at: at}, at, "%s", err.Error())
		return
	}
	for _, doc := range docs {
		root := doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		root = deref(root)
		if root == nil || isNull(root) {
			continue
		}
		if !isSeq(root) {
			msg := "Rules content is not yaml array of objects"
			if !isMap(root) {
				msg = "Rules content is not yaml"
			}
			at := f.at(root)
			res.errorf(ErrYAMLValidate, item{at: at}, at, "%s", msg)
			continue
		}
		for _, n := range root.Content {
			n = deref(n)
			if n == nil || isNull(n) {
				continue
			}
			c.readItem(f, n, res)
		}
	}
}

func decodeDocs(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

func (c *collector) readItem(f *fileCtx, n *yaml.Node, res *Result) {
	if !isMap(n) {
		at := f.at(n)
		res.errorf(ErrYAMLValidate, item{typ: ItemContent, at: at}, at, "Unexpected element type. Each element should be a yaml associative array.")
		return
	}
	var typ string
	switch {
	case has(n, "required_engine_version"):
		typ = ItemRequiredEngineVersion
	case has(n, "required_plugin_versions"):
		typ = ItemRequiredPluginVersions
	case has(n, "list"):
		typ = ItemList
	case has(n, "macro"):
		typ = ItemMacro
	case has(n, "rule"):
		typ = ItemRule
	default:
		at := f.at(n)
		res.warnf(WarnUnknownItem, item{typ: ItemContent, at: at}, at, "Unknown top level item")
		return
	}
	it := item{typ: typ, at: f.at(n)}
	if typ == ItemList || typ == ItemMacro || typ == ItemRule {
		if v := get(n, typ); isScalar(v) {
			it.name = v.Value
		}
	}
	keys, _ := mapPairs(n)
	for _, k := range keys {
		if k == nil || k.Kind != yaml.ScalarNode || !contains(knownKeys[typ], k.Value) {
			kv := ""
			if k != nil {
				kv = k.Value
			}
			res.warnf(WarnUnknownKey, it, f.at(orNode(k, n)), "Unknown key '%s'", kv)
		}
	}
	var err *itemErr
	switch typ {
	case ItemRequiredEngineVersion:
		err = c.readEngineVersion(f, n, it)
	case ItemRequiredPluginVersions:
		err = c.readPluginVersions(f, n, it)
	case ItemList:
		err = c.readList(f, n, &it, res)
	case ItemMacro:
		err = c.readMacro(f, n, &it, res)
	case ItemRule:
		err = c.readRule(f, n, &it, res)
	}
	if err != nil {
		if it.name != "" {
			c.failed[failKey(typ, it.name)] = true
		}
		res.errorf(err.code, it, err.at, "%s", err.msg)
	}
}

// readOverrides decodes an item's override map into the keys to append
// and the keys to replace.
func (c *collector) readOverrides(f *fileCtx, n *yaml.Node, appendable, replaceable []string) (app, repl []string, err *itemErr) {
	ov := get(n, "override")
	if ov == nil {
		return nil, nil, nil
	}
	if !isMap(ov) {
		return nil, nil, f.errAt(ov, ErrYAMLValidate, "Value of override must be a mapping")
	}
	keys, vals := mapPairs(ov)
	for i, k := range keys {
		v := vals[i]
		if !isScalar(k) {
			return nil, nil, f.errAt(orNode(k, ov), ErrYAMLValidate, "Override keys must be strings")
		}
		key := k.Value
		op := ""
		if isScalar(v) {
			op = v.Value
		}
		switch op {
		case "append":
			if !contains(appendable, key) {
				return nil, nil, f.errAt(k, ErrYAMLValidate, "Key '"+key+"' cannot be appended to, use 'replace' instead")
			}
			app = append(app, key)
		case "replace":
			if !contains(replaceable, key) {
				return nil, nil, f.errAt(k, ErrYAMLValidate, "Key '"+key+"' cannot be replaced")
			}
			repl = append(repl, key)
		default:
			allowed := ""
			if contains(appendable, key) {
				allowed += "append "
			}
			if contains(replaceable, key) {
				allowed += "replace "
			}
			return nil, nil, f.errAt(orNode(v, k), ErrYAMLValidate, fmt.Sprintf("Invalid override operation for key '%s': '%s'. Allowed values are: %s", key, op, allowed))
		}
	}
	return app, repl, nil
}

func (c *collector) readEngineVersion(f *fileCtx, n *yaml.Node, it item) *itemErr {
	s, vn, _, err := f.str(n, "required_engine_version", false)
	if err != nil {
		return err
	}
	var v semver
	if u, perr := strconv.ParseUint(s, 10, 32); perr == nil {
		v = semver{0, u, 0}
	} else {
		var ok bool
		if v, ok = parseSemver(s); !ok {
			return f.errAt(vn, ErrYAMLValidate, "Unable to parse engine version '"+s+"' as a semver string. Expected \"x.y.z\" semver format.")
		}
	}
	own, _ := parseSemver(EngineVersion)
	if !own.compatibleWith(v) {
		return &itemErr{code: ErrValidate, msg: "Rules require engine version " + v.String() + ", but engine version is " + EngineVersion, at: it.at}
	}
	if cur, ok := parseSemver(c.engineVersion); !ok || cur.less(v) {
		c.engineVersion = v.String()
	}
	return nil
}

func (c *collector) readPluginVersions(f *fileCtx, n *yaml.Node, it item) *itemErr {
	seq := get(n, "required_plugin_versions")
	if !isSeq(seq) {
		return f.errAt(seq, ErrYAMLValidate, "Value of required_plugin_versions must be a sequence")
	}
	for _, p := range seq.Content {
		p = deref(p)
		if !isMap(p) {
			return f.errAt(orNode(p, seq), ErrYAMLValidate, "Plugin version must be a mapping")
		}
		name, _, _, err := f.str(p, "name", false)
		if err != nil {
			return err
		}
		version, _, _, err := f.str(p, "version", false)
		if err != nil {
			return err
		}
		alts := []PluginRequirement{{Name: name, Version: version}}
		if an := get(p, "alternatives"); an != nil {
			if !isSeq(an) {
				return f.errAt(an, ErrYAMLValidate, "Value of plugin version alternatives must be a sequence")
			}
			for _, a := range an.Content {
				a = deref(a)
				if !isMap(a) {
					return f.errAt(orNode(a, an), ErrYAMLValidate, "Plugin version alternative must be a mapping")
				}
				an, _, _, err := f.str(a, "name", false)
				if err != nil {
					return err
				}
				av, _, _, err := f.str(a, "version", false)
				if err != nil {
					return err
				}
				alts = append(alts, PluginRequirement{Name: an, Version: av})
			}
		}
		seen := map[string]bool{}
		for _, r := range alts {
			if _, ok := parseSemver(r.Version); !ok {
				return f.errAt(p, ErrValidate, "Invalid required version '"+r.Version+"' for plugin '"+r.Name+"'")
			}
			if seen[r.Name] {
				return f.errAt(p, ErrValidate, "Defined multiple alternative version requirements for plugin '"+r.Name+"'")
			}
			seen[r.Name] = true
		}
		c.plugins = append(c.plugins, alts)
		c.pluginLocs = append(c.pluginLocs, f.at(p))
	}
	return nil
}

func (c *collector) readList(f *fileCtx, n *yaml.Node, it *item, res *Result) *itemErr {
	name, _, _, err := f.str(n, "list", false)
	if err != nil {
		return err
	}
	it.name = name
	if !reBareStr.MatchString(name) {
		res.warnf(WarnInvalidListName, *it, it.at, "List has an invalid name. List names should match a regular expression: %s", rgxBareStr)
	}
	items, _, err := f.strSeq(n, "items", false)
	if err != nil {
		return err
	}
	app, _, err := f.boolean(n, "append", true)
	if err != nil {
		return err
	}
	if app {
		res.warnf(WarnDeprecatedItem, *it, it.at, "%s", warningAppend)
	}
	oa, or, err := c.readOverrides(f, n, []string{"items"}, []string{"items"})
	if err != nil {
		return err
	}
	if app && (len(oa) > 0 || len(or) > 0) {
		return &itemErr{code: ErrYAMLValidate, msg: errOverrideApp, at: it.at}
	}
	l := &listInfo{name: name, items: items, it: *it}
	if app || contains(oa, "items") {
		return c.appendList(l)
	}
	c.defineList(l)
	return nil
}

func (c *collector) readMacro(f *fileCtx, n *yaml.Node, it *item, res *Result) *itemErr {
	name, _, _, err := f.str(n, "macro", false)
	if err != nil {
		return err
	}
	it.name = name
	if !reIdentifier.MatchString(name) {
		res.warnf(WarnInvalidMacroName, *it, it.at, "Macro has an invalid name. Macro names should match a regular expression: %s", rgxIdentifier)
	}
	_, cn, _, err := f.str(n, "condition", false)
	if err != nil {
		return err
	}
	app, _, err := f.boolean(n, "append", true)
	if err != nil {
		return err
	}
	if app {
		res.warnf(WarnDeprecatedItem, *it, it.at, "%s", warningAppend)
	}
	oa, or, err := c.readOverrides(f, n, []string{"condition"}, []string{"condition"})
	if err != nil {
		return err
	}
	if app && (len(oa) > 0 || len(or) > 0) {
		return &itemErr{code: ErrYAMLValidate, msg: errOverrideApp, at: it.at}
	}
	m := &macroInfo{name: name, cond: f.scalarText(cn), it: *it}
	if app || contains(oa, "condition") {
		return c.appendMacro(m)
	}
	c.defineMacro(m)
	return nil
}

func (c *collector) readRule(f *fileCtx, n *yaml.Node, it *item, res *Result) *itemErr {
	name, _, _, err := f.str(n, "rule", false)
	if err != nil {
		return err
	}
	it.name = name
	hasAppend, _, err := f.boolean(n, "append", true)
	if err != nil {
		return err
	}
	if hasAppend {
		res.warnf(WarnDeprecatedItem, *it, it.at, "%s", warningAppend)
	}
	oa, or, err := c.readOverrides(f, n, ruleAppendable, ruleReplaceable)
	if err != nil {
		return err
	}
	hasOverrides := len(oa) > 0 || len(or) > 0
	if hasAppend && hasOverrides {
		return &itemErr{code: ErrYAMLValidate, msg: errOverrideApp, at: it.at}
	}
	// An update may name the rule's source; an empty one is ignored.
	updSource := ""
	if sn := get(n, "source"); isScalar(sn) {
		updSource = sn.Value
	}

	switch {
	case hasOverrides:
		expected := map[string]bool{}
		for _, k := range append(append([]string(nil), ruleAppendable...), ruleReplaceable...) {
			if has(n, k) {
				expected[k] = true
			}
		}
		check := func(ops []string, kind, key string) (bool, *itemErr) {
			if !contains(ops, key) {
				return false, nil
			}
			if !expected[key] {
				return false, &itemErr{code: ErrYAMLValidate, msg: "An " + kind + " override for '" + key + "' was specified but '" + key + "' is not defined", at: it.at}
			}
			delete(expected, key)
			return true, nil
		}
		if len(oa) > 0 {
			u, err := c.readUpdate(f, n, it, res, oa, "append", check)
			if err != nil {
				return err
			}
			u.source = updSource
			if err := c.appendRule(u); err != nil {
				return err
			}
		}
		if len(or) > 0 {
			u, err := c.readUpdate(f, n, it, res, or, "replace", check)
			if err != nil {
				return err
			}
			u.source = updSource
			if err := c.replaceRule(u); err != nil {
				return err
			}
		}
		for _, k := range append(append([]string(nil), ruleAppendable...), ruleReplaceable...) {
			if expected[k] {
				_, kn := getKV(n, k)
				return f.errAt(kn, ErrYAMLValidate, "Unexpected key '"+k+"': no corresponding entry under 'override' is defined.")
			}
		}
		return nil

	case hasAppend:
		u := &ruleUpdate{name: name, source: updSource, it: *it}
		if has(n, "condition") {
			_, cn, _, err := f.str(n, "condition", false)
			if err != nil {
				return err
			}
			t := f.scalarText(cn)
			u.cond = &t
		}
		if has(n, "exceptions") {
			exs, err := c.readExceptions(f, n, res, true)
			if err != nil {
				return err
			}
			u.exceptions = &exs
		}
		return c.appendRule(u)
	}

	r := &ruleInfo{name: name, enabled: true, warnEvttypes: true, it: *it}
	if !has(n, "condition") && !has(n, "output") && !has(n, "desc") && !has(n, "priority") {
		en, _, err := f.boolean(n, "enabled", false)
		if err != nil {
			return err
		}
		res.warnf(WarnDeprecatedItem, *it, it.at, "%s", warningEnabled)
		return c.enableRule(name, en, *it)
	}
	_, cn, _, err := f.str(n, "condition", false)
	if err != nil {
		return err
	}
	r.cond = f.scalarText(cn)
	out, on, _, err := f.str(n, "output", false)
	if err != nil {
		return err
	}
	r.output = strings.TrimSpace(out)
	r.outputAt = f.at(on)
	src := f.scalarText(on)
	lead := len(out) - len(strings.TrimLeft(out, " \t\n\r\f\v"))
	r.outputSrc = text{s: r.output, locs: src.locs[lead : lead+len(r.output)]}
	if r.desc, _, _, err = f.str(n, "desc", false); err != nil {
		return err
	}
	prio, pn, _, err := f.str(n, "priority", false)
	if err != nil {
		return err
	}
	p, perr := engine.ParsePriority(prio)
	if perr != nil {
		return f.errAt(pn, ErrYAMLValidate, "Invalid priority")
	}
	r.priority = p
	r.source = SourceSyscall
	if s, _, ok, err := f.str(n, "source", true); err != nil {
		return err
	} else if ok {
		r.source = s
	}
	if b, ok, err := f.boolean(n, "enabled", true); err != nil {
		return err
	} else if ok {
		r.enabled = b
	}
	if b, ok, err := f.boolean(n, "warn_evttypes", true); err != nil {
		return err
	} else if ok {
		r.warnEvttypes = b
	}
	if b, ok, err := f.boolean(n, "skip-if-unknown-filter", true); err != nil {
		return err
	} else if ok {
		r.skipUnknown = b
	}
	if b, ok, err := f.boolean(n, "capture", true); err != nil {
		return err
	} else if ok {
		r.capture = b
	}
	if d, ok, err := f.uint(n, "capture_duration", true); err != nil {
		return err
	} else if ok {
		r.captureDuration = d
	}
	tags, _, err := f.strSeq(n, "tags", true)
	if err != nil {
		return err
	}
	r.tags = tagSet(tags)
	if r.exceptions, err = c.readExceptions(f, n, res, false); err != nil {
		return err
	}
	return c.defineRule(r, res)
}

// readUpdate decodes the keys of an override item listed under ops.
func (c *collector) readUpdate(f *fileCtx, n *yaml.Node, it *item, res *Result, ops []string, kind string,
	check func(ops []string, kind, key string) (bool, *itemErr)) (*ruleUpdate, *itemErr) {
	u := &ruleUpdate{name: it.name, it: *it}
	for _, key := range []string{"condition", "exceptions", "output", "desc", "tags", "priority", "enabled", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"} {
		ok, err := check(ops, kind, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		switch key {
		case "condition":
			_, cn, _, err := f.str(n, key, false)
			if err != nil {
				return nil, err
			}
			t := f.scalarText(cn)
			u.cond = &t
		case "exceptions":
			exs, err := c.readExceptions(f, n, res, kind == "append")
			if err != nil {
				return nil, err
			}
			u.exceptions = &exs
		case "output", "desc":
			s, sn, _, err := f.str(n, key, false)
			if err != nil {
				return nil, err
			}
			if key == "output" {
				t := f.scalarText(sn)
				u.output = &t
			} else {
				u.desc = &s
			}
		case "tags":
			tags, _, err := f.strSeq(n, key, false)
			if err != nil {
				return nil, err
			}
			tags = tagSet(tags)
			u.tags = &tags
		case "priority":
			s, pn, _, err := f.str(n, key, false)
			if err != nil {
				return nil, err
			}
			p, perr := engine.ParsePriority(s)
			if perr != nil {
				return nil, f.errAt(pn, ErrYAMLValidate, "Invalid priority")
			}
			u.priority = &p
		case "capture_duration":
			d, _, err := f.uint(n, key, false)
			if err != nil {
				return nil, err
			}
			u.captureDuration = &d
		default:
			b, _, err := f.boolean(n, key, false)
			if err != nil {
				return nil, err
			}
			switch key {
			case "enabled":
				u.enabled = &b
			case "warn_evttypes":
				u.warnEvttypes = &b
			case "skip-if-unknown-filter":
				u.skipUnknown = &b
			case "capture":
				u.capture = &b
			}
		}
	}
	return u, nil
}

// readExceptions decodes a rule's exceptions. When appending, fields may be
// omitted (only values are appended to an existing exception).
func (c *collector) readExceptions(f *fileCtx, n *yaml.Node, res *Result, appending bool) ([]*exceptionInfo, *itemErr) {
	exs := get(n, "exceptions")
	if exs == nil || isNull(exs) {
		return []*exceptionInfo{}, nil
	}
	if !isSeq(exs) {
		return nil, f.errAt(exs, ErrYAMLValidate, "Rule exceptions must be a sequence")
	}
	out := []*exceptionInfo{}
	it := item{typ: ItemRule}
	if v := get(n, "rule"); isScalar(v) {
		it.name = v.Value
	}
	for _, en := range exs.Content {
		en = deref(en)
		if !isMap(en) {
			return nil, f.errAt(orNode(en, exs), ErrYAMLValidate, "Rule exception must be a mapping")
		}
		name, _, _, err := f.str(en, "name", false)
		if err != nil {
			return nil, err
		}
		ex := &exceptionInfo{name: name, at: f.at(en)}
		it.at = ex.at
		keys, _ := mapPairs(en)
		for _, k := range keys {
			if k == nil || !contains(exceptionKeys, k.Value) {
				res.warnf(WarnUnknownKey, it, f.at(orNode(k, en)), "Unknown key '%s' in exception '%s'", keyName(k), name)
			}
		}
		for _, prev := range out {
			if prev.name == name {
				res.warnf(WarnExceptionNameNotUniq, it, ex.at, "Multiple definitions of exception '%s' in the same rule", name)
			}
		}
		if ex.fields, err = f.exceptionEntry(en, "fields", appending, 0); err != nil {
			return nil, err
		}
		if ex.comps, err = f.exceptionEntry(en, "comps", true, 0); err != nil {
			return nil, err
		}
		if vals := get(en, "values"); vals != nil {
			if !isSeq(vals) {
				return nil, f.errAt(vals, ErrYAMLValidate, "Rule exception values must be a sequence")
			}
			for _, v := range vals.Content {
				e, err := f.entryOf(deref(v), orNode(deref(v), vals), 1)
				if err != nil {
					return nil, err
				}
				ex.values = append(ex.values, e)
			}
		} else if appending {
			res.warnf(WarnAppendNoValues, it, ex.at, "Overriding/appending exception with no values")
		}
		out = append(out, ex)
	}
	return out, nil
}

func keyName(k *yaml.Node) string {
	if k == nil {
		return ""
	}
	return k.Value
}

func (f *fileCtx) exceptionEntry(m *yaml.Node, key string, optional bool, depth int) (entry, *itemErr) {
	v := get(m, key)
	if v == nil {
		if optional {
			return entry{}, nil
		}
		return entry{}, f.errAt(m, ErrYAMLValidate, "Item has no mapping for key '"+key+"'")
	}
	return f.entryOf(v, v, depth)
}

// maxEntryDepth bounds the nesting of exception values.
const maxEntryDepth = 8

func (f *fileCtx) entryOf(v, at *yaml.Node, depth int) (entry, *itemErr) {
	if depth > maxEntryDepth {
		return entry{}, f.errAt(at, ErrYAMLValidate, "Exception values are nested too deeply")
	}
	switch {
	case v == nil:
		return entry{}, nil
	case v.Kind == yaml.ScalarNode && !isNull(v):
		if v.Value == "" {
			return entry{}, f.errAt(v, ErrYAMLValidate, "Value must be non-empty")
		}
		return entry{item: v.Value}, nil
	case isSeq(v):
		e := entry{isList: true}
		for _, c := range v.Content {
			c = deref(c)
			sub, err := f.entryOf(c, orNode(c, v), depth+1)
			if err != nil {
				return entry{}, err
			}
			e.items = append(e.items, sub)
		}
		return e, nil
	}
	// Null or mapping: yaml-cpp decodes neither, leaving an empty scalar.
	return entry{}, nil
}
