package e2e

import (
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// scenario performs real actions against a running sensor and asserts the
// alerts they raise, with their fields.
type scenario struct {
	name  string   // unique in its suite; the key of the drivers' blind tables
	rules []string // the rules it makes fire
	run   func(t *testing.T, e *env)
}

// env is what a scenario works with.
type env struct {
	s    *sensor
	dir  string // a scratch directory of its own
	self string // the test binary's process name: proc.pname of its children

	// Set by the upstream suite's setup: a server process started before
	// the scenarios run, and when.
	oldServer      *agent
	oldServerStart time.Time
}

// suite is a set of scenarios run against one rules setup, and the rules
// of that setup that no scenario can trigger on this kind of machine,
// with the reason.
type suite struct {
	name           string // "default", "upstream"
	scenarios      []scenario
	notTriggerable map[string]string // rule name → why no test can make it fire here
	// setup, when set, runs once per sensor before the scenarios; what it
	// stores in the env is passed on to every scenario.
	setup func(t *testing.T, e *env)
}

// run starts a sensor per driver with args and runs every scenario against
// it, skipping the ones the driver is known to be blind to.
func (su *suite) run(t *testing.T, args ...string) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			requireDriver(t, d.name)
			s := startSensor(t, d.name, args...)
			shared := env{s: s, dir: scratchDir(t, ""), self: selfComm(t)}
			if su.setup != nil {
				su.setup(t, &shared)
			}
			for _, sc := range su.scenarios {
				t.Run(sc.name, func(t *testing.T) {
					if r := d.blindReason(su.name + "/" + sc.name); r != "" {
						t.Skipf("driver %s cannot see this: %s", d.name, r)
					}
					e := shared
					e.dir = scratchDir(t, "")
					sc.run(t, &e)
				})
			}
			s.stop(t)
		})
	}
}

// checkTables checks that every rule in rulesFile has a scenario or a
// not-triggerable entry (and only one of them), that those name rules of
// the file, and that the drivers' blind entries name scenarios.
func (su *suite) checkTables(t *testing.T, rulesFile string) {
	t.Helper()
	names := ruleNames(t, rulesFile)
	covered := map[string]string{} // rule → scenario or "not triggerable"
	scenarios := map[string]bool{}
	for _, sc := range su.scenarios {
		if scenarios[sc.name] {
			t.Errorf("two scenarios are named %q", sc.name)
		}
		scenarios[sc.name] = true
		for _, r := range sc.rules {
			covered[r] = sc.name
		}
	}
	for r := range su.notTriggerable {
		if sc, ok := covered[r]; ok {
			t.Errorf("rule %q has scenario %q and is also listed as not triggerable", r, sc)
		}
		covered[r] = "not triggerable"
	}
	for _, r := range names {
		if _, ok := covered[r]; !ok {
			t.Errorf("rule %q of %s has no scenario and is not listed as not triggerable", r, rulesFile)
		}
	}
	var extra []string
	for r := range covered {
		if !slices.Contains(names, r) {
			extra = append(extra, r)
		}
	}
	sort.Strings(extra)
	for _, r := range extra {
		t.Errorf("the tables name rule %q, which %s does not define", r, rulesFile)
	}
	for _, d := range drivers {
		for key := range d.blind {
			if len(key) > len(su.name)+1 && key[:len(su.name)+1] == su.name+"/" && !scenarios[key[len(su.name)+1:]] {
				t.Errorf("driver %s: blind entry %q names no scenario", d.name, key)
			}
		}
	}
}

// ruleNames returns the names of the rules a rules file defines, in order.
func ruleNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := yaml.Unmarshal(b, &items); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var names []string
	for _, it := range items {
		if n, ok := it["rule"].(string); ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}
