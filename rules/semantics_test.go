package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t *testing.T, files ...string) (*Ruleset, *Result) {
	t.Helper()
	var fs []File
	for i, f := range files {
		fs = append(fs, File{Name: string(rune('a'+i)) + ".yaml", Data: []byte(f)})
	}
	rs, res := LoadFiles(fs, nil)
	for _, m := range res.Errors {
		t.Logf("error: %s [%s]", m, m.Code)
	}
	for _, m := range res.Warnings {
		t.Logf("warning: %s [%s]", m, m.Code)
	}
	return rs, res
}

func mustLoad(t *testing.T, files ...string) (*Ruleset, *Result) {
	t.Helper()
	rs, res := load(t, files...)
	if !res.OK() {
		t.Fatalf("load failed: %v", res.Err())
	}
	return rs, res
}

func cond(t *testing.T, rs *Ruleset, rule string) string {
	t.Helper()
	r := rs.Rule(rule)
	if r == nil {
		t.Fatalf("no rule %q", rule)
	}
	return r.Condition.String()
}

func hasCode(ms []Message, code string) bool {
	for _, m := range ms {
		if m.Code == code {
			return true
		}
	}
	return false
}

// findMsg returns the first message containing frag.
func findMsg(t *testing.T, ms []Message, frag string) Message {
	t.Helper()
	for _, m := range ms {
		if strings.Contains(m.Message, frag) {
			return m
		}
	}
	t.Fatalf("no message contains %q", frag)
	return Message{}
}

func rule(name, cond string, extra ...string) string {
	s := "- rule: " + name + "\n  desc: d\n  condition: " + cond + "\n  output: out %proc.name\n  priority: WARNING\n"
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

func TestLegacyAppend(t *testing.T) {
	rs, res := mustLoad(t, `
- list: shells
  items: [bash, sh]
- list: shells
  items: [zsh]
  append: true
- macro: opened
  condition: evt.type = open
- macro: opened
  condition: or evt.type = openat
  append: true
`+rule("r", "opened and proc.name in (shells)")+`
- rule: r
  condition: and proc.pid > 1
  append: true
`)
	want := "((evt.type = open or evt.type = openat) and proc.name in (bash, sh, zsh) and proc.pid > 1)"
	if got := cond(t, rs, "r"); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if !hasCode(res.Warnings, WarnDeprecatedItem) {
		t.Error("no deprecation warning for append: true")
	}
}

func TestOverrideAppendReplace(t *testing.T) {
	rs, _ := mustLoad(t, rule("r", "evt.type = open", "tags: [a, b]"), `
- rule: r
  desc: more
  condition: and proc.name = cat
  output: extra=%fd.name
  tags: [c, a]
  priority: ERROR
  enabled: false
  override:
    desc: append
    condition: append
    output: append
    tags: append
    priority: replace
    enabled: replace
`)
	r := rs.Rule("r")
	if got, want := r.Condition.String(), "(evt.type = open and proc.name = cat)"; got != want {
		t.Errorf("condition %s, want %s", got, want)
	}
	if r.Desc != "d more" || r.Output != "out %proc.name extra=%fd.name" {
		t.Errorf("desc %q output %q", r.Desc, r.Output)
	}
	if strings.Join(r.Tags, ",") != "a,b,c" {
		t.Errorf("tags %v", r.Tags)
	}
	if r.Priority.String() != "Error" || r.Enabled {
		t.Errorf("priority %v enabled %v", r.Priority, r.Enabled)
	}

	rs, _ = mustLoad(t, rule("r", "evt.type = open", "tags: [a]"), `
- rule: r
  condition: evt.type = close
  tags: [z]
  override:
    condition: replace
    tags: replace
`)
	if got := cond(t, rs, "r"); got != "evt.type = close" {
		t.Errorf("replaced condition %s", got)
	}
	if tags := rs.Rule("r").Tags; strings.Join(tags, ",") != "z" {
		t.Errorf("replaced tags %v", tags)
	}
}

// TestLoadErrors checks that each kind of bad input gives a clear error
// pointing at the right file:line:col.
func TestLoadErrors(t *testing.T) {
	base := rule("r", "evt.type = open")
	cases := []struct {
		name      string
		files     []string
		frag      string
		code      string
		file      string
		line, col int
	}{
		{"malformed yaml", []string{"- rule: x\n  desc: a: b\n"}, "mapping values are not allowed", ErrYAMLParse, "a.yaml", 2, 1},
		{"not a sequence", []string{"rule: x\n"}, "Rules content is not yaml array of objects", ErrYAMLValidate, "a.yaml", 1, 1},
		{"item not a map", []string{"- just a string\n"}, "Unexpected element type", ErrYAMLValidate, "a.yaml", 1, 3},
		{"missing key", []string{"- rule: x\n  desc: d\n  output: o\n  priority: INFO\n"}, "Item has no mapping for key 'condition'", ErrYAMLValidate, "a.yaml", 1, 3},
		{"bad priority", []string{"- rule: x\n  desc: d\n  condition: evt.type = open\n  output: o\n  priority: SEVERE\n"}, "Invalid priority", ErrYAMLValidate, "a.yaml", 5, 13},
		{"bad bool", []string{rule("x", "evt.type = open", "enabled: maybe")}, "Can't decode YAML scalar value", ErrYAMLValidate, "a.yaml", 6, 12},
		{"unknown field", []string{rule("x", "evt.type = open and proc.nope = x")}, "nonexistent field proc.nope", ErrCompileCondition, "a.yaml", 3, 34},
		{"undefined macro", []string{rule("x", "evt.type = open and not known_good")}, "Undefined macro 'known_good' used in filter.", ErrValidate, "a.yaml", 3, 38},
		{"type error", []string{rule("x", "evt.type = open and proc.pid = abc")}, "abc", ErrCompileCondition, "a.yaml", 3, 45},
		{"bad regex", []string{rule("x", "evt.type = open and proc.name regex 'a(b'")}, "regex", ErrCompileCondition, "a.yaml", 3, 50},
		{"bad cidr", []string{rule("x", "evt.type = connect and fd.net = 10.0.0.0/99")}, "10.0.0.0/99", ErrCompileCondition, "a.yaml", 3, 46},
		{"syntax error", []string{rule("x", "evt.type = open and (proc.name = x")}, "", ErrCompileCondition, "a.yaml", 3, 48},
		{"deep nesting", []string{rule("x", strings.Repeat("(", 1200)+"evt.type = open"+strings.Repeat(")", 1200))}, "max depth", ErrCompileCondition, "a.yaml", 3, 0},
		{"bad output", []string{"- rule: x\n  desc: d\n  condition: evt.type = open\n  output: bad %proc.nope\n  priority: INFO\n"}, "proc.nope", ErrCompileOutput, "a.yaml", 4, 16},
		{"error in macro", []string{"- macro: m\n  condition: proc.name = x and (\n" + rule("x", "evt.type = open and m")}, "", ErrCompileCondition, "a.yaml", 2, 33},
		{"type error in macro", []string{"- macro: m\n  condition: proc.pid = abc\n" + rule("x", "evt.type = open and m")}, "abc", ErrCompileCondition, "a.yaml", 2, 25},
		{"macro visibility", []string{"- macro: a\n  condition: b\n- macro: b\n  condition: evt.type = open\n" + rule("x", "a")}, "Undefined macro 'b' used in filter.", ErrValidate, "a.yaml", 2, 14},
		{"override missing key", []string{base, "- rule: r\n  desc: x\n  override:\n    condition: append\n"}, "An append override for 'condition' was specified but 'condition' is not defined", ErrYAMLValidate, "b.yaml", 1, 3},
		{"override unexpected key", []string{base, "- rule: r\n  condition: and proc.name = x\n  output: o\n  override:\n    condition: append\n"}, "Unexpected key 'output'", ErrYAMLValidate, "b.yaml", 3, 3},
		{"override bad op", []string{base, "- rule: r\n  priority: INFO\n  override:\n    priority: append\n"}, "Key 'priority' cannot be appended to, use 'replace' instead", ErrYAMLValidate, "b.yaml", 4, 5},
		{"override unknown op", []string{base, "- rule: r\n  priority: INFO\n  override:\n    priority: merge\n"}, "Invalid override operation for key 'priority': 'merge'", ErrYAMLValidate, "b.yaml", 4, 15},
		{"override not replaceable", []string{base, "- rule: r\n  source: syscall\n  override:\n    source: replace\n"}, "Key 'source' cannot be replaced", ErrYAMLValidate, "b.yaml", 4, 5},
		{"override with append", []string{base, "- rule: r\n  condition: and proc.name = x\n  append: true\n  override:\n    condition: append\n"}, "Keys 'override' and 'append: true' cannot be used together", ErrYAMLValidate, "b.yaml", 1, 3},
		{"override missing rule", []string{"- rule: r\n  condition: and proc.name = x\n  override:\n    condition: append\n"}, "no rule by that name already exists", ErrValidate, "a.yaml", 1, 3},
		{"replace missing rule", []string{"- rule: r\n  priority: INFO\n  override:\n    priority: replace\n"}, "An 'override.<key>: replace' to a rule was requested", ErrValidate, "a.yaml", 1, 3},
		{"append missing list", []string{"- list: l\n  items: [a]\n  override:\n    items: append\n"}, "no list by that name already exists", ErrValidate, "a.yaml", 1, 3},
		{"append missing macro", []string{"- macro: m\n  condition: or a\n  append: true\n"}, "no macro by that name already exists", ErrValidate, "a.yaml", 1, 3},
		{"different source", []string{rule("r", "evt.type = open"), rule("r", "evt.type = open", "source: k8s_audit")}, "Rule has been re-defined with a different source", ErrValidate, "b.yaml", 1, 3},
		{"enable missing rule", []string{"- rule: nope\n  enabled: false\n"}, "Rule has 'enabled' key but no rule by that name already exists", ErrValidate, "a.yaml", 1, 3},
		{"engine too new", []string{"- required_engine_version: 0.99.0\n"}, "Rules require engine version 0.99.0, but engine version is " + EngineVersion, ErrValidate, "a.yaml", 1, 3},
		{"exception comps length", []string{rule("x", "evt.type = open", "exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      comps: [=]\n      values: [[a, b]]")}, "Fields and comps lists must have equal length", ErrValidate, "a.yaml", 7, 7},
		{"exception values length", []string{rule("x", "evt.type = open", "exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values: [[a]]")}, "Fields and values lists must have equal length", ErrValidate, "a.yaml", 7, 7},
		{"exception bad field", []string{rule("x", "evt.type = open", "exceptions:\n    - name: e\n      fields: [proc.nope]\n      values: [[a]]")}, "'proc.nope' is not a supported filter field", ErrValidate, "a.yaml", 7, 7},
		{"exception bad comp", []string{rule("x", "evt.type = open", "exceptions:\n    - name: e\n      fields: proc.name\n      comps: startswith\n      values: [a]")}, "comps must be one of", ErrValidate, "a.yaml", 7, 7},
		{"exception append fields", []string{rule("r", "evt.type = open", "exceptions:\n    - name: e\n      fields: [proc.name]\n      values: [[a]]"), "- rule: r\n  exceptions:\n    - name: e\n      fields: [fd.name]\n      values: [[b]]\n  override:\n    exceptions: append\n"}, "Can not append exception fields to existing exception, only values", ErrValidate, "b.yaml", 3, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, res := load(t, c.files...)
			if res.OK() {
				t.Fatal("load succeeded")
			}
			m := findMsg(t, res.Errors, c.frag)
			if m.Code != c.code {
				t.Errorf("code %s, want %s", m.Code, c.code)
			}
			if m.File != c.file || m.Line != c.line || (c.col != 0 && m.Col != c.col) {
				t.Errorf("at %s:%d:%d, want %s:%d:%d", m.File, m.Line, m.Col, c.file, c.line, c.col)
			}
			if !strings.HasPrefix(m.String(), m.File+":") {
				t.Errorf("String() = %q", m.String())
			}
		})
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, res := load(t, rule("a", "evt.type = open and proc.nope = 1")+
		rule("b", "evt.type = open and not undefined_macro")+
		"- rule: c\n  desc: d\n  output: o\n  priority: INFO\n"+
		rule("ok", "evt.type = open"))
	if len(res.Errors) != 3 {
		t.Fatalf("%d errors, want 3: %v", len(res.Errors), res.Err())
	}
	for i, want := range []string{"a", "b", "c"} {
		if res.Errors[i].ItemType != ItemRule {
			t.Errorf("error %d item type %q", i, res.Errors[i].ItemType)
		}
		found := false
		for _, m := range res.Errors {
			found = found || m.ItemName == want
		}
		if !found {
			t.Errorf("no error for rule %q", want)
		}
	}
}

func TestExceptions(t *testing.T) {
	rs, _ := mustLoad(t, rule("r", "evt.type = open", `exceptions:
    - name: pairs
      fields: [proc.name, fd.name]
      comps: [=, in]
      values:
        - [nginx, /var/log/nginx]
        - [my app, [/a, "/b c"]]
    - name: names
      fields: proc.name
      values: [cat, "my tool"]
    - name: defaults
      fields: [proc.pname]
      values: [[sshd]]
    - name: empty
      fields: [proc.name]
      comps: [in]
      values: []
    - name: lists
      fields: [proc.name]
      comps: [in]
      values: [[vi]]`), `
- rule: r
  exceptions:
    - name: names
      values: [dog]
  override:
    exceptions: append
`)
	want := `(evt.type = open and not ((proc.name = nginx and fd.name in (/var/log/nginx)) or (proc.name = "my app" and fd.name in (/a, "/b c"))) and not proc.name in (cat, "my tool", dog) and not proc.pname = sshd and not proc.name in (vi))`
	if got := cond(t, rs, "r"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := strings.Join(rs.Info("r").ExceptionFields, ","); got != "proc.name,fd.name,proc.pname" {
		t.Errorf("exception fields %s", got)
	}
}

func TestExceptionNotUnique(t *testing.T) {
	_, res := mustLoad(t, rule("r", "evt.type = open", "exceptions:\n    - name: e\n      fields: proc.name\n      values: [a]\n    - name: e\n      fields: proc.name\n      values: [b]"))
	if !hasCode(res.Warnings, WarnExceptionNameNotUniq) {
		t.Error("no LOAD_EXCEPTION_NAME_NOT_UNIQUE warning")
	}
}

func TestEnabledToggling(t *testing.T) {
	rs, res := mustLoad(t, rule("a", "evt.type = open", "enabled: false", "tags: [fs]")+rule("b", "evt.type = open", "tags: [net]")+rule("c", "evt.type = open"), `
- rule: a
  enabled: true
- rule: b
  enabled: false
  override:
    enabled: replace
`)
	if !rs.Rule("a").Enabled || rs.Rule("b").Enabled || !rs.Rule("c").Enabled {
		t.Errorf("enabled a=%v b=%v c=%v", rs.Rule("a").Enabled, rs.Rule("b").Enabled, rs.Rule("c").Enabled)
	}
	if m := findMsg(t, res.Warnings, "standalone 'enabled' key"); m.File != "b.yaml" || m.Line != 2 {
		t.Errorf("deprecation warning at %s", m)
	}
	if n := rs.SetEnabledByTag(true, "net"); n != 1 || !rs.Rule("b").Enabled {
		t.Errorf("enable by tag: %d", n)
	}
	if n := rs.SetEnabled("*", MatchWildcard, false); n != 3 || len(rs.Enabled()) != 0 {
		t.Errorf("disable all: %d", n)
	}
	if n := rs.SetEnabled("c", MatchExact, true); n != 1 || len(rs.Enabled()) != 1 {
		t.Errorf("enable c: %d", n)
	}
}

func TestOrderingAcrossFiles(t *testing.T) {
	rs, _ := mustLoad(t, `
- macro: m
  condition: evt.type = open
- list: l
  items: [a]
`+rule("first", "m and proc.name in (l)")+rule("second", "evt.type = close"), `
- macro: m
  condition: evt.type = openat
- list: l
  items: [b]
`+rule("first", "m and proc.name in (l) and proc.pid > 0")+rule("third", "evt.type = open"))
	var names []string
	for _, r := range rs.Rules {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "first,second,third" {
		t.Errorf("order %v", names)
	}
	if got, want := cond(t, rs, "first"), "(evt.type = openat and proc.name in (b) and proc.pid > 0)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestListInList(t *testing.T) {
	rs, res := mustLoad(t, `
- list: a
  items: [x, "y z"]
- list: b
  items: [a, w, c]
- list: c
  items: [late]
- list: empty
  items: []
`+rule("r", "evt.type = open and proc.name in (b) and proc.pname in (empty, q) and fd.name in (q, empty)"))
	want := `(evt.type = open and proc.name in (x, "y z", w, late) and proc.pname in (q) and fd.name in (q))`
	if got := cond(t, rs, "r"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if hasCode(res.Warnings, WarnUnusedList) {
		t.Error("unexpected unused-list warning")
	}
	var bItems []string
	for _, l := range rs.Lists {
		if l.Name == "b" {
			bItems = l.Items
		}
	}
	// c is defined after b: b keeps the name, resolved textually later.
	if strings.Join(bItems, ",") != "x,y z,w,c" {
		t.Errorf("b items %v", bItems)
	}
}

func TestMacroVisibility(t *testing.T) {
	// A rule sees every macro; a macro only those defined before it, or
	// before its latest append/override.
	rs, _ := mustLoad(t, `
- macro: a
  condition: evt.type = open
- macro: b
  condition: proc.name = x
- macro: b
  condition: or a
  override:
    condition: append
- macro: c
  condition: evt.type = close
`+rule("r", "c or b"))
	if got, want := cond(t, rs, "r"), "(evt.type = close or (proc.name = x or evt.type = open))"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_, res := load(t, "- macro: a\n  condition: a\n"+rule("r", "a"))
	if res.OK() {
		t.Fatal("self-reference loaded")
	}
	_, res = load(t, "- macro: x\n  condition: evt.type = open\n"+rule("r", "evt.type = open"))
	if m := findMsg(t, res.Warnings, "Macro not referred to"); m.Code != WarnUnusedMacro || m.ItemName != "x" {
		t.Errorf("unused macro warning %s [%s]", m, m.Code)
	}
}

func TestUnknownItemsAndKeys(t *testing.T) {
	_, res := mustLoad(t, "- something: else\n"+rule("r", "evt.type = open", "colour: blue"))
	if m := findMsg(t, res.Warnings, "Unknown top level item"); m.Code != WarnUnknownItem || m.Line != 1 {
		t.Errorf("%s [%s]", m, m.Code)
	}
	if m := findMsg(t, res.Warnings, "Unknown key 'colour'"); m.Code != WarnUnknownKey || m.Line != 7 || m.Col != 3 {
		t.Errorf("%s [%s]", m, m.Code)
	}
}

func TestSourcesAndPlugins(t *testing.T) {
	rs, res := mustLoad(t, `
- required_plugin_versions:
  - name: container
    version: 0.4.0
  - name: k8saudit
    version: 0.7.0
`+rule("audit", "ka.verb = GET", "source: k8s_audit")+rule("sys", "evt.type = open"))
	if len(rs.Rules) != 1 || rs.Rules[0].Name != "sys" {
		t.Errorf("rules %v", rs.Rules)
	}
	if m := findMsg(t, res.Warnings, "Unknown source k8s_audit, skipping"); m.Code != WarnUnknownSource {
		t.Errorf("%s [%s]", m, m.Code)
	}
	if m := findMsg(t, res.Warnings, "k8saudit"); m.Code != WarnPluginRequirement || m.Line != 5 {
		t.Errorf("%s [%s]", m, m.Code)
	}
	n := 0
	for _, m := range res.Warnings {
		if m.Code == WarnPluginRequirement {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d plugin requirement warnings, want 1 (container is provided)", n)
	}
}

func TestSkipIfUnknownFilter(t *testing.T) {
	rs, res := mustLoad(t, rule("r", "evt.type = open and proc.nope = 1", "skip-if-unknown-filter: true")+
		rule("keep", "evt.type = open"))
	if rs.Rule("r") != nil || rs.Rule("keep") == nil {
		t.Error("rule with unknown field not skipped")
	}
	if !hasCode(res.Warnings, WarnUnknownFilter) {
		t.Error("no LOAD_UNKNOWN_FILTER warning")
	}
}

func TestEvttypeWarning(t *testing.T) {
	_, res := mustLoad(t, rule("broad", "proc.name = cat")+rule("quiet", "proc.name = cat", "warn_evttypes: false")+rule("narrow", "evt.type = open"))
	n := 0
	for _, m := range res.Warnings {
		if m.Code == WarnNoEvtType {
			n++
			if m.ItemName != "broad" {
				t.Errorf("warning for %s", m.ItemName)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d LOAD_NO_EVTTYPE warnings, want 1", n)
	}
}

func TestRequiredEngineVersion(t *testing.T) {
	rs, _ := mustLoad(t, "- required_engine_version: 10\n- required_engine_version: 0.57.0\n")
	if rs.RequiredEngineVersion != "0.57.0" {
		t.Errorf("required %q", rs.RequiredEngineVersion)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yml", rule("r", "evt.type = openat"))
	write("a.yaml", rule("r", "evt.type = open")+rule("s", "evt.type = open"))
	write("c.txt", "not rules")
	rs, res := Load([]string{dir}, nil)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	if got := cond(t, rs, "r"); got != "evt.type = openat" {
		t.Errorf("later file did not override: %s", got)
	}
	_, res = Load([]string{filepath.Join(dir, "missing.yaml")}, nil)
	if res.OK() || res.Errors[0].Code != ErrFileRead {
		t.Errorf("missing file: %v", res.Err())
	}
}

func TestOutputTrimmedAndContainerInfo(t *testing.T) {
	rs, res := mustLoad(t, "- rule: r\n  desc: d\n  condition: evt.type = open\n  output: >\n    opened %fd.name (%container.info)\n  priority: info\n")
	r := rs.Rule("r")
	if r.Output != "opened %fd.name ()" {
		t.Errorf("output %q", r.Output)
	}
	if r.Priority.String() != "Informational" {
		t.Errorf("priority %v", r.Priority)
	}
	if !hasCode(res.Warnings, WarnDeprecatedItem) {
		t.Error("no warning for container.info")
	}
}

// TestSuggestedOutput checks that suggested output appends the container
// fields an output does not show yet, and only those.
func TestSuggestedOutput(t *testing.T) {
	src := `
- rule: plain
  desc: d
  condition: evt.type = open
  output: opened %fd.name
  priority: INFO
- rule: shows id
  desc: d
  condition: evt.type = open
  output: opened %fd.name (container_id=%container.id k8s=%k8s.ns.name)
  priority: INFO
`
	rs, res := LoadFiles([]File{{Name: "s.yaml", Data: []byte(src)}}, &Options{ExtraOutputs: []ExtraOutput{{Suggested: true}}})
	if !res.OK() {
		t.Fatal(res.Errors)
	}
	want := map[string]string{
		"plain": "opened %fd.name container_id=%container.id container_name=%container.name " +
			"container_image_repository=%container.image.repository container_image_tag=%container.image.tag " +
			"k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name",
		"shows id": "opened %fd.name (container_id=%container.id k8s=%k8s.ns.name) container_name=%container.name " +
			"container_image_repository=%container.image.repository container_image_tag=%container.image.tag " +
			"k8s_pod_name=%k8s.pod.name",
	}
	for name, w := range want {
		if got := rs.Rule(name).Output; got != w {
			t.Errorf("%s:\n got %s\nwant %s", name, got, w)
		}
	}
}
