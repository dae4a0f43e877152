package rules

import (
	"sort"

	"github.com/vigilsec/vigil/engine"
)

// entry is an exception's fields, comps or one of its values: a scalar or a
// (possibly nested) list.
type entry struct {
	isList bool
	item   string
	items  []entry
}

// isValid reports whether the entry holds something (Falco's is_valid).
func (e entry) isValid() bool {
	if e.isList {
		return len(e.items) > 0
	}
	return e.item != ""
}

type exceptionInfo struct {
	name   string
	fields entry
	comps  entry
	values []entry
	at     loc
}

type listInfo struct {
	name              string
	items             []string
	index, visibility int
	it                item
}

type macroInfo struct {
	name              string
	cond              text
	index, visibility int
	it                item
}

type ruleInfo struct {
	name            string
	desc            string
	cond            text
	output          string
	outputAt        loc
	outputSrc       text // output with positions
	priority        engine.Priority
	source          string
	tags            []string
	exceptions      []*exceptionInfo
	enabled         bool
	warnEvttypes    bool
	skipUnknown     bool
	capture         bool
	captureDuration uint64
	unknownSource   bool
	index           int
	it              item
}

// ruleUpdate is an append or selective replace of a rule; nil pointers are
// keys the item does not set.
type ruleUpdate struct {
	name            string
	source          string // "" when not given
	cond            *text
	output          *text
	desc            *string
	tags            *[]string
	exceptions      *[]*exceptionInfo
	priority        *engine.Priority
	enabled         *bool
	warnEvttypes    *bool
	skipUnknown     *bool
	capture         *bool
	captureDuration *uint64
	it              item
}

func (u *ruleUpdate) hasAnyValue() bool {
	return u.cond != nil || u.output != nil || u.desc != nil || u.tags != nil || u.exceptions != nil ||
		u.priority != nil || u.enabled != nil || u.warnEvttypes != nil || u.skipUnknown != nil ||
		u.capture != nil || u.captureDuration != nil
}

// collector accumulates the items of every file in order, applying
// redefinitions, appends and overrides (Falco's rule_loader::collector).
type collector struct {
	cur int

	lists  []*listInfo
	macros []*macroInfo
	rules  []*ruleInfo

	listByName  map[string]*listInfo
	macroByName map[string]*macroInfo
	ruleByName  map[string]*ruleInfo

	// failed records items whose definition was rejected, so that later
	// appends to them do not report a second, misleading error.
	failed map[string]bool

	engineVersion string
	plugins       [][]PluginRequirement
	pluginLocs    []loc

	// fieldOK reports whether an exception field is a valid left side.
	fieldOK func(string) bool
}

func newCollector(fieldOK func(string) bool) *collector {
	return &collector{
		listByName:  map[string]*listInfo{},
		macroByName: map[string]*macroInfo{},
		ruleByName:  map[string]*ruleInfo{},
		failed:      map[string]bool{},
		fieldOK:     fieldOK,
	}
}

func failKey(typ, name string) string { return typ + "\x00" + name }

func (c *collector) defineList(l *listInfo) {
	id := c.cur
	c.cur++
	delete(c.failed, failKey(ItemList, l.name))
	if prev := c.listByName[l.name]; prev != nil {
		l.index = prev.index
		l.visibility = id
		*prev = *l
		return
	}
	l.index, l.visibility = id, id
	c.lists = append(c.lists, l)
	c.listByName[l.name] = l
}

func (c *collector) appendList(l *listInfo) *itemErr {
	prev := c.listByName[l.name]
	if prev == nil {
		if c.failed[failKey(ItemList, l.name)] {
			return nil
		}
		return &itemErr{code: ErrValidate, msg: "List uses 'append' or 'override.items: append' but no list by that name already exists", at: l.it.at}
	}
	prev.items = append(prev.items, l.items...)
	prev.visibility = c.cur
	c.cur++
	return nil
}

func (c *collector) defineMacro(m *macroInfo) {
	id := c.cur
	c.cur++
	delete(c.failed, failKey(ItemMacro, m.name))
	if prev := c.macroByName[m.name]; prev != nil {
		m.index = prev.index
		m.visibility = id
		*prev = *m
		return
	}
	m.index, m.visibility = id, id
	c.macros = append(c.macros, m)
	c.macroByName[m.name] = m
}

func (c *collector) appendMacro(m *macroInfo) *itemErr {
	prev := c.macroByName[m.name]
	if prev == nil {
		if c.failed[failKey(ItemMacro, m.name)] {
			return nil
		}
		return &itemErr{code: ErrValidate, msg: "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists", at: m.it.at}
	}
	prev.cond = join(prev.cond, constText(" ", m.cond.at(0)), m.cond)
	prev.visibility = c.cur
	c.cur++
	return nil
}

func (c *collector) defineRule(r *ruleInfo, res *Result) *itemErr {
	prev := c.ruleByName[r.name]
	if prev != nil && prev.source != r.source {
		return &itemErr{code: ErrValidate, msg: "Rule has been re-defined with a different source", at: r.it.at}
	}
	if r.source != SourceSyscall {
		r.unknownSource = true
		res.warnf(WarnUnknownSource, r.it, r.it.at, "Unknown source %s, skipping", r.source)
	}
	for _, ex := range r.exceptions {
		if !ex.fields.isValid() {
			return &itemErr{code: ErrValidate, msg: "Rule exception item must have fields property with a list of fields", at: ex.at}
		}
		if err := c.validateException(!r.unknownSource, ex); err != nil {
			return err
		}
	}
	delete(c.failed, failKey(ItemRule, r.name))
	id := c.cur
	c.cur++
	if prev != nil {
		r.index = prev.index
		*prev = *r
		return nil
	}
	r.index = id
	c.rules = append(c.rules, r)
	c.ruleByName[r.name] = r
	return nil
}

func (c *collector) updateTarget(u *ruleUpdate, noPrev string) (*ruleInfo, *itemErr) {
	prev := c.ruleByName[u.name]
	if prev == nil {
		if c.failed[failKey(ItemRule, u.name)] {
			return nil, nil
		}
		return nil, &itemErr{code: ErrValidate, msg: noPrev, at: u.it.at}
	}
	if u.source != "" && u.source != prev.source {
		return nil, &itemErr{code: ErrValidate, msg: "Rule has been re-defined with a different source", at: u.it.at}
	}
	return prev, nil
}

func (c *collector) appendRule(u *ruleUpdate) *itemErr {
	prev, err := c.updateTarget(u, "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists")
	if prev == nil {
		return err
	}
	if !u.hasAnyValue() {
		return &itemErr{code: ErrValidate, msg: "Appended rule must have exceptions or condition property", at: u.it.at}
	}
	if u.cond != nil && u.cond.s != "" {
		prev.cond = join(prev.cond, constText(" ", u.cond.at(0)), *u.cond)
	}
	if u.output != nil && u.output.s != "" {
		prev.output += " " + u.output.s
		prev.outputSrc = join(prev.outputSrc, constText(" ", u.output.at(0)), *u.output)
	}
	if u.desc != nil && *u.desc != "" {
		prev.desc += " " + *u.desc
	}
	if u.tags != nil {
		prev.tags = tagSet(append(append([]string(nil), prev.tags...), *u.tags...))
	}
	if u.exceptions != nil {
		for _, ex := range *u.exceptions {
			var pex *exceptionInfo
			for _, e := range prev.exceptions {
				if e.name == ex.name {
					pex = e
					break
				}
			}
			if pex == nil {
				if !ex.fields.isValid() {
					return &itemErr{code: ErrValidate, msg: "Rule exception must have fields property with a list of fields", at: ex.at}
				}
				if len(ex.values) == 0 {
					return &itemErr{code: ErrValidate, msg: "Rule exception must have values property with a list of values", at: ex.at}
				}
				if err := c.validateException(!prev.unknownSource, ex); err != nil {
					return err
				}
				prev.exceptions = append(prev.exceptions, ex)
				continue
			}
			if ex.fields.isValid() {
				return &itemErr{code: ErrValidate, msg: "Can not append exception fields to existing exception, only values", at: ex.at}
			}
			if ex.comps.isValid() {
				return &itemErr{code: ErrValidate, msg: "Can not append exception comps to existing exception, only values", at: ex.at}
			}
			pex.values = append(pex.values, ex.values...)
		}
	}
	c.cur++
	return nil
}

func (c *collector) replaceRule(u *ruleUpdate) *itemErr {
	prev, err := c.updateTarget(u, "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists")
	if prev == nil {
		return err
	}
	if !u.hasAnyValue() {
		return &itemErr{code: ErrValidate, msg: "The rule must have at least one field that can be replaced", at: u.it.at}
	}
	if u.exceptions != nil {
		for _, ex := range *u.exceptions {
			if err := c.validateException(!prev.unknownSource, ex); err != nil {
				return err
			}
		}
		prev.exceptions = *u.exceptions
	}
	if u.cond != nil {
		prev.cond = *u.cond
	}
	if u.output != nil {
		prev.output = u.output.s
		prev.outputSrc = *u.output
	}
	if u.desc != nil {
		prev.desc = *u.desc
	}
	if u.tags != nil {
		prev.tags = *u.tags
	}
	if u.priority != nil {
		prev.priority = *u.priority
	}
	if u.enabled != nil {
		prev.enabled = *u.enabled
	}
	if u.warnEvttypes != nil {
		prev.warnEvttypes = *u.warnEvttypes
	}
	if u.skipUnknown != nil {
		prev.skipUnknown = *u.skipUnknown
	}
	if u.capture != nil {
		prev.capture = *u.capture
	}
	if u.captureDuration != nil {
		prev.captureDuration = *u.captureDuration
	}
	c.cur++
	return nil
}

func (c *collector) enableRule(name string, enabled bool, it item) *itemErr {
	prev := c.ruleByName[name]
	if prev == nil {
		if c.failed[failKey(ItemRule, name)] {
			return nil
		}
		return &itemErr{code: ErrValidate, msg: "Rule has 'enabled' key but no rule by that name already exists", at: it.at}
	}
	prev.enabled = enabled
	return nil
}

// tagSet sorts and deduplicates tags (Falco keeps them in a std::set).
func tagSet(tags []string) []string {
	if len(tags) == 0 {
		return []string{}
	}
	sort.Strings(tags)
	out := tags[:1]
	for _, t := range tags[1:] {
		if t != out[len(out)-1] {
			out = append(out, t)
		}
	}
	return out
}
