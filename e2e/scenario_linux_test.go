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

// env is what a scenario works with. Scenarios start their processes with
// its methods (run, runProg, start, startHeld, startAgent), which make the
// driver under test observe them (observer_linux_test.go).
type env struct {
	alerts *alertLog // the alerts raised so far
	dir    string    // a scratch directory of its own
	self   string    // proc.pname of the processes the scenario starts
	// inexact are the fields the driver under test fills differently
	// from the eBPF driver (driverSpec.inexact).
	inexact map[string]string
	// trace, for the ptrace driver, are the arguments of the `vigil trace`
	// each command runs under; nil for a sensor.
	trace []string

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

// run runs every scenario with every driver (in parallel: alerts are
// attributed to the processes of each scenario), with vigil's arguments
// args, skipping the scenarios a driver is known to be blind to. A sensor
// driver gets one `vigil run` for the suite; ptrace runs each command of
// a scenario under `vigil trace`.
func (su *suite) run(t *testing.T, args ...string) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			requireDriver(t, d.name)
			shared := env{dir: scratchDir(t, ""), inexact: d.inexact}
			var s *sensor
			if d.trace {
				shared.alerts = newAlertLog()
				shared.trace = traceArgs(args)
				shared.self = vigilComm()
			} else {
				s = startSensor(t, d.name, args...)
				shared.alerts = s.alertLog
				shared.self = selfComm(t)
			}
			if su.setup != nil {
				su.setup(t, &shared)
			}
			for _, sc := range su.scenarios {
				t.Run(sc.name, func(t *testing.T) {
					if r := d.blindReason(su.name + "/" + sc.name); r != "" {
						t.Skipf("driver %s cannot see this: %s", d.name, r)
					}
					if bug := d.bugs[su.name+"/"+sc.name]; bug != "" {
						knownBug(t, "driver "+d.name+": "+bug)
					}
					e := shared
					e.dir = scratchDir(t, "")
					sc.run(t, &e)
				})
			}
			if s != nil {
				s.stop(t)
			}
		})
	}
}

// fieldsWant checks output_fields of a against want, except that a field
// the driver under test fills differently (driverSpec.inexact) is only
// logged when it differs.
func (e *env) fieldsWant(t *testing.T, a *alert, want map[string]string) {
	t.Helper()
	checkFields(t, a, want, e.inexact)
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
		for key := range d.bugs {
			if len(key) > len(su.name)+1 && key[:len(su.name)+1] == su.name+"/" && !scenarios[key[len(su.name)+1:]] {
				t.Errorf("driver %s: known bug entry %q names no scenario", d.name, key)
			}
		}
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
