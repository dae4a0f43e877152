package rules

import "testing"

// TestDefaultRuleset checks that the embedded default ruleset loads with no
// errors and no warnings and that every rule is enabled and restricted to a
// few event types (so drivers can filter in the kernel).
func TestDefaultRuleset(t *testing.T) {
	files := DefaultFiles()
	if len(files) == 0 {
		t.Fatal("no embedded default rules")
	}
	rs, res := LoadFiles(files, nil)
	for _, m := range res.Errors {
		t.Errorf("error: %s", m)
	}
	for _, m := range res.Warnings {
		t.Errorf("warning: %s", m)
	}
	if rs == nil || len(rs.Rules) < 15 {
		t.Fatalf("want at least 15 default rules, got %v", rs)
	}
	for _, r := range rs.Rules {
		if !r.Enabled {
			t.Errorf("rule %q is disabled", r.Name)
		}
		if n := r.EventTypes.Len(); n == 0 || n > 10 {
			t.Errorf("rule %q matches %d event types (%s)", r.Name, n, r.EventTypes)
		}
		if r.Filter == nil || r.Format == nil {
			t.Errorf("rule %q is not compiled", r.Name)
		}
	}
}
