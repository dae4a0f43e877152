package engine_test

import (
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/rules"
)

// TestReachMacros runs the analysis on rules whose conditions use
// macros, lists and exceptions, as the rules loader expands them.
func TestReachMacros(t *testing.T) {
	const yaml = `
- list: shells
  items: [bash, sh]
- macro: open_write
  condition: (evt.type = openat and evt.arg.flags contains O_WRONLY)
- macro: spawned_process
  condition: (evt.type = execve and evt.res = 0)
- macro: never_true
  condition: (evt.num = 0)
- rule: write below etc
  desc: d
  condition: open_write and fd.name startswith /etc and not proc.name in (shells)
  output: o
  priority: WARNING
- rule: shell spawned by sshd
  desc: d
  condition: spawned_process and proc.name in (shells) and proc.pname = sshd
  output: o
  priority: WARNING
- rule: shell with args
  desc: d
  condition: spawned_process and proc.name in (shells) and not never_true
  output: o
  priority: WARNING
  exceptions:
    - name: args
      fields: [proc.args]
      values: [[-i]]
`
	rs, res := rules.LoadFiles([]rules.File{{Name: "t.yaml", Data: []byte(yaml)}}, nil)
	if !res.OK() {
		t.Fatalf("load: %v", res.Errors)
	}
	cov := driver.Coverage{
		Events:     driver.NewEventTypeSet(driver.MustEventType("openat"), driver.MustEventType("execve")),
		Fields:     driver.HasRes | driver.HasPath | driver.HasFDInfo,
		ProcFields: driver.ProcHasPid | driver.ProcHasName,
	}
	want := map[string]string{
		"write below etc":       "needs evt.arg.flags, unavailable on drv",
		"shell spawned by sshd": "",
		// The exception is "and not proc.args = -i": without proc.args
		// it is true, so the rule fires (more often).
		"shell with args": "",
	}
	for _, r := range rs.Rules {
		got := r.Reach(cov, fields.Default()).Why("drv")
		if got != want[r.Name] {
			t.Errorf("%s (%s): why %q, want %q", r.Name, r.Condition, got, want[r.Name])
		}
	}
	cov.ProcFields = driver.ProcHasPid
	if got := rs.Rules[1].Reach(cov, fields.Default()).Why("drv"); got != "needs proc.name and proc.pname, unavailable on drv" {
		t.Errorf("without process names: %q", got)
	}
}
