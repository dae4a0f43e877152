package engine

import (
	"slices"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine/fields"
	"github.com/vigilsec/vigil/engine/parse"
)

func reachRule(t *testing.T, cond string) *Rule {
	t.Helper()
	e, err := parse.Parse(cond)
	if err != nil {
		t.Fatalf("parse %q: %v", cond, err)
	}
	if _, _, err := Compile(e, fields.Default()); err != nil {
		t.Fatalf("compile %q: %v", cond, err)
	}
	return &Rule{Name: "r", Condition: e, EventTypes: EventTypes(e), Enabled: true}
}

// TestReach checks the analysis on a driver that produces open, exec and
// connect events with paths and descriptors but no open flags, no argv
// in events and no parent process names.
func TestReach(t *testing.T) {
	cov := driver.Coverage{
		Events: driver.NewEventTypeSet(driver.MustEventType("openat"), driver.MustEventType("execve"),
			driver.MustEventType("connect")),
		Fields:     driver.HasRes | driver.HasPath | driver.HasFDInfo,
		ProcFields: driver.ProcHasPid | driver.ProcHasName | driver.ProcHasExe,
	}
	cases := []struct {
		cond    string
		why     string
		without []string
	}{
		{cond: `evt.type = openat and fd.name = /etc/shadow`},
		// evt.num = 0 never holds, whatever the driver fills.
		{cond: `evt.type = openat and fd.name = /etc/shadow and not evt.num = 0`},
		{cond: `evt.type = openat and evt.num > 0`, why: "needs evt.num, unavailable on drv"},
		{cond: `evt.type = openat and evt.arg.flags contains O_WRONLY`,
			why: "needs evt.arg.flags, unavailable on drv"},
		// != on an unavailable field is false too.
		{cond: `evt.type = openat and evt.arg.flags != O_RDONLY`,
			why: "needs evt.arg.flags, unavailable on drv"},
		{cond: `evt.type = openat and evt.arg.flags exists`,
			why: "needs evt.arg.flags, unavailable on drv"},
		// not of an unavailable check is true.
		{cond: `evt.type = openat and not evt.arg.flags contains O_WRONLY`, without: []string{"evt.arg.flags"}},
		{cond: `evt.type = openat and not (evt.arg.flags contains O_WRONLY and fd.name = /x)`, without: []string{"evt.arg.flags"}},
		// or drops the unavailable side.
		{cond: `evt.type = openat and (evt.arg.flags contains O_WRONLY or fd.name = /x)`, without: []string{"evt.arg.flags"}},
		{cond: `evt.type = execve and proc.exepath = sshd and proc.args contains -c`,
			why: "needs proc.exepath and proc.args, unavailable on drv"},
		{cond: `evt.type = execve and (proc.exepath = sshd or proc.args contains -c)`,
			why: "needs proc.exepath or proc.args, unavailable on drv"},
		{cond: `evt.type = execve and proc.cwd = / and (proc.exepath = sshd or proc.args contains -c)`,
			why: "needs proc.cwd and one of proc.exepath, proc.args, unavailable on drv"},
		{cond: `evt.type = execve and ((proc.exepath = sshd and proc.args contains -c) or (proc.cwd = / and user.uid = 0))`,
			why: "needs some of proc.exepath, proc.args, proc.cwd, user.uid, unavailable on drv"},
		// Per event type: the flags branch belongs to openat, the exec
		// branch can fire.
		{cond: `(evt.type = openat and evt.arg.flags contains O_WRONLY) or (evt.type = execve and proc.name = sh)`,
			without: []string{"evt.arg.flags"}},
		{cond: `(evt.type = openat and evt.arg.flags contains O_WRONLY) or (evt.type = execve and proc.exepath = sh)`,
			why: "needs evt.arg.flags or proc.exepath, unavailable on drv"},
		// evt.arg.flags has no slot on execve: nothing a driver can fix.
		{cond: `evt.type = execve and evt.arg.flags contains O_WRONLY`,
			why: "needs evt.arg.flags, which no driver fills"},
		{cond: `evt.type = openat and k8s.rc.name = x`,
			why: "needs k8s.rc.name, which no driver fills"},
		{cond: `evt.type = mkdirat and fd.name = /x`,
			why: "needs mkdirat events, which drv does not produce"},
		// Transformers and val().
		{cond: `evt.type = execve and tolower(proc.exepath) = sshd`,
			why: "needs proc.exepath, unavailable on drv"},
		{cond: `evt.type = execve and proc.name = val(proc.exepath)`,
			why: "needs proc.exepath, unavailable on drv"},
		{cond: `evt.type = execve and len(fd.types) >= 0`},
		{cond: `evt.type = execve and len(proc.args) > 0`, why: "needs proc.args, unavailable on drv"},
		// An unrestricted rule (every event type) with a field no event
		// of this driver fills.
		{cond: `evt.rawres >= 0 and evt.buffer contains abc`, why: "needs evt.buffer, unavailable on drv"},
	}
	for _, c := range cases {
		r := reachRule(t, c.cond)
		got := r.Reach(cov, fields.Default())
		if why := got.Why("drv"); why != c.why {
			t.Errorf("%s:\n got why %q\nwant     %q", c.cond, why, c.why)
		}
		if got.Fires != (c.why == "") {
			t.Errorf("%s: Fires = %v", c.cond, got.Fires)
		}
		if !slices.Equal(got.Without, c.without) {
			t.Errorf("%s: Without = %q, want %q", c.cond, got.Without, c.without)
		}
	}
}

func TestJoinWords(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
	} {
		if got := joinWords(c.in, "and"); got != c.want {
			t.Errorf("joinWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
