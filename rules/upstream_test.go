package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Tests against Falco's upstream rules files, read from VIGIL_FALCO_RULES_DIR
// (never copied into this repository).

var upstreamFiles = []struct {
	name  string
	rules int
}{
	{"falco_rules.yaml", 25},
	{"falco-incubating_rules.yaml", 31},
	{"falco-sandbox_rules.yaml", 37},
}

func upstreamDir(t testing.TB) string {
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		t.Skip("VIGIL_FALCO_RULES_DIR is not set")
	}
	for _, f := range upstreamFiles {
		if _, err := os.Stat(filepath.Join(dir, f.name)); err != nil {
			t.Fatalf("VIGIL_FALCO_RULES_DIR=%s: %v", dir, err)
		}
	}
	return dir
}

// upstreamEventTypes reads the per-rule event-type sets of spec §4 from
// rules_analysis.json (VIGIL_FALCO_SPEC_DIR, or ../spec beside the rules
// directory).
func upstreamEventTypes(t *testing.T, rulesDir string) map[string]map[string][]string {
	dir := os.Getenv("VIGIL_FALCO_SPEC_DIR")
	if dir == "" {
		dir = filepath.Join(rulesDir, "..", "spec")
	}
	b, err := os.ReadFile(filepath.Join(dir, "rules_analysis.json"))
	if err != nil {
		t.Skipf("no rules_analysis.json to compare event types with: %v", err)
	}
	var analysis []struct {
		File    string `json:"file"`
		PerRule []struct {
			Rule     string   `json:"rule"`
			Evttypes []string `json:"evttypes"`
		} `json:"per_rule"`
	}
	if err := json.Unmarshal(b, &analysis); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	for _, a := range analysis {
		m := map[string][]string{}
		for _, r := range a.PerRule {
			m[r.Rule] = r.Evttypes
		}
		out[a.File] = m
	}
	return out
}

func logResult(t *testing.T, res *Result) {
	t.Helper()
	for _, m := range res.Errors {
		t.Errorf("error: %s [%s]", m, m.Code)
	}
	for _, m := range res.Warnings {
		t.Logf("warning: %s [%s]", m, m.Code)
	}
}

func TestUpstreamRulesLoad(t *testing.T) {
	dir := upstreamDir(t)
	types := upstreamEventTypes(t, dir)
	total := 0
	var all []string
	for _, f := range upstreamFiles {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			rs, res := Load([]string{path}, nil)
			logResult(t, res)
			if len(rs.Rules) != f.rules {
				t.Errorf("%d rules, want %d", len(rs.Rules), f.rules)
			}
			for _, w := range res.Warnings {
				if w.Code != WarnDeprecatedItem {
					t.Errorf("unexpected warning %s [%s]", w, w.Code)
				}
			}
			want := types[f.name]
			if len(want) != f.rules {
				t.Errorf("rules_analysis.json has %d rules for %s", len(want), f.name)
			}
			for _, r := range rs.Rules {
				got := r.EventTypes.Names()
				sort.Strings(got)
				w, ok := want[r.Name]
				if !ok {
					t.Errorf("rule %q is not in rules_analysis.json", r.Name)
					continue
				}
				w = append([]string(nil), w...)
				sort.Strings(w)
				if strings.Join(got, ",") != strings.Join(w, ",") {
					t.Errorf("rule %q: event types %v, want %v", r.Name, got, w)
				}
				if r.Filter == nil || r.Format == nil {
					t.Errorf("rule %q: not compiled", r.Name)
				}
			}
			if rs.RequiredEngineVersion != "0.57.0" {
				t.Errorf("required engine version %q", rs.RequiredEngineVersion)
			}
			if errs := rs.CheckPlugins([]Plugin{{Name: "container", Version: ContainerPluginVersion}}); errs != nil {
				t.Errorf("plugin requirements: %v", errs)
			}
			total += len(rs.Rules)
		})
		all = append(all, filepath.Join(dir, f.name))
	}
	t.Run("all", func(t *testing.T) {
		rs, res := Load(all, nil)
		logResult(t, res)
		if len(rs.Rules) != 93 {
			t.Errorf("%d rules together, want 93", len(rs.Rules))
		}
		enabled := len(rs.Enabled())
		t.Logf("%d rules loaded together, %d enabled by default; %d warnings", len(rs.Rules), enabled, len(res.Warnings))
		if enabled != 93-12 {
			t.Errorf("%d rules enabled, want %d", enabled, 93-12)
		}
	})
	t.Logf("%d rules loaded from the files one by one", total)
}
