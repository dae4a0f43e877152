package rules

import (
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// Hand-built events evaluated against upstream rules: one rule or more per
// file, each with an event that must match and one that must not.

const procAll = driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasName | driver.ProcHasExe |
	driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasUser | driver.ProcHasUserName | driver.ProcHasLoginUID

func proc(name, exePath string, args []string, parent *driver.Process) *driver.Process {
	return &driver.Process{Has: procAll, Pid: 100, Tid: 100, PPid: 1, Name: name, Exe: name, ExePath: exePath,
		Args: args, UserName: "root", LoginUID: -1, Parent: parent}
}

var hostContainer = &driver.Container{Has: driver.ContHasID, ID: "host"}

func openEvent(t driver.EventType, p *driver.Process, path string, flags uint32) *driver.Event {
	return &driver.Event{
		Type: t, Num: 1, Has: driver.HasNum | driver.HasRes | driver.HasFD | driver.HasPath | driver.HasFlags | driver.HasFDInfo,
		Res: 3, FD: 3, Path: path, Flags: flags,
		FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: path, OpenFlags: flags},
		Proc:   p, Container: hostContainer,
	}
}

func execEvent(p *driver.Process, c *driver.Container) *driver.Event {
	return &driver.Event{Type: driver.MustEventType("execve"), Num: 1, Has: driver.HasNum | driver.HasRes | driver.HasArgs,
		Args: p.Args, Proc: p, Container: c}
}

const (
	oRDONLY = 0
	oWRONLY = 1
	oCREAT  = 0o100
)

func TestUpstreamRulesEvaluate(t *testing.T) {
	dir := upstreamDir(t)
	openat := driver.MustEventType("openat")
	initp := proc("systemd", "/usr/lib/systemd/systemd", nil, nil)
	sshd := proc("sshd", "/usr/sbin/sshd", nil, initp)
	bash := proc("bash", "/usr/bin/bash", nil, sshd)
	nginx := proc("nginx", "/usr/sbin/nginx", []string{"-g", "daemon off;"}, initp)
	shim := proc("containerd-shim", "/usr/bin/containerd-shim-runc-v2", nil, initp)
	cbash := proc("bash", "/usr/bin/bash", nil, shim)
	ctr := &driver.Container{Has: driver.ContHasID | driver.ContHasImage, ID: "0123456789ab", Image: "ubuntu:24.04",
		ImageRepository: "ubuntu", ImageTag: "24.04"}

	cases := []struct {
		file, rule string
		match      *driver.Event
		noMatch    []*driver.Event
	}{
		{"falco_rules.yaml", "Read sensitive file untrusted",
			openEvent(openat, proc("cat", "/usr/bin/cat", []string{"/etc/shadow"}, bash), "/etc/shadow", oRDONLY),
			[]*driver.Event{
				openEvent(openat, proc("cat", "/usr/bin/cat", []string{"/etc/hosts"}, bash), "/etc/hosts", oRDONLY),
				openEvent(openat, proc("passwd", "/usr/bin/passwd", nil, bash), "/etc/shadow", oRDONLY),
				openEvent(openat, proc("cat", "/usr/bin/cat", nil, bash), "/etc/shadow", oWRONLY),
			}},
		{"falco_rules.yaml", "Run shell untrusted",
			execEvent(proc("bash", "/usr/bin/bash", []string{"-c", "id"}, nginx), hostContainer),
			[]*driver.Event{
				execEvent(proc("bash", "/usr/bin/bash", []string{"-c", "id"}, sshd), hostContainer),
				execEvent(proc("python3", "/usr/bin/python3", nil, nginx), hostContainer),
			}},
		{"falco-incubating_rules.yaml", "Launch Package Management Process in Container",
			execEvent(proc("apt-get", "/usr/bin/apt-get", []string{"install", "-y", "nmap"}, cbash), ctr),
			[]*driver.Event{
				execEvent(proc("apt-get", "/usr/bin/apt-get", []string{"install", "-y", "nmap"}, bash), hostContainer),
				execEvent(proc("ls", "/usr/bin/ls", nil, cbash), ctr),
			}},
		{"falco-sandbox_rules.yaml", "Write below etc",
			openEvent(openat, proc("vi", "/usr/bin/vi", []string{"/etc/passwd"}, bash), "/etc/passwd", oWRONLY|oCREAT),
			[]*driver.Event{
				openEvent(openat, proc("vi", "/usr/bin/vi", nil, bash), "/tmp/passwd", oWRONLY|oCREAT),
				openEvent(openat, proc("dpkg", "/usr/bin/dpkg", nil, bash), "/etc/passwd", oWRONLY),
				openEvent(openat, proc("vi", "/usr/bin/vi", nil, bash), "/etc/passwd", oRDONLY),
			}},
	}
	loaded := map[string]*Ruleset{}
	for _, c := range cases {
		rs := loaded[c.file]
		if rs == nil {
			var res *Result
			rs, res = Load([]string{filepath.Join(dir, c.file)}, nil)
			if !res.OK() {
				t.Fatalf("%s: %v", c.file, res.Err())
			}
			loaded[c.file] = rs
		}
		r := rs.Rule(c.rule)
		if r == nil {
			t.Fatalf("%s: no rule %q", c.file, c.rule)
		}
		if !r.EventTypes.Has(c.match.Type) {
			t.Errorf("%s: event type %s not in the rule's set %v", c.rule, c.match.Type, r.EventTypes.Names())
		}
		if !r.Filter.Match(c.match) {
			t.Errorf("%s: matching event does not match", c.rule)
		} else {
			t.Logf("%s: %s", c.rule, r.Format.Append(nil, c.match))
		}
		for i, ev := range c.noMatch {
			if r.Filter.Match(ev) {
				t.Errorf("%s: non-matching event %d matches", c.rule, i)
			}
		}
	}
}
