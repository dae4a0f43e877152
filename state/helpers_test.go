package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// fakeProc is one process of a fake procfs tree.
type fakeProc struct {
	pid, ppid int
	uid, gid  int
	comm      string
	cmdline   []string
	exe       string
	cwd       string
	cgroup    string // default "0::/\n"
	nspid     string // NSpid line value; default the pid
	zombie    bool
	rootEtc   map[string]string // files under root/etc (a container's)
}

// fakeFS builds procfs and /etc trees for tests.
type fakeFS struct {
	t    testing.TB
	proc string
	etc  string
}

const testPasswd = `root:x:0:0:root:/root:/bin/bash
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh
+nis
bob:x:1001:100::/home/bob:/bin/sh
dup:x:1000:1000::/nowhere:/bin/false
broken:x:notanumber:0::/:/bin/sh
short:x:5
`

const testGroup = `root:x:0:
users:x:100:bob
alice:x:1000:
`

func newFakeFS(t testing.TB) *fakeFS {
	t.Helper()
	f := &fakeFS{t: t, proc: t.TempDir(), etc: t.TempDir()}
	f.write(filepath.Join(f.proc, "stat"), "cpu 1 2 3\nbtime 1700000000\n")
	f.write(filepath.Join(f.etc, "passwd"), testPasswd)
	f.write(filepath.Join(f.etc, "group"), testGroup)
	return f
}

func (f *fakeFS) write(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeFS) add(p fakeProc) {
	f.t.Helper()
	dir := filepath.Join(f.proc, fmt.Sprint(p.pid))
	state := 'S'
	if p.zombie {
		state = 'Z'
	}
	if p.comm == "" {
		p.comm = filepath.Base(p.exe)
	}
	f.write(filepath.Join(dir, "stat"), fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n",
		p.pid, p.comm, state, p.ppid, p.pid, p.pid, 100+p.pid))
	if p.nspid == "" {
		p.nspid = fmt.Sprint(p.pid)
	}
	f.write(filepath.Join(dir, "status"), fmt.Sprintf("Tgid:\t%d\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nNSpid:\t%s\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n",
		p.pid, p.uid, p.uid, p.uid, p.uid, p.gid, p.gid, p.gid, p.gid, p.nspid))
	cmd := strings.Join(p.cmdline, "\x00")
	if len(p.cmdline) > 0 {
		cmd += "\x00"
	}
	f.write(filepath.Join(dir, "cmdline"), cmd)
	f.write(filepath.Join(dir, "loginuid"), "1000")
	if p.cgroup == "" {
		p.cgroup = "0::/\n"
	}
	f.write(filepath.Join(dir, "cgroup"), p.cgroup)
	for name, content := range p.rootEtc {
		f.write(filepath.Join(dir, "root", "etc", name), content)
	}
	_ = os.Remove(filepath.Join(dir, "exe"))
	_ = os.Remove(filepath.Join(dir, "cwd"))
	if p.exe != "" {
		if err := os.Symlink(p.exe, filepath.Join(dir, "exe")); err != nil {
			f.t.Fatal(err)
		}
	}
	if p.cwd != "" {
		if err := os.Symlink(p.cwd, filepath.Join(dir, "cwd")); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fakeFS) symlink(target, path string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeFS) del(pid int) {
	os.RemoveAll(filepath.Join(f.proc, fmt.Sprint(pid)))
}

func (f *fakeFS) state(opts *Options) *State {
	f.t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.ProcRoot, o.EtcDir = f.proc, f.etc
	s, err := New(&o)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func et(name string) driver.EventType { return driver.MustEventType(name) }

// forkEv is the child side of a fork, with the driver's snapshot.
func forkEv(child, parent int64, t int64) *driver.Event {
	return &driver.Event{Type: et("clone"), Tid: child, Pid: child, Res: 0, Time: t,
		Proc: &driver.Process{Has: driver.ProcHasPid | driver.ProcHasPPid, Pid: child, Tid: child, PPid: parent}}
}

func execEv(pid int64, exe string, args ...string) *driver.Event {
	base := filepath.Base(exe)
	return &driver.Event{Type: et("execve"), Tid: pid, Pid: pid, Has: driver.HasArgs, Args: args,
		Proc: &driver.Process{
			Has: driver.ProcHasPid | driver.ProcHasName | driver.ProcHasExe | driver.ProcHasExePath |
				driver.ProcHasArgs | driver.ProcHasCwd,
			Pid: pid, Tid: pid, Name: base, Exe: exe, ExePath: exe, Args: args, Cwd: "/work/",
		}}
}

func exitEv(pid int64) *driver.Event {
	return &driver.Event{Type: et("procexit"), Tid: pid, Pid: pid}
}

func openEv(tid, pid int64) *driver.Event {
	return &driver.Event{Type: et("openat"), Tid: tid, Pid: pid, Has: driver.HasPath, Path: "/etc/hosts"}
}

// chain returns the names of p and its ancestors.
func chain(p *driver.Process) string {
	var names []string
	for i := 0; p != nil && i < 100; p, i = p.Parent, i+1 {
		names = append(names, fmt.Sprintf("%s(%d)", p.Name, p.Pid))
	}
	return strings.Join(names, "<")
}
