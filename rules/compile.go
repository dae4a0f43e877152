package rules

import (
	"errors"
	"strings"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Node positions are rewritten into one offset space shared by every
// condition text of a load: offset = textID<<textShift + offset in the text.
// That way a position the engine reports (even inside an expanded macro)
// still tells which text, and so which file:line:col, it comes from.
const (
	textShift   = 24
	maxTextLen  = 1<<textShift - 1
	maxCondLen  = 1 << 20 // bytes of one condition after list expansion
	maxExpanded = 1 << 20 // nodes in one expanded condition
)

// compiler turns the collected items into a Ruleset (Falco's
// rule_loader::compiler).
type compiler struct {
	c      *collector
	reg    *fields.Registry
	extras []ExtraOutput
	res    *Result
	texts  []text

	lists     []*compiledList
	macros    []*compiledMacro
	macroByNm map[string]*compiledMacro
}

type compiledList struct {
	info  *listInfo
	items []string
	used  bool
}

type compiledMacro struct {
	info   *macroInfo
	ast    parse.Expr // nil when the macro failed to parse or resolve
	broken bool
	used   bool
}

// site is a macro reference in a rule's own condition, with the texts its
// expansion pulled in; warnings inside an expansion are reported there.
type site struct {
	at    int
	texts map[int]bool
}

func (c *collector) compile(reg *fields.Registry, extras []ExtraOutput, res *Result) *Ruleset {
	cp := &compiler{c: c, reg: reg, extras: extras, res: res, macroByNm: map[string]*compiledMacro{}}
	rs := &Ruleset{RequiredEngineVersion: c.engineVersion, RequiredPlugins: c.plugins, info: map[string]*RuleInfo{}}
	cp.compileLists()
	cp.compileMacros()
	for _, r := range c.rules {
		if r.unknownSource {
			continue
		}
		if er, info := cp.compileRule(r); er != nil {
			rs.Rules = append(rs.Rules, er)
			rs.info[er.Name] = info
		}
	}
	shareEvaluation(rs.Rules, reg)
	for _, l := range cp.lists {
		rs.Lists = append(rs.Lists, &List{Name: l.info.name, Items: l.items, Used: l.used, File: l.info.it.at.file, Line: l.info.it.at.line})
	}
	for _, m := range cp.macros {
		rs.Macros = append(rs.Macros, &Macro{Name: m.info.name, Condition: m.info.cond.s, Expr: m.ast, Used: m.used, File: m.info.it.at.file, Line: m.info.it.at.line})
	}
	if res.OK() {
		for _, m := range cp.macros {
			if !m.used {
				res.warnf(WarnUnusedMacro, m.info.it, m.info.it.at, "Macro not referred to by any other rule/macro")
			}
		}
		for _, l := range cp.lists {
			if !l.used {
				res.warnf(WarnUnusedList, l.info.it, l.info.it.at, "List not referred to by any other rule/macro")
			}
		}
	}
	return rs
}

func (cp *compiler) compileLists() {
	byName := map[string]*compiledList{}
	var used []string
	for _, l := range cp.c.lists {
		cl := &compiledList{info: l, items: []string{}}
		for _, it := range l.items {
			if ref := cp.c.listByName[it]; ref != nil && ref.index < l.visibility {
				used = append(used, ref.name)
				cl.items = append(cl.items, ref.items...)
			} else {
				cl.items = append(cl.items, it)
			}
		}
		cp.lists = append(cp.lists, cl)
		byName[l.name] = cl
	}
	for _, n := range used {
		byName[n].used = true
	}
}

// resolveList substitutes the items of a list for each occurrence of its
// name in t, exactly as Falco's resolve_list does: an occurrence counts when
// it is delimited by the text's ends, blanks or one of "(),="; surrounding
// blanks are consumed; items with a space are double-quoted; an empty list
// also removes an adjacent comma.
func resolveList(t text, name string, items []string) (text, bool) {
	const blanks = " \t\n\r"
	const delims = blanks + "(),="
	if name == "" {
		return t, false
	}
	used := false
	cnd := t.s
	locs := t.locs
	start := strings.Index(cnd, name)
	for start >= 0 {
		end := start + len(name)
		if (start == 0 || strings.IndexByte(delims, cnd[start-1]) >= 0) &&
			(end >= len(cnd) || strings.IndexByte(delims, cnd[end]) >= 0) {
			anchor := locs[start]
			for start > 0 && strings.IndexByte(blanks, cnd[start-1]) >= 0 {
				start--
			}
			for end < len(cnd) && strings.IndexByte(blanks, cnd[end]) >= 0 {
				end++
			}
			quoted := make([]string, len(items))
			for i, v := range items {
				quoted[i] = quoteItem(v)
			}
			sub := strings.Join(quoted, ", ")
			if sub == "" {
				if start > 0 && cnd[start-1] == ',' {
					start--
				} else if end < len(cnd) && cnd[end] == ',' {
					end++
				}
			}
			var nb strings.Builder
			nl := make([]loc, 0, len(cnd)+len(sub)+2)
			if start > 0 {
				nb.WriteString(cnd[:start])
				nb.WriteByte(' ')
				nl = append(nl, locs[:start]...)
				nl = append(nl, anchor)
			}
			nb.WriteString(sub)
			nb.WriteByte(' ')
			for i := 0; i <= len(sub); i++ {
				nl = append(nl, anchor)
			}
			if end <= len(cnd) {
				nb.WriteString(cnd[end:])
				nl = append(nl, locs[end:]...)
			}
			cnd, locs = nb.String(), nl
			start += len(sub) + 1
			used = true
			if len(cnd) > maxCondLen {
				break
			}
		}
		if start+1 > len(cnd) {
			break
		}
		i := strings.Index(cnd[start+1:], name)
		if i < 0 {
			break
		}
		start += 1 + i
	}
	return text{s: cnd, locs: locs}, used
}

// parseCondition substitutes every list into t and parses the result. On
// failure it reports the error and returns nil.
func (cp *compiler) parseCondition(t text, it item) (parse.Expr, int) {
	for _, l := range cp.lists {
		var used bool
		if t, used = resolveList(t, l.info.name, l.items); used {
			l.used = true
		}
		if len(t.s) > maxCondLen {
			cp.res.errorf(ErrCompileCondition, it, t.at(0), "condition is too long after list expansion (%d bytes)", len(t.s))
			return nil, -1
		}
	}
	id := len(cp.texts)
	cp.texts = append(cp.texts, t)
	e, err := parse.Parse(t.s)
	if err != nil {
		var se *parse.SyntaxError
		if errors.As(err, &se) {
			cp.res.errorf(ErrCompileCondition, it, t.at(se.Pos.Offset), "%s", se.Msg)
		} else {
			cp.res.errorf(ErrCompileCondition, it, t.at(0), "%s", err.Error())
		}
		return nil, -1
	}
	rebase(e, id<<textShift)
	return e, id
}

// locOf maps a rebased offset back to a file position.
func (cp *compiler) locOf(off int, fallback loc) loc {
	id := off >> textShift
	if off < 0 || id >= len(cp.texts) {
		return fallback
	}
	return cp.texts[id].at(off & maxTextLen)
}

func (cp *compiler) compileMacros() {
	for _, m := range cp.c.macros {
		cm := &compiledMacro{info: m}
		cm.ast, _ = cp.parseCondition(m.cond, m.it)
		cm.broken = cm.ast == nil
		cp.macros = append(cp.macros, cm)
		cp.macroByNm[m.name] = cm
	}
	for _, cm := range cp.macros {
		if cm.ast == nil {
			continue
		}
		r := &resolver{cp: cp, visibility: cm.info.visibility}
		e := r.resolve(cm.ast)
		if r.report(cm.info.it, cm.info.it.at) {
			cm.ast, cm.broken = nil, true
			continue
		}
		if r.broken {
			cm.ast, cm.broken = nil, true
			continue
		}
		cm.ast = e
	}
}

// resolver substitutes macro references (Falco's filter_macro_resolver).
type resolver struct {
	cp         *compiler
	visibility int // macros with a smaller index are visible; <0: all
	path       []string
	nodes      int
	broken     bool // a referenced macro is itself broken
	errMsg     string
	errAt      int
	hasErr     bool
	resolved   []*compiledMacro
	sites      []site
	curSite    *site
	topLevel   bool
}

func (r *resolver) visible(name string) *compiledMacro {
	m := r.cp.macroByNm[name]
	if m == nil {
		return nil
	}
	if r.visibility >= 0 && m.info.index >= r.visibility {
		return nil
	}
	return m
}

func (r *resolver) fail(msg string, at int) {
	if !r.hasErr {
		r.hasErr, r.errMsg, r.errAt = true, msg, at
	}
}

// report emits the first resolution error, if any, and says whether there
// was one.
func (r *resolver) report(it item, fallback loc) bool {
	if !r.hasErr {
		for _, m := range r.resolved {
			m.used = true
		}
		return false
	}
	r.cp.res.errorf(ErrValidate, it, r.cp.locOf(r.errAt, fallback), "%s", r.errMsg)
	return true
}

func (r *resolver) resolve(e parse.Expr) parse.Expr {
	switch n := e.(type) {
	case *parse.AndExpr:
		for i, c := range n.Children {
			n.Children[i] = r.resolve(c)
		}
	case *parse.OrExpr:
		for i, c := range n.Children {
			n.Children[i] = r.resolve(c)
		}
	case *parse.NotExpr:
		n.Child = r.resolve(n.Child)
	case *parse.Identifier:
		m := r.visible(n.Name)
		if m == nil {
			r.fail("Undefined macro '"+n.Name+"' used in filter.", n.Pos.Offset)
			return e
		}
		for _, p := range r.path {
			if p == n.Name {
				r.fail("reference loop in macro '"+n.Name+"'", n.Pos.Offset)
				return e
			}
		}
		if m.ast == nil {
			r.broken = true
			return e
		}
		top := len(r.path) == 0 && r.topLevel
		if top {
			r.sites = append(r.sites, site{at: n.Pos.Offset, texts: map[int]bool{}})
			r.curSite = &r.sites[len(r.sites)-1]
		}
		r.path = append(r.path, n.Name)
		c := r.clone(m.ast)
		out := c
		if !r.hasErr {
			out = r.resolve(c)
		}
		r.path = r.path[:len(r.path)-1]
		if top {
			r.curSite = nil
		}
		r.resolved = append(r.resolved, m)
		return out
	}
	return e
}

func (r *resolver) count(p parse.Pos) {
	r.nodes++
	if r.nodes > maxExpanded {
		r.fail("condition is too large after macro expansion", p.Offset)
	}
	if r.curSite != nil {
		r.curSite.texts[p.Offset>>textShift] = true
	}
}

// clone deep-copies a condition so that each use of a macro owns its nodes.
func (r *resolver) clone(e parse.Expr) parse.Expr {
	if r.hasErr {
		return e
	}
	r.count(e.Position())
	switch n := e.(type) {
	case *parse.AndExpr:
		c := &parse.AndExpr{Pos: n.Pos, Children: make([]parse.Expr, len(n.Children))}
		for i, ch := range n.Children {
			c.Children[i] = r.clone(ch)
		}
		return c
	case *parse.OrExpr:
		c := &parse.OrExpr{Pos: n.Pos, Children: make([]parse.Expr, len(n.Children))}
		for i, ch := range n.Children {
			c.Children[i] = r.clone(ch)
		}
		return c
	case *parse.NotExpr:
		return &parse.NotExpr{Pos: n.Pos, Child: r.clone(n.Child)}
	case *parse.Identifier:
		c := *n
		return &c
	case *parse.UnaryCheck:
		return &parse.UnaryCheck{Pos: n.Pos, Left: cloneNode(n.Left).(parse.Operand), Op: n.Op}
	case *parse.BinaryCheck:
		c := *n
		c.Left = cloneNode(n.Left).(parse.Operand)
		c.Right = cloneNode(n.Right)
		return &c
	}
	return e
}

func cloneNode(n parse.Node) parse.Node {
	switch n := n.(type) {
	case *parse.FieldExpr:
		c := *n
		return &c
	case *parse.TransformerExpr:
		c := *n
		c.Args = make([]parse.Node, len(n.Args))
		for i, a := range n.Args {
			c.Args[i] = cloneNode(a)
		}
		return &c
	case *parse.ValueExpr:
		c := *n
		return &c
	case *parse.ListExpr:
		c := *n
		c.Values = append([]string(nil), n.Values...)
		return &c
	case *parse.Identifier:
		c := *n
		return &c
	case parse.Expr:
		return (&resolver{}).clone(n)
	}
	return n
}

// rebase adds base to the offset of every node of e.
func rebase(n parse.Node, base int) {
	switch n := n.(type) {
	case *parse.AndExpr:
		n.Pos.Offset += base
		for _, c := range n.Children {
			rebase(c, base)
		}
	case *parse.OrExpr:
		n.Pos.Offset += base
		for _, c := range n.Children {
			rebase(c, base)
		}
	case *parse.NotExpr:
		n.Pos.Offset += base
		rebase(n.Child, base)
	case *parse.Identifier:
		n.Pos.Offset += base
	case *parse.UnaryCheck:
		n.Pos.Offset += base
		rebase(n.Left, base)
	case *parse.BinaryCheck:
		n.Pos.Offset += base
		rebase(n.Left, base)
		if n.Right != nil {
			rebase(n.Right, base)
		}
	case *parse.FieldExpr:
		n.Pos.Offset += base
	case *parse.TransformerExpr:
		n.Pos.Offset += base
		for _, a := range n.Args {
			rebase(a, base)
		}
	case *parse.ValueExpr:
		n.Pos.Offset += base
	case *parse.ListExpr:
		n.Pos.Offset += base
	}
}

const containerInfo = "%container.info"

// isUnknownFilterErr reports whether a compile error is one that
// skip-if-unknown-filter turns into a warning.
func isUnknownFilterErr(msg string) bool {
	for _, s := range []string{"nonexistent field", "invalid formatting token", "unknown event type", "unknown filter:"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (cp *compiler) compileRule(r *ruleInfo) (*engine.Rule, *RuleInfo) {
	res := cp.res
	it := r.it
	cond := r.cond
	info := &RuleInfo{Name: r.name, Condition: r.cond.s, Capture: r.capture, CaptureDuration: r.captureDuration,
		WarnEvttypes: r.warnEvttypes, SkipIfUnknownFilter: r.skipUnknown, File: it.at.file, Line: it.at.line}
	if len(r.exceptions) > 0 {
		exText, err := renderExceptions(r.exceptions)
		if err != nil {
			res.errorf(err.code, it, err.at, "%s", err.msg)
			return nil, nil
		}
		exLoc := r.exceptions[0].at
		cond = join(constText("(", cond.at(0)), cond, constText(")", cond.at(len(cond.s)-1)), constText(exText, exLoc))
		seen := map[string]bool{}
		for _, ex := range r.exceptions {
			fs := []string{ex.fields.item}
			if ex.fields.isList {
				fs = fs[:0]
				for _, f := range ex.fields.items {
					fs = append(fs, f.item)
				}
			}
			for _, f := range fs {
				if !seen[f] {
					seen[f] = true
					info.ExceptionFields = append(info.ExceptionFields, f)
				}
			}
		}
	}

	output := r.output
	outAt := func(off int) loc { return r.outputSrc.at(off) }
	if len(r.outputSrc.s) != len(output) {
		outAt = func(int) loc { return r.outputAt }
	}
	if strings.Contains(output, containerInfo) {
		outAt = func(int) loc { return r.outputAt }
		res.warnf(WarnDeprecatedItem, it, it.at, "%%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. The container plugin will automatically add required fields to the output message.")
		output = strings.ReplaceAll(output, containerInfo, "")
	}
	var extraFields []ExtraField
	for _, x := range cp.extras {
		if !x.Match.matches(r.name, r.source, r.tags) {
			continue
		}
		if x.Text != "" {
			output += " " + x.Text
			outAt = func(int) loc { return r.outputAt }
		}
		if x.Suggested {
			output = appendSuggested(output)
			outAt = func(int) loc { return r.outputAt }
		}
		extraFields = append(extraFields, x.Fields...)
	}
	format, err := engine.CompileOutput(output, cp.reg)
	if err != nil {
		at := r.outputAt
		var ce *engine.CompileError
		if errors.As(err, &ce) {
			at = outAt(ce.Pos.Offset)
		}
		if r.skipUnknown && isUnknownFilterErr(err.Error()) {
			res.warnf(WarnUnknownFilter, it, at, "%s", err.Error())
			return nil, nil
		}
		res.errorf(ErrCompileOutput, it, at, "%s", err.Error())
		return nil, nil
	}
	for _, w := range format.Warnings() {
		code := WarnCompileCondition
		if strings.HasPrefix(w.Msg, "usage of deprecated field") || strings.Contains(w.Msg, "deprecated") {
			code = WarnDeprecatedItem
		}
		res.warnf(code, it, r.outputAt, "%s", w.Msg)
	}

	e, id := cp.parseCondition(cond, it)
	if e == nil {
		return nil, nil
	}
	rv := &resolver{cp: cp, visibility: -1, topLevel: true}
	e = rv.resolve(e)
	if rv.report(it, it.at) || rv.broken {
		return nil, nil
	}
	for _, w := range conditionWarnings(e) {
		res.warnf(w.code, it, cp.warnLoc(w.pos, id, rv.sites, it.at), "%s", w.msg)
	}
	filter, warns, err := engine.Compile(e, cp.reg)
	if err != nil {
		at := it.at
		var ce *engine.CompileError
		if errors.As(err, &ce) {
			at = cp.locOf(ce.Pos.Offset, it.at)
		}
		if r.skipUnknown && isUnknownFilterErr(err.Error()) {
			res.warnf(WarnUnknownFilter, it, at, "%s", err.Error())
			return nil, nil
		}
		res.errorf(ErrCompileCondition, it, at, "%s", err.Error())
		return nil, nil
	}
	for _, w := range warns {
		code := WarnCompileCondition
		if strings.HasPrefix(w.Msg, "usage of deprecated field") {
			code = WarnDeprecatedItem
		}
		res.warnf(code, it, cp.warnLoc(w.Pos.Offset, id, rv.sites, it.at), "%s", w.Msg)
	}
	var extra []engine.OutputField
	for _, f := range extraFields {
		xf, err := engine.CompileOutput(f.Format, cp.reg)
		if err != nil {
			res.errorf(ErrCompileOutput, it, r.outputAt, "extra output field %q: %s", f.Key, err.Error())
			return nil, nil
		}
		extra = append(extra, engine.OutputField{Key: f.Key, Format: xf})
	}
	types := engine.EventTypes(e)
	if r.warnEvttypes && types.Len() > 100 {
		res.warnf(WarnNoEvtType, it, it.at, "Rule matches too many evt.type values. This has a significant performance penalty.")
	}
	tags := append([]string{}, r.tags...)
	return &engine.Rule{
		Name:       r.name,
		Desc:       r.desc,
		Priority:   r.priority,
		Tags:       tags,
		Source:     r.source,
		Enabled:    r.enabled,
		Condition:  e,
		Output:     output,
		EventTypes: types,
		Filter:     filter,
		Format:     format,
		Extra:      extra,
	}, info
}

// warnLoc places a warning: inside the rule's own text where it is, and at
// the macro reference in the rule when it comes from an expanded macro.
func (cp *compiler) warnLoc(off, ruleText int, sites []site, fallback loc) loc {
	id := off >> textShift
	if id != ruleText {
		for _, s := range sites {
			if s.texts[id] {
				return cp.locOf(s.at, fallback)
			}
		}
	}
	return cp.locOf(off, fallback)
}

type condWarning struct {
	code string
	msg  string
	pos  int
}

// conditionWarnings finds comparisons with "<NA>" on ka.* and jevt.* fields
// (Falco's filter_warning_resolver, LOAD_UNSAFE_NA_CHECK) and deprecated
// evt.dir checks. Other fields are checked by engine.Compile.
func conditionWarnings(e parse.Node) []condWarning {
	var out []condWarning
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.AndExpr:
			for _, c := range n.Children {
				walk(c)
			}
		case *parse.OrExpr:
			for _, c := range n.Children {
				walk(c)
			}
		case *parse.NotExpr:
			walk(n.Child)
		case *parse.BinaryCheck:
			f, ok := n.Left.(*parse.FieldExpr)
			if !ok {
				return
			}
			if strings.HasPrefix(f.Name, "ka.") || strings.HasPrefix(f.Name, "jevt.") {
				na := false
				switch rv := n.Right.(type) {
				case *parse.ValueExpr:
					na = rv.Value == "<NA>" && (n.Op == "=" || n.Op == "==" || n.Op == "!=")
				case *parse.ListExpr:
					if n.Op == "in" || n.Op == "intersects" || n.Op == "pmatch" {
						for _, v := range rv.Values {
							na = na || v == "<NA>"
						}
					}
				}
				if na {
					out = append(out, condWarning{code: WarnUnsafeNACheck, pos: n.Pos.Offset,
						msg: "Comparison of '" + f.Name + "' with '<NA>': a missing value never matches, use 'exists' instead"})
				}
			}
		}
	}
	walk(e)
	return out
}

// shareEvaluation recompiles the rules' conditions with one engine.Compiler
// that has seen them all, so that sub-expressions several rules share (the
// expansions of macros such as open_write or spawned_process) are evaluated
// once per event. Every condition compiled once already, so no error can
// occur here; a rule that would fail keeps its first filter.
func shareEvaluation(rules []*engine.Rule, reg *fields.Registry) {
	ec := engine.NewCompiler(reg)
	for _, r := range rules {
		ec.Count(r.Condition)
	}
	for _, r := range rules {
		if f, _, err := ec.Compile(r.Condition); err == nil {
			r.Filter = f
		}
	}
}
