package rules

import (
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/engine/parse"
)

// Ruleset is the outcome of loading rules files: the compiled rules, in
// the order they were first defined, and the lists, macros and
// requirements they came with.
type Ruleset struct {
	// Rules are the compiled syscall rules. Rules of other sources are
	// skipped (LOAD_UNKNOWN_SOURCE), and so are rules that failed to load.
	Rules []*engine.Rule
	// Macros and Lists are every macro and list, expanded.
	Macros []*Macro
	Lists  []*List
	// RequiredEngineVersion is the highest required_engine_version of the
	// files ("" when none asked for one).
	RequiredEngineVersion string
	// RequiredPlugins are the required_plugin_versions entries: each one
	// is satisfied by any of its alternatives.
	RequiredPlugins [][]PluginRequirement

	info map[string]*RuleInfo
}

// Macro is a loaded macro.
type Macro struct {
	Name string
	// Condition is the text after appends, before list substitution.
	Condition string
	// Expr is the condition with lists and macros expanded; nil when it
	// failed to load.
	Expr parse.Expr
	// Used reports whether a rule or macro refers to it.
	Used bool
	File string
	Line int
}

// List is a loaded list.
type List struct {
	Name string
	// Items are the items with list references expanded.
	Items []string
	Used  bool
	File  string
	Line  int
}

// RuleInfo holds what Falco records about a rule beyond engine.Rule.
type RuleInfo struct {
	Name string
	// Condition is the condition text after appends and overrides, before
	// lists, macros and exceptions are expanded.
	Condition string
	// ExceptionFields are the fields the rule's exceptions test.
	ExceptionFields     []string
	Capture             bool
	CaptureDuration     uint64 // milliseconds; 0 = Falco's default
	WarnEvttypes        bool
	SkipIfUnknownFilter bool
	File                string
	Line                int
}

// Info returns the extra information about the named rule, or nil.
func (rs *Ruleset) Info(name string) *RuleInfo { return rs.info[name] }

// Rule returns the named rule, or nil.
func (rs *Ruleset) Rule(name string) *engine.Rule {
	for _, r := range rs.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Match says how a pattern selects rules by name.
type Match int

// Name matching modes, as Falco's enable_rule, enable_rule_exact and
// enable_rule_wildcard use them.
const (
	// MatchSubstring selects rules whose name contains the pattern; the
	// empty pattern selects every rule.
	MatchSubstring Match = iota
	// MatchExact selects the rule with exactly that name; the empty
	// pattern selects every rule.
	MatchExact
	// MatchWildcard selects rules whose whole name matches a pattern
	// where '*' stands for any sequence of characters.
	MatchWildcard
)

// Select returns the rules whose name matches pattern.
func (rs *Ruleset) Select(pattern string, how Match) []*engine.Rule {
	var out []*engine.Rule
	for _, r := range rs.Rules {
		if matchName(r.Name, pattern, how) {
			out = append(out, r)
		}
	}
	return out
}

// SelectByTag returns the rules that carry at least one of tags.
func (rs *Ruleset) SelectByTag(tags ...string) []*engine.Rule {
	var out []*engine.Rule
	for _, r := range rs.Rules {
		if hasAnyTag(r, tags) {
			out = append(out, r)
		}
	}
	return out
}

// SetEnabled enables or disables the rules whose name matches pattern and
// returns how many it changed or confirmed.
func (rs *Ruleset) SetEnabled(pattern string, how Match, enabled bool) int {
	sel := rs.Select(pattern, how)
	for _, r := range sel {
		r.Enabled = enabled
	}
	return len(sel)
}

// SetEnabledByTag enables or disables the rules carrying any of tags and
// returns how many it selected.
func (rs *Ruleset) SetEnabledByTag(enabled bool, tags ...string) int {
	sel := rs.SelectByTag(tags...)
	for _, r := range sel {
		r.Enabled = enabled
	}
	return len(sel)
}

// Enabled returns the enabled rules in load order.
func (rs *Ruleset) Enabled() []*engine.Rule {
	var out []*engine.Rule
	for _, r := range rs.Rules {
		if r.Enabled {
			out = append(out, r)
		}
	}
	return out
}

func hasAnyTag(r *engine.Rule, tags []string) bool {
	for _, t := range r.Tags {
		for _, w := range tags {
			if t == w {
				return true
			}
		}
	}
	return false
}

func matchName(name, pattern string, how Match) bool {
	switch how {
	case MatchExact:
		return pattern == "" || name == pattern
	case MatchWildcard:
		return wildcard(pattern, name)
	default:
		return len(pattern) == 0 || containsStr(name, pattern)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// wildcard matches name against a pattern in which only '*' is special.
func wildcard(pattern, name string) bool {
	p, s := 0, 0
	star, mark := -1, 0
	for s < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, s
			p++
		case p < len(pattern) && pattern[p] == name[s]:
			p++
			s++
		case star >= 0:
			p = star + 1
			mark++
			s = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
