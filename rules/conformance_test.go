package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

// Falco's rule-loader unit tests as data (see ../shared/conformance).

type confIndex struct {
	Cases []struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
	} `json:"cases"`
}

type confCase struct {
	ID    string     `json:"id"`
	Kind  string     `json:"kind"`
	Steps []confStep `json:"steps"`
}

type confStep struct {
	Op                 string            `json:"op"`
	Filename           string            `json:"filename"`
	Rules              *string           `json:"rules"`
	Expect             json.RawMessage   `json:"expect"`
	Pattern            string            `json:"pattern"`
	Enabled            bool              `json:"enabled"`
	Ruleset            string            `json:"ruleset"`
	Tags               []string          `json:"tags"`
	ExpectEnabledRules map[string]int    `json:"expect_enabled_rules"`
	LoadedPlugins      []Plugin          `json:"loaded_plugins"`
	MinPriority        string            `json:"min_priority"`
	Match              string            `json:"match"`
	ExpectEnabledCount *int              `json:"expect_enabled_count"`
	MessageMacros      map[string]string `json:"message_macros"`
	Format             string            `json:"format"`
	Source             string            `json:"source"`
	Rule               string            `json:"rule"`
	Key                string            `json:"key"`
}

type confExpect struct {
	Success                  *bool                        `json:"success"`
	ErrorsContain            []string                     `json:"errors_contain"`
	WarningsContain          []string                     `json:"warnings_contain"`
	ErrorsNotContain         []string                     `json:"errors_not_contain"`
	WarningsNotContain       []string                     `json:"warnings_not_contain"`
	HasWarnings              *bool                        `json:"has_warnings"`
	CompiledCondition        map[string]string            `json:"compiled_condition"`
	CompiledOutputNotContain map[string][]string          `json:"compiled_output_not_contains"`
	CompiledOutput           map[string]string            `json:"compiled_output"`
	ExtraFields              map[string]map[string]string `json:"extra_output_formatted_fields"`
	EnabledRules             map[string]int               `json:"enabled_rules"`
	DescribeRule             []describeCheck              `json:"describe_rule"`
	LoadResultJSON           []describeCheck              `json:"load_result_json"`
	WarningSnippetCheck      *struct {
		Select struct {
			SnippetContains string `json:"snippet_contains"`
			Code            string `json:"code"`
		} `json:"select"`
		SnippetContains    []string `json:"snippet_contains"`
		SnippetNotContains []string `json:"snippet_not_contains"`
	} `json:"warning_snippet_check"`
	CompileOutput *struct {
		Lists, Macros, Rules []string
	} `json:"compile_output"`
	Satisfied *bool `json:"satisfied"`
}

type describeCheck struct {
	Rule  *string `json:"rule"`
	Path  []any   `json:"path"`
	Check string  `json:"check"`
	Value any     `json:"value"`
}

// confState is the fixture engine of one case.
type confState struct {
	t        *testing.T
	rs       *Ruleset
	res      *Result
	file     File
	rulesets map[string]map[string]bool // non-default rulesets: rule -> enabled
	extras   []ExtraOutput              // add_extra_output* steps, applied to later loads
	skipped  []string                   // checks that were not run, with reasons
}

func conformanceDir(t *testing.T) string {
	dir := os.Getenv("VIGIL_FALCO_CONFORMANCE_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_CONFORMANCE_DIR is not set")
	}
	d := filepath.Join(dir, "rule_loader_cases")
	if _, err := os.Stat(filepath.Join(d, "index.json")); err != nil {
		t.Fatalf("VIGIL_FALCO_CONFORMANCE_DIR=%s: %v", dir, err)
	}
	return d
}

func TestFalcoRuleLoaderConformance(t *testing.T) {
	dir := conformanceDir(t)
	var idx confIndex
	readJSON(t, filepath.Join(dir, "index.json"), &idx)
	if len(idx.Cases) == 0 {
		t.Fatal("no cases in index.json")
	}
	type tally struct{ pass, skip, fail int }
	kinds := map[string]*tally{}
	var skippedCases, failedCases []string
	for _, ic := range idx.Cases {
		var cs confCase
		readJSON(t, filepath.Join(dir, ic.ID+".json"), &cs)
		k := kinds[cs.Kind]
		if k == nil {
			k = &tally{}
			kinds[cs.Kind] = k
		}
		var skipReason string
		ok := t.Run(ic.ID, func(t *testing.T) {
			if reason := unsupportedCase(&cs); reason != "" {
				skipReason = reason
				t.Skip(reason)
			}
			st := &confState{t: t, rulesets: map[string]map[string]bool{}}
			for i, step := range cs.Steps {
				st.run(i, step)
			}
			for _, s := range st.skipped {
				t.Logf("check not run: %s", s)
			}
		})
		switch {
		case skipReason != "":
			k.skip++
			skippedCases = append(skippedCases, ic.ID+" ("+skipReason+")")
		case ok:
			k.pass++
		default:
			k.fail++
			failedCases = append(failedCases, ic.ID)
		}
	}
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := kinds[n]
		t.Logf("%-28s pass %3d  skip %2d  fail %2d", n, k.pass, k.skip, k.fail)
	}
	for _, s := range skippedCases {
		t.Logf("skipped: %s", s)
	}
	for _, s := range failedCases {
		t.Logf("failed: %s", s)
	}
}

// unsupportedCase returns why a case cannot run against package rules, or "".
func unsupportedCase(cs *confCase) string {
	if cs.Kind == "condition_details" {
		return "Falco's filter_details_resolver introspection (describe JSON) has no counterpart in package rules"
	}
	return ""
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func (st *confState) run(i int, s confStep) {
	t := st.t
	var ex confExpect
	if len(s.Expect) > 0 {
		if err := json.Unmarshal(s.Expect, &ex); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	switch s.Op {
	case "load_rules":
		if s.Rules == nil {
			t.Fatalf("step %d: no rules", i)
		}
		st.file = File{Name: s.Filename, Data: []byte(*s.Rules)}
		st.rs, st.res = LoadFiles([]File{st.file}, &Options{ExtraOutputs: st.extras})
		for _, m := range st.res.Errors {
			t.Logf("error: %s [%s]", m, m.Code)
		}
		for _, m := range st.res.Warnings {
			t.Logf("warning: %s [%s]", m, m.Code)
		}
		st.checkLoad(ex)
	case "add_extra_output_format":
		st.extras = append(st.extras, ExtraOutput{Match: OutputMatch{Source: s.Source, Tags: s.Tags, Rule: s.Rule}, Text: s.Format})
	case "add_extra_output_formatted_field":
		st.extras = append(st.extras, ExtraOutput{Match: OutputMatch{Source: s.Source, Tags: s.Tags, Rule: s.Rule},
			Fields: []ExtraField{{Key: s.Key, Format: s.Format}}})
	case "enable_rule", "enable_rule_exact", "enable_rule_wildcard":
		how := map[string]Match{"enable_rule": MatchSubstring, "enable_rule_exact": MatchExact, "enable_rule_wildcard": MatchWildcard}[s.Op]
		st.enable(s.Ruleset, st.rs.Select(s.Pattern, how), s.Enabled)
		st.checkEnabled(s.ExpectEnabledRules)
	case "enable_rule_by_tag":
		st.enable(s.Ruleset, st.rs.SelectByTag(s.Tags...), s.Enabled)
		st.checkEnabled(s.ExpectEnabledRules)
	case "check_plugin_requirements":
		satisfied := st.res.OK() && len(st.rs.CheckPlugins(s.LoadedPlugins)) == 0
		if ex.Satisfied != nil && satisfied != *ex.Satisfied {
			t.Errorf("plugin requirements satisfied = %v, want %v (errors %v)", satisfied, *ex.Satisfied, st.rs.CheckPlugins(s.LoadedPlugins))
		}
	case "ruleset_add_compile_output":
		minPrio, err := engine.ParsePriority(s.MinPriority)
		if err != nil {
			t.Fatal(err)
		}
		rs := map[string]bool{}
		for _, r := range st.rs.Rules {
			if r.Priority <= minPrio {
				rs[r.Name] = false
			}
		}
		st.rulesets["compile-output"] = rs
	case "ruleset_enable":
		rs := st.rulesets["compile-output"]
		n := 0
		for _, r := range st.rs.Select(s.Pattern, MatchSubstring) {
			if _, ok := rs[r.Name]; ok {
				rs[r.Name] = true
			}
		}
		for _, on := range rs {
			if on {
				n++
			}
		}
		if s.ExpectEnabledCount != nil && n != *s.ExpectEnabledCount {
			t.Errorf("enabled count = %d, want %d", n, *s.ExpectEnabledCount)
		}
	default:
		t.Fatalf("step %d: unknown op %q", i, s.Op)
	}
}

const defaultRuleset = "falco-default-ruleset"

func (st *confState) enable(ruleset string, sel []*engine.Rule, on bool) {
	if ruleset == defaultRuleset {
		for _, r := range sel {
			r.Enabled = on
		}
		return
	}
	m := st.rulesets[ruleset]
	if m == nil {
		m = map[string]bool{}
		st.rulesets[ruleset] = m
	}
	for _, r := range sel {
		m[r.Name] = on
	}
}

func (st *confState) enabledCount(ruleset string) int {
	n := 0
	if ruleset == defaultRuleset {
		return len(st.rs.Enabled())
	}
	for _, on := range st.rulesets[ruleset] {
		if on {
			n++
		}
	}
	return n
}

func (st *confState) checkEnabled(want map[string]int) {
	for rs, n := range want {
		if got := st.enabledCount(rs); got != n {
			st.t.Errorf("enabled rules in %s = %d, want %d", rs, got, n)
		}
	}
}

func anyContains(ms []Message, frag string) bool {
	for _, m := range ms {
		if strings.Contains(m.Message, frag) {
			return true
		}
	}
	return false
}

func (st *confState) checkLoad(ex confExpect) {
	t, res, rs := st.t, st.res, st.rs
	if ex.Success != nil && res.OK() != *ex.Success {
		t.Errorf("success = %v, want %v", res.OK(), *ex.Success)
	}
	for _, f := range ex.ErrorsContain {
		if !anyContains(res.Errors, f) {
			t.Errorf("no error contains %q", f)
		}
	}
	for _, f := range ex.ErrorsNotContain {
		if anyContains(res.Errors, f) {
			t.Errorf("an error contains %q", f)
		}
	}
	for _, f := range ex.WarningsContain {
		if !anyContains(res.Warnings, f) {
			t.Errorf("no warning contains %q", f)
		}
	}
	for _, f := range ex.WarningsNotContain {
		if anyContains(res.Warnings, f) {
			t.Errorf("a warning contains %q", f)
		}
	}
	if ex.HasWarnings != nil && (len(res.Warnings) > 0) != *ex.HasWarnings {
		t.Errorf("has warnings = %v, want %v", len(res.Warnings) > 0, *ex.HasWarnings)
	}
	for name, want := range ex.CompiledCondition {
		r := rs.Rule(name)
		if r == nil {
			t.Errorf("rule %q not loaded", name)
			continue
		}
		if got := r.Condition.String(); got != want {
			t.Errorf("compiled condition of %q:\n got %s\nwant %s", name, got, want)
		}
	}
	for name, want := range ex.CompiledOutput {
		if r := rs.Rule(name); r == nil {
			t.Errorf("rule %q not loaded", name)
		} else if r.Output != want {
			t.Errorf("compiled output of %q:\n got %s\nwant %s", name, r.Output, want)
		}
	}
	for name, want := range ex.ExtraFields {
		r := rs.Rule(name)
		if r == nil {
			t.Errorf("rule %q not loaded", name)
			continue
		}
		got := map[string]string{}
		for _, f := range r.Extra {
			got[f.Key] = f.Format.String()
		}
		if !maps.Equal(got, want) {
			t.Errorf("extra output fields of %q: got %v, want %v", name, got, want)
		}
	}
	for name, frags := range ex.CompiledOutputNotContain {
		r := rs.Rule(name)
		if r == nil {
			t.Errorf("rule %q not loaded", name)
			continue
		}
		for _, f := range frags {
			if strings.Contains(r.Output, f) {
				t.Errorf("output of %q contains %q: %s", name, f, r.Output)
			}
		}
	}
	if ex.EnabledRules != nil {
		st.checkEnabled(ex.EnabledRules)
	}
	for _, c := range ex.DescribeRule {
		st.describe(c)
	}
	for _, c := range ex.LoadResultJSON {
		st.loadResultJSON(c)
	}
	if w := ex.WarningSnippetCheck; w != nil {
		var sel *Message
		for i, m := range res.Warnings {
			if (w.Select.Code != "" && m.Code == w.Select.Code) ||
				(w.Select.SnippetContains != "" && strings.Contains(st.sourceLine(m), w.Select.SnippetContains)) {
				sel = &res.Warnings[i]
				break
			}
		}
		if sel == nil {
			t.Errorf("no warning selected by %+v", w.Select)
		} else {
			line := st.sourceLine(*sel)
			for _, f := range w.SnippetContains {
				if !strings.Contains(line, f) {
					t.Errorf("warning %s: source line %q does not contain %q", sel, line, f)
				}
			}
			for _, f := range w.SnippetNotContains {
				if strings.Contains(line, f) {
					t.Errorf("warning %s: source line %q contains %q", sel, line, f)
				}
			}
		}
	}
	if co := ex.CompileOutput; co != nil {
		var lists, macros, rules []string
		for _, l := range rs.Lists {
			lists = append(lists, l.Name)
		}
		for _, m := range rs.Macros {
			macros = append(macros, m.Name)
		}
		for _, r := range rs.Rules {
			rules = append(rules, r.Name)
		}
		for _, c := range []struct {
			what      string
			got, want []string
		}{{"lists", lists, co.Lists}, {"macros", macros, co.Macros}, {"rules", rules, co.Rules}} {
			if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
				t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
			}
		}
	}
}

// sourceLine returns the line of the loaded file a message points at: our
// counterpart of the snippet in Falco's load-result context.
func (st *confState) sourceLine(m Message) string {
	lines := strings.Split(string(st.file.Data), "\n")
	if m.Line < 1 || m.Line > len(lines) {
		return ""
	}
	return lines[m.Line-1]
}

// describe adapts a check on Falco's describe JSON to the Ruleset.
func (st *confState) describe(c describeCheck) {
	t := st.t
	path := fmt.Sprint(c.Path...)
	var got any
	switch {
	case c.Rule != nil && len(c.Path) == 4 && c.Path[0] == "rules" && c.Path[2] == "info":
		r, info := st.rs.Rule(*c.Rule), st.rs.Info(*c.Rule)
		if r == nil || info == nil {
			t.Errorf("rule %q not loaded", *c.Rule)
			return
		}
		switch c.Path[3] {
		case "condition":
			got = info.Condition
		case "output":
			got = r.Output
		case "description":
			got = r.Desc
		case "priority":
			got = r.Priority.String()
		case "capture":
			got = info.Capture
		case "capture_duration":
			got = float64(info.CaptureDuration)
		}
	case c.Check == "size" && len(c.Path) == 1:
		switch c.Path[0] {
		case "rules":
			got = float64(len(st.rs.Rules))
		case "macros":
			got = float64(len(st.rs.Macros))
		case "lists":
			got = float64(len(st.rs.Lists))
		}
	case len(c.Path) >= 4 && c.Path[0] == "lists" && c.Path[2] == "details":
		i := int(c.Path[1].(float64))
		if i >= len(st.rs.Lists) {
			t.Errorf("list %d not loaded", i)
			return
		}
		l := st.rs.Lists[i]
		switch c.Path[3] {
		case "items_compiled":
			if len(c.Path) == 4 {
				got = float64(len(l.Items))
			} else if j := int(c.Path[4].(float64)); j < len(l.Items) {
				got = l.Items[j]
			}
		case "lists":
			n := 0
			for _, it := range st.rs.Lists {
				for _, x := range st.listRefs(l) {
					if x == it.Name {
						n++
					}
				}
			}
			got = float64(n)
		}
	}
	if got == nil {
		st.skipped = append(st.skipped, "describe "+path+" (no counterpart)")
		return
	}
	if fmt.Sprint(got) != fmt.Sprint(c.Value) {
		t.Errorf("describe %s = %v, want %v", path, got, c.Value)
	}
}

// listRefs returns the list names a list's raw items refer to (none once
// expanded: Falco reports the lists a list uses; we have only the expanded
// items, which never name a visible list).
func (st *confState) listRefs(l *List) []string { return nil }

// loadResultJSON adapts checks on Falco's load-result JSON: the snippet of
// the first error is checked against the source line the error points at.
func (st *confState) loadResultJSON(c describeCheck) {
	if len(c.Path) == 4 && c.Path[0] == "errors" && c.Path[2] == "context" && c.Path[3] == "snippet" {
		i := int(c.Path[1].(float64))
		if i >= len(st.res.Errors) {
			st.t.Errorf("no error %d", i)
			return
		}
		line := st.sourceLine(st.res.Errors[i])
		if want := fmt.Sprint(c.Value); !strings.Contains(line, want) {
			st.t.Errorf("error %s points at %q, want a line containing %q", st.res.Errors[i], line, want)
		}
		return
	}
	st.skipped = append(st.skipped, fmt.Sprint("load result ", c.Path))
}

func TestFalcoConditionWarningCases(t *testing.T) {
	dir := conformanceDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "condition_warning_cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pass := 0
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, line := range lines {
		var c struct {
			Cond  string `json:"cond"`
			Warns bool   `json:"warns"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		e, err := parse.Parse(c.Cond)
		if err != nil {
			t.Errorf("%q: %v", c.Cond, err)
			continue
		}
		warns := len(conditionWarnings(e)) > 0
		if _, ws, err := engine.Compile(e, fields.Default()); err == nil {
			for _, w := range ws {
				warns = warns || strings.Contains(w.Msg, "deprecated")
			}
		}
		if warns != c.Warns {
			t.Errorf("%q: warns = %v, want %v", c.Cond, warns, c.Warns)
			continue
		}
		pass++
	}
	t.Logf("condition warning cases: pass %d/%d", pass, len(lines))
}
