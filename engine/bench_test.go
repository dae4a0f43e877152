package engine_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/engine"
	"github.com/vigilsec/vigil/rules"
)

// upstreamEngine loads the three upstream Falco rules files from
// $VIGIL_FALCO_RULES_DIR (skipping when unset) with every rule enabled.
func upstreamEngine(b *testing.B) (*engine.Engine, int) {
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		b.Skip("VIGIL_FALCO_RULES_DIR is not set")
	}
	var paths []string
	for _, f := range []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"} {
		paths = append(paths, filepath.Join(dir, f))
	}
	rs, res := rules.Load(paths, nil)
	if !res.OK() {
		b.Fatalf("loading upstream rules: %v", res.Errors)
	}
	for _, r := range rs.Rules {
		r.Enabled = true // measure every rule, including those shipped disabled
	}
	return engine.New(rs.Rules, &engine.Options{MatchAll: true}), len(rs.Rules)
}

// eventMix builds a realistic mix of the events a host produces once the
// kernel-side filter has dropped types no rule needs: mostly file opens,
// then execs and connections, from processes with a few ancestors.
func eventMix() []driver.Event {
	mk := func(name, exe string, args []string, parent *driver.Process) *driver.Process {
		return &driver.Process{
			Has: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName | driver.ProcHasExe |
				driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID |
				driver.ProcHasLoginUID | driver.ProcHasUser | driver.ProcHasUserName | driver.ProcHasCaps,
			Pid: 4242, PPid: 4000, VPid: 4242, Name: name, Exe: exe, ExePath: exe, Args: args, Cwd: "/home/dev/",
			LoginUID: 1000, UID: 1000, UserName: "dev", Parent: parent,
		}
	}
	systemd := mk("systemd", "/usr/lib/systemd/systemd", nil, nil)
	sshd := mk("sshd", "/usr/sbin/sshd", []string{"-D"}, systemd)
	bash := mk("bash", "/usr/bin/bash", nil, sshd)
	makeProc := mk("make", "/usr/bin/make", []string{"-j2"}, bash)
	cc := mk("cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", []string{"-quiet", "main.c"}, makeProc)
	python := mk("python3", "/usr/bin/python3", []string{"app.py"}, bash)
	curl := mk("curl", "/usr/bin/curl", []string{"-s", "https://example.com"}, bash)
	host := &driver.Container{ID: "host", Has: driver.ContHasID}

	openat := driver.MustEventType("openat")
	execve := driver.MustEventType("execve")
	connect := driver.MustEventType("connect")
	openFlags := driver.HasRes | driver.HasFD | driver.HasDirFD | driver.HasPath | driver.HasFlags | driver.HasMode | driver.HasFDInfo
	open := func(p *driver.Process, path string, flags uint32) driver.Event {
		return driver.Event{Type: openat, Has: openFlags, Res: 3, FD: 3, DirFD: -100, Path: path, Flags: flags,
			FDInfo: driver.FDInfo{Num: 3, Type: driver.FDFile, Name: path, OpenFlags: flags}, Proc: p, Container: host}
	}
	exec := func(p *driver.Process) driver.Event {
		return driver.Event{Type: execve, Has: driver.HasRes | driver.HasPath | driver.HasArgs, Path: p.ExePath, Args: p.Args,
			Proc: p, Container: host}
	}
	conn := func(p *driver.Process, ip string, port uint16) driver.Event {
		sa := driver.SockAddr{Family: 2, L4Proto: driver.L4TCP, LocalAddr: netip.MustParseAddr("10.0.0.5"), LocalPort: 40000,
			RemoteAddr: netip.MustParseAddr(ip), RemotePort: port}
		return driver.Event{Type: connect, Has: driver.HasRes | driver.HasFD | driver.HasAddr | driver.HasFDInfo, Res: 0, FD: 4,
			Sock: sa, FDInfo: driver.FDInfo{Num: 4, Type: driver.FDIPv4, Name: "10.0.0.5:40000->" + ip, Sock: sa, Connected: true},
			Proc: p, Container: host}
	}
	const rdonly, wronly, creat = 0, 1, 0o100
	return []driver.Event{
		open(cc, "/usr/include/stdio.h", rdonly),
		open(cc, "/home/dev/src/main.c", rdonly),
		open(cc, "/tmp/ccXYZ.s", wronly|creat),
		open(makeProc, "/home/dev/src/Makefile", rdonly),
		open(python, "/usr/lib/python3.11/os.py", rdonly),
		open(python, "/etc/ld.so.cache", rdonly),
		open(bash, "/home/dev/.bash_history", wronly),
		open(curl, "/etc/ssl/certs/ca-certificates.crt", rdonly),
		open(sshd, "/etc/shadow", rdonly),
		open(python, "/var/log/app.log", wronly|creat),
		exec(cc),
		exec(curl),
		exec(python),
		exec(makeProc),
		conn(curl, "93.184.216.34", 443),
		conn(python, "10.0.0.7", 5432),
	}
}

// BenchmarkUpstreamRules evaluates all 93 upstream rules (every rule
// enabled, all matches reported) over the event mix: the engine's cost per
// event.
func BenchmarkUpstreamRules(b *testing.B) {
	eng, n := upstreamEngine(b)
	evs := eventMix()
	var matched []*engine.Rule
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		matched = eng.Match(&evs[i%len(evs)], matched[:0])
	}
	b.StopTimer()
	b.ReportMetric(float64(n), "rules")
}
