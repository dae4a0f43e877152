package state

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/procscan"
)

func seeded(t testing.TB, opts *Options) (*fakeFS, *State) {
	f := newFakeFS(t)
	f.add(fakeProc{pid: 1, ppid: 0, exe: "/sbin/init", cmdline: []string{"/sbin/init"}, cwd: "/"})
	f.add(fakeProc{pid: 100, ppid: 1, uid: 1000, gid: 1000, exe: "/bin/bash", cmdline: []string{"-bash"}, cwd: "/home/alice"})
	f.add(fakeProc{pid: 150, ppid: 1, exe: "/usr/sbin/sshd", cmdline: []string{"sshd", "-D"}, cwd: "/"})
	s := f.state(opts)
	if err := s.SeedFromProc(); err != nil {
		t.Fatal(err)
	}
	if n := s.Stats().Procs; n != 3 {
		t.Fatalf("seeded %d processes, want 3", n)
	}
	return f, s
}

func TestSeedAndEnrich(t *testing.T) {
	_, s := seeded(t, nil)
	ev := openEv(100, 100)
	s.Handle(ev)
	p := ev.Proc
	if p == nil || p.Name != "bash" || p.Exe != "-bash" || p.ExePath != "/bin/bash" || p.Cwd != "/home/alice/" || p.PPid != 1 {
		t.Fatalf("Proc = %+v", p)
	}
	if got := chain(p); got != "bash(100)<init(1)" {
		t.Errorf("chain = %s", got)
	}
	if p.UserName != "alice" || p.HomeDir != "/home/alice" || p.Shell != "/bin/zsh" || p.GroupName != "alice" || p.LoginName != "alice" ||
		!p.Has.Has(driver.ProcHasUserName|driver.ProcHasGroupName|driver.ProcHasLoginName|driver.ProcHasUser) {
		t.Errorf("names: %q %q %q %q %q has %b", p.UserName, p.HomeDir, p.Shell, p.GroupName, p.LoginName, p.Has)
	}
	if c := ev.Container; c == nil || c.ID != "host" || !c.Has.Has(driver.ContHasID) {
		t.Errorf("Container = %+v", c)
	}
	if s.UsersErr() != nil {
		t.Error(s.UsersErr())
	}
}

func TestLifecycle(t *testing.T) {
	_, s := seeded(t, nil)

	// Child side of a fork of bash: a copy of bash.
	fe := forkEv(200, 100, 5e9)
	s.Handle(fe)
	if p := fe.Proc; p == nil || p.Pid != 200 || p.PPid != 100 || p.Name != "bash" || p.UserName != "alice" ||
		p.StartTime != 5e9 || chain(p) != "bash(200)<bash(100)<init(1)" {
		t.Fatalf("forked child = %+v (%s)", fe.Proc, chain(fe.Proc))
	}
	if fe.Container == nil || fe.Container.ID != "host" {
		t.Errorf("child container = %+v", fe.Container)
	}
	// The parent's side names the parent.
	pe := &driver.Event{Type: et("clone"), Tid: 100, Pid: 100, Res: 200}
	s.Handle(pe)
	if pe.Proc == nil || pe.Proc.Pid != 100 || s.Stats().Procs != 4 {
		t.Errorf("parent side: %+v, %d procs", pe.Proc, s.Stats().Procs)
	}

	// exec ls in the child; the driver's buffers are reused afterwards.
	ee := execEv(200, "/usr/bin/ls", "-l", "/tmp")
	drvArgs := ee.Proc.Args
	s.Handle(ee)
	drvArgs[0] = "CLOBBERED"
	p := ee.Proc
	if p.Name != "ls" || p.Exe != "/usr/bin/ls" || p.ExePath != "/usr/bin/ls" || !slices.Equal(p.Args, []string{"-l", "/tmp"}) ||
		p.Cwd != "/work/" || p.Parent.Name != "bash" || p.UserName != "alice" {
		t.Errorf("after exec: %+v", p)
	}
	if p.Has.Has(driver.ProcHasEnv) || p.Has.Has(driver.ProcHasCaps) {
		t.Errorf("exec kept the old program's env/caps: has %b", p.Has)
	}
	// A failed exec changes nothing.
	bad := execEv(200, "/nope")
	bad.Res = -2
	s.Handle(bad)
	if bad.Proc.Name != "ls" {
		t.Errorf("failed exec changed the name to %q", bad.Proc.Name)
	}

	// A new thread is not a new process.
	te := &driver.Event{Type: et("clone"), Tid: 201, Pid: 200, Res: 0,
		Proc: &driver.Process{Has: driver.ProcHasPid | driver.ProcHasPPid, Pid: 200, Tid: 201, PPid: 100}}
	s.Handle(te)
	if te.Proc == nil || te.Proc.Pid != 200 || te.Proc.Name != "ls" || s.Stats().Procs != 4 {
		t.Errorf("thread clone: %+v, %d procs", te.Proc, s.Stats().Procs)
	}
	oe := openEv(201, 200)
	s.Handle(oe)
	if oe.Proc == nil || oe.Proc.Name != "ls" {
		t.Errorf("thread event Proc = %+v", oe.Proc)
	}
	// A thread's exit does not end the process.
	s.Handle(&driver.Event{Type: et("procexit"), Tid: 201, Pid: 200})
	s.Handle(openEv(200, 200))
	if s.Lookup(200) == nil {
		t.Fatal("thread exit removed the process")
	}

	// Grandchild, then the middle process exits.
	s.Handle(forkEv(300, 200, 6e9))
	xe := exitEv(200)
	s.Handle(xe)
	if xe.Proc == nil || xe.Proc.Name != "ls" || s.Lookup(200) == nil {
		t.Fatalf("the exit event must see its process: %+v", xe.Proc)
	}
	ge := openEv(300, 300)
	s.Handle(ge)
	if s.Lookup(200) != nil {
		t.Error("exited process still in the table after the next event")
	}
	if got := chain(ge.Proc); got != "ls(300)<bash(100)<init(1)" || ge.Proc.PPid != 100 {
		t.Errorf("re-parented chain = %s, ppid %d", got, ge.Proc.PPid)
	}
	if xe.Proc.Parent != nil {
		t.Error("removed entry keeps its Parent")
	}

	// Exit of bash moves the grandchild to init.
	s.Handle(exitEv(100))
	s.Handle(openEv(300, 300))
	if got := chain(s.Lookup(300)); got != "ls(300)<init(1)" {
		t.Errorf("chain after the parent's exit = %s", got)
	}
	s.Handle(exitEv(300))
	s.Handle(openEv(1, 1))
	if n := s.Stats().Procs; n != 2 {
		t.Errorf("%d processes left, want 2 (init, sshd)", n)
	}
	if e := s.procs[1]; e.firstChild == nil || e.firstChild.proc.Pid != 150 || e.firstChild.nextSib != nil {
		t.Errorf("init's children are not just sshd")
	}
}

func TestExecReparentAndPidReuse(t *testing.T) {
	_, s := seeded(t, nil)
	s.Handle(forkEv(200, 100, 1))
	// The driver says the exec'd process's parent is now init.
	ee := execEv(200, "/bin/sleep", "1")
	ee.Proc.Has |= driver.ProcHasPPid
	ee.Proc.PPid = 1
	s.Handle(ee)
	if got := chain(ee.Proc); got != "sleep(200)<init(1)" {
		t.Errorf("chain = %s", got)
	}
	// The exit of 200 was missed; the pid is reused by a fork of sshd.
	s.Handle(forkEv(200, 150, 2))
	if got := chain(s.Lookup(200)); got != "sshd(200)<sshd(150)<init(1)" || s.Stats().Procs != 4 {
		t.Errorf("reused pid: chain %s, %d procs", got, s.Stats().Procs)
	}
}

func TestExecFallsBackToProc(t *testing.T) {
	f, s := seeded(t, nil)
	s.Handle(forkEv(200, 100, 1))
	// The driver reports only the pid; /proc has the new program.
	f.add(fakeProc{pid: 200, ppid: 100, uid: 1000, gid: 100, exe: "/usr/bin/python3", cmdline: []string{"python3", "x.py"}, cwd: "/srv"})
	ev := &driver.Event{Type: et("execve"), Tid: 200, Pid: 200, Proc: &driver.Process{Has: driver.ProcHasPid, Pid: 200}}
	s.Handle(ev)
	p := ev.Proc
	if p.Name != "python3" || p.ExePath != "/usr/bin/python3" || !slices.Equal(p.Args, []string{"x.py"}) || p.GroupName != "users" {
		t.Errorf("exec from /proc: %+v", p)
	}
	// No driver snapshot and no /proc: argv from the event, the rest unavailable.
	s.Handle(forkEv(201, 100, 1))
	ev = &driver.Event{Type: et("execve"), Tid: 201, Pid: 201, Has: driver.HasArgs, Args: []string{"a"}}
	s.Handle(ev)
	if p := ev.Proc; !slices.Equal(p.Args, []string{"a"}) || p.Has.Has(driver.ProcHasName) || p.Has.Has(driver.ProcHasExePath) {
		t.Errorf("exec without a snapshot: %+v", p)
	}
}

func TestLazyLookup(t *testing.T) {
	f, s := seeded(t, &Options{NegativeTTL: 1e9})
	f.add(fakeProc{pid: 350, ppid: 1, exe: "/usr/bin/tmux", cmdline: []string{"tmux"}})
	f.add(fakeProc{pid: 400, ppid: 350, uid: 1001, gid: 100, exe: "/bin/sh", cmdline: []string{"sh", "-c", "x"}})
	f.add(fakeProc{pid: 777, ppid: 1, exe: "/bin/true", zombie: true})

	ev := openEv(400, 400)
	s.Handle(ev)
	if got := chain(ev.Proc); got != "sh(400)<tmux(350)<init(1)" || ev.Proc.UserName != "bob" {
		t.Fatalf("lazy chain = %s user %q", got, ev.Proc.UserName)
	}
	if st := s.Stats(); st.LazyReads != 2 || st.Procs != 5 {
		t.Errorf("stats = %+v", st)
	}
	// A thread id of a known process is never looked up.
	s.Handle(openEv(401, 400))
	if st := s.Stats(); st.LazyReads != 2 || st.LazyMisses != 0 {
		t.Errorf("stats = %+v", st)
	}

	// A pid /proc does not have costs one read per TTL.
	const t0 = 10e9
	for i := 0; i < 5; i++ {
		ev := openEv(999, 999)
		ev.Time = t0 + int64(i)*1e8
		ev.Proc = &driver.Process{Has: driver.ProcHasName, Name: "from-driver"}
		s.Handle(ev)
		if ev.Proc.Name != "from-driver" || ev.Container != nil {
			t.Fatalf("unknown pid: Proc %+v Container %+v", ev.Proc, ev.Container)
		}
	}
	if n := s.Stats().LazyMisses; n != 1 {
		t.Errorf("LazyMisses = %d, want 1", n)
	}
	f.add(fakeProc{pid: 999, ppid: 1, exe: "/bin/late", cmdline: []string{"late"}})
	ev = openEv(999, 999)
	ev.Time = t0 + 5e8
	s.Handle(ev)
	// Unknown (negative-cached) pids get only their pid.
	if ev.Proc == nil || ev.Proc.Has != driver.ProcHasPid || ev.Proc.Pid != 999 || s.Stats().LazyMisses != 1 {
		t.Errorf("negative entry not used: %+v", ev.Proc)
	}
	ev.Time = t0 + 12e8
	s.Handle(ev)
	if ev.Proc == nil || ev.Proc.Name != "late" {
		t.Errorf("negative entry did not expire: %+v", ev.Proc)
	}

	// Zombies are not brought back.
	ev = openEv(777, 777)
	s.Handle(ev)
	if ev.Proc == nil || ev.Proc.Has != driver.ProcHasPid || ev.Proc.Pid != 777 || s.Lookup(777) != nil {
		t.Errorf("zombie looked up: %+v", ev.Proc)
	}
	// Pid 0 and negative pids are never looked up.
	before := s.Stats()
	s.Handle(openEv(0, 0))
	s.Handle(openEv(-1, -1))
	if s.Stats() != before {
		t.Errorf("pid 0 changed stats: %+v", s.Stats())
	}
}

func TestForkOfUnknownParent(t *testing.T) {
	f, s := seeded(t, nil)
	// The parent is unknown but in /proc: read it, then copy it.
	f.add(fakeProc{pid: 600, ppid: 150, exe: "/usr/sbin/cron", cmdline: []string{"cron", "-f"}})
	ev := forkEv(601, 600, 1)
	s.Handle(ev)
	if got := chain(ev.Proc); got != "cron(601)<cron(600)<sshd(150)<init(1)" {
		t.Errorf("chain = %s", got)
	}
	// Neither parent nor child in /proc: the driver's snapshot only.
	ev = forkEv(701, 700, 1)
	ev.Proc.Has |= driver.ProcHasName
	ev.Proc.Name = "ghost"
	s.Handle(ev)
	if ev.Proc == nil || ev.Proc.Name != "ghost" || ev.Proc.Pid != 701 || ev.Proc.Parent != nil || s.Lookup(701) == nil {
		t.Errorf("orphan fork: %+v", ev.Proc)
	}
}

func TestUsersAndUIDName(t *testing.T) {
	users := parsePasswd([]byte(testPasswd))
	if len(users) != 4 || users[1000].name != "alice" || users[1001].home != "/home/bob" || users[0].shell != "/bin/bash" {
		t.Errorf("parsePasswd = %v", users)
	}
	groups := parseGroup([]byte(testGroup + "bad\n:x:5:\nx:x:-1:\n"))
	if len(groups) != 3 || groups[100] != "users" {
		t.Errorf("parseGroup = %v", groups)
	}

	_, s := seeded(t, nil)
	ev := &driver.Event{Type: et("setuid"), Tid: 150, Pid: 150, Has: driver.HasUID, UID: 1001}
	s.Handle(ev)
	if !ev.Has.Has(driver.HasUIDName) || ev.UIDName != "bob" || ev.Proc.UserName != "bob" || ev.Proc.UID != 1001 {
		t.Errorf("setuid: UIDName %q user %q uid %d", ev.UIDName, ev.Proc.UserName, ev.Proc.UID)
	}
	ev = &driver.Event{Type: et("setresuid"), Tid: 150, Pid: 150, Has: driver.HasUID, UID: 4242, Res: -1}
	s.Handle(ev)
	if ev.Has.Has(driver.HasUIDName) || ev.Proc.UID != 1001 {
		t.Errorf("failed setresuid to an unknown uid: %+v, uid %d", ev, ev.Proc.UID)
	}
	ev = &driver.Event{Type: et("fchownat"), Tid: 150, Pid: 150, Has: driver.HasUID | driver.HasGID, UID: 0, GID: 0}
	s.Handle(ev)
	if ev.UIDName != "root" || ev.Proc.UserName != "bob" {
		t.Errorf("chown: UIDName %q user %q", ev.UIDName, ev.Proc.UserName)
	}
	ev = &driver.Event{Type: et("setgid"), Tid: 150, Pid: 150, Has: driver.HasGID, GID: 100}
	s.Handle(ev)
	if ev.Proc.GroupName != "users" || ev.Has.Has(driver.HasUIDName) {
		t.Errorf("setgid: group %q", ev.Proc.GroupName)
	}
}

func TestUsersReload(t *testing.T) {
	f, s := seeded(t, nil)
	const t0 = 1_000_000e9
	ev := openEv(100, 100)
	ev.Time = t0
	s.Handle(ev)
	if ev.Proc.UserName != "alice" {
		t.Fatalf("user = %q", ev.Proc.UserName)
	}
	reloads := s.Stats().UserReloads
	f.write(filepath.Join(f.etc, "passwd"), "root:x:0:0::/root:/bin/sh\nalicia:x:1000:1000::/home/alicia:/bin/fish\n")
	ev.Time = t0 + 5e8 // within the second: no stat
	s.Handle(ev)
	if ev.Proc.UserName != "alice" || s.Stats().UserReloads != reloads {
		t.Errorf("reloaded within a second: %q", ev.Proc.UserName)
	}
	ev.Time = t0 + 11e8
	s.Handle(ev)
	if ev.Proc.UserName != "alicia" || ev.Proc.Shell != "/bin/fish" || s.Stats().UserReloads != reloads+1 {
		t.Errorf("after reload: %q %q, reloads %d", ev.Proc.UserName, ev.Proc.Shell, s.Stats().UserReloads)
	}
	ev.Time = t0 + 30e8 // unchanged files: no reload
	s.Handle(ev)
	if s.Stats().UserReloads != reloads+1 {
		t.Error("reloaded unchanged files")
	}
	// Files gone: names unavailable, an error to report.
	os.Remove(filepath.Join(f.etc, "passwd"))
	ev.Time = t0 + 50e8
	s.Handle(ev)
	if ev.Proc.Has.Has(driver.ProcHasUserName) || s.UsersErr() == nil || ev.Proc.GroupName != "alice" {
		t.Errorf("passwd gone: user %q has %b err %v", ev.Proc.UserName, ev.Proc.Has, s.UsersErr())
	}
}

func TestContainers(t *testing.T) {
	f, s := seeded(t, nil)
	f.add(fakeProc{pid: 500, ppid: 150, uid: 1000, gid: 1000, exe: "/bin/app", cmdline: []string{"app"},
		cgroup:  v1("/docker/" + hexA),
		nspid:   "500\t1",
		rootEtc: map[string]string{"passwd": "root:x:0:0::/root:/bin/sh\nappuser:x:1000:1000::/app:/sbin/nologin\n", "group": "app:x:1000:\n"}})
	ev := openEv(500, 500)
	s.Handle(ev)
	c := ev.Container
	if c == nil || c.ID != hexA[:12] || c.FullID != hexA || c.Type != "docker" || !c.Has.Has(driver.ContHasID|driver.ContHasType) ||
		c.Has.Has(driver.ContHasName) {
		t.Fatalf("Container = %+v", c)
	}
	if p := ev.Proc; p.UserName != "appuser" || p.GroupName != "app" || p.VPid != 1 {
		t.Errorf("container process: user %q group %q vpid %d", p.UserName, p.GroupName, p.VPid)
	}
	fe := forkEv(501, 500, 1)
	s.Handle(fe)
	if fe.Container != c || fe.Proc.UserName != "appuser" || fe.Proc.Has.Has(driver.ProcHasVPid) {
		t.Errorf("child: container %p (want %p) user %q has vpid %v", fe.Container, c, fe.Proc.UserName, fe.Proc.Has.Has(driver.ProcHasVPid))
	}
	if n := s.Stats().Containers; n != 1 {
		t.Errorf("%d containers, want 1", n)
	}
	s.Handle(exitEv(500))
	s.Handle(exitEv(501))
	s.Handle(openEv(1, 1))
	if n := s.Stats().Containers; n != 0 {
		t.Errorf("%d containers after their processes exited, want 0", n)
	}

	// runc-like: a host process moved into a container's cgroup, then exec.
	s.Handle(forkEv(800, 150, 1))
	f.add(fakeProc{pid: 800, ppid: 150, exe: "/usr/bin/sh", cmdline: []string{"sh"},
		cgroup: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + pod + ".slice/crio-" + hexB + ".scope\n"})
	ev = execEv(800, "/usr/bin/sh")
	s.Handle(ev)
	if c := ev.Container; c == nil || c.ID != hexB[:12] || c.Type != "cri-o" || c.PodUID != pod {
		t.Errorf("after exec in a container cgroup: %+v", c)
	}
	// Containers do not leave on exec.
	f.add(fakeProc{pid: 800, ppid: 150, exe: "/usr/bin/sh", cmdline: []string{"sh"}})
	ev = execEv(800, "/usr/bin/id")
	s.Handle(ev)
	if c := ev.Container; c == nil || c.ID != hexB[:12] {
		t.Errorf("second exec: %+v", c)
	}
}

func TestContainerUsersRefuseSymlinks(t *testing.T) {
	f, s := seeded(t, nil)
	f.add(fakeProc{pid: 500, ppid: 1, uid: 0, exe: "/bin/app", cmdline: []string{"app"}, cgroup: "0::/docker/" + hexA + "\n"})
	root := filepath.Join(f.proc, "500", "root", "etc")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.etc, "passwd"), filepath.Join(root, "passwd")); err != nil {
		t.Fatal(err)
	}
	ev := openEv(500, 500)
	s.Handle(ev)
	// The symlink is refused, so the host's database answers.
	if e := s.procs[500]; e.cont.users != nil || ev.Proc.UserName != "root" {
		t.Errorf("container users through a symlink: %+v, user %q", e.cont.users, ev.Proc.UserName)
	}
}

func TestBoundedChurn(t *testing.T) {
	f, s := seeded(t, nil)
	f.add(fakeProc{pid: 500, ppid: 150, exe: "/bin/app", cmdline: []string{"app"}, cgroup: "0::/docker/" + hexA + "\n"})
	s.Handle(openEv(500, 500))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	parents := []int64{100, 500, 150}
	for i := 0; i < n; i++ {
		child := int64(1000 + i%30000)
		parent := parents[i%len(parents)]
		s.Handle(forkEv(child, parent, int64(i)))
		if i%4 == 0 {
			ev := execEv(child, "/bin/true")
			ev.Proc.Args = nil
			s.Handle(ev)
		}
		s.Handle(openEv(child, child))
		s.Handle(exitEv(child))
		if i%100_000 == 0 {
			if st := s.Stats(); st.Procs > 5 || st.Containers > 1 {
				t.Fatalf("iteration %d: %+v", i, st)
			}
		}
	}
	s.Handle(openEv(1, 1))
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := s.Stats()
	if st.Procs != 4 || st.Containers != 1 || st.Evictions != 0 {
		t.Errorf("after churn: %+v", st)
	}
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 1<<20 {
		t.Errorf("heap grew by %d bytes over the churn", grow)
	}
	// Processes run by a container come and go with the container.
	for i := 0; i < 200; i++ {
		pid := 5000 + i
		s.Handle(forkEv(int64(pid), 150, 1))
		f.add(fakeProc{pid: pid, ppid: 150, exe: "/bin/sh", cmdline: []string{"sh"},
			cgroup: "0::/docker/" + hexA[:60] + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16]) + "ab\n"})
		s.Handle(execEv(int64(pid), "/bin/sh"))
	}
	if st := s.Stats(); st.Containers != 201 {
		t.Errorf("%d containers with 200 running, want 201", st.Containers)
	}
	for i := 0; i < 200; i++ {
		s.Handle(exitEv(int64(5000 + i)))
		f.del(5000 + i)
	}
	s.Handle(openEv(1, 1))
	if st := s.Stats(); st.Containers != 1 || st.Procs != 4 {
		t.Errorf("after the containers went: %+v", st)
	}
}

func TestBoundedTable(t *testing.T) {
	_, s := seeded(t, &Options{MaxProcs: 1000})
	// Exits are lost: the table must not grow beyond MaxProcs, and busy
	// processes survive eviction.
	for i := 0; i < 100_000; i++ {
		parent := int64(100)
		if i%2 == 1 {
			parent = int64(10000 + i - 1) // a chain: each odd child forks from the previous one
		}
		s.Handle(forkEv(int64(10000+i), parent, int64(i)))
		if i%50 == 0 {
			s.Handle(openEv(100, 100))
			s.Handle(openEv(1, 1))
		}
	}
	st := s.Stats()
	if st.Procs > 1000 || st.Evictions < 99_000 {
		t.Errorf("stats = %+v", st)
	}
	if s.Lookup(100) == nil || s.Lookup(1) == nil {
		t.Error("an active process was evicted")
	}
	for _, e := range s.procs {
		for p := e.parent; p != nil; p = p.parent {
			if p.removed {
				t.Fatalf("pid %d has an evicted ancestor %d", e.proc.Pid, p.proc.Pid)
			}
		}
		if e.proc.Parent != nil && (e.parent == nil || e.proc.Parent != &e.parent.proc) {
			t.Fatalf("pid %d: Parent and parent disagree", e.proc.Pid)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(&Options{MaxProcs: -1}); err == nil {
		t.Error("negative MaxProcs accepted")
	}
	s, err := New(&Options{EtcDir: t.TempDir(), ProcRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s.UsersErr() == nil {
		t.Error("missing passwd: no error")
	}
	if err := s.SeedFromProc(); err == nil {
		t.Error("SeedFromProc without btime: no error")
	}
	s.Seed([]procscan.Proc{{}}) // pid 0 is ignored
	if s.Stats().Procs != 0 {
		t.Error("pid 0 seeded")
	}
}

func TestHandleNoAlloc(t *testing.T) {
	_, s := seeded(t, nil)
	evs := []*driver.Event{openEv(100, 100), openEv(150, 150), openEv(1, 1)}
	for i, ev := range evs {
		ev.Time = 1e9 + int64(i)*1e3
	}
	evs[1].Type = et("fchownat")
	evs[1].Has |= driver.HasUID
	evs[1].UID = 1000
	for _, ev := range evs {
		s.Handle(ev)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, ev := range evs {
			ev.Time += 1e6
			s.Handle(ev)
		}
	})
	if allocs != 0 {
		t.Errorf("Handle allocates %.1f times per run", allocs)
	}
}

func FuzzUserFiles(f *testing.F) {
	f.Add([]byte(testPasswd))
	f.Add([]byte(testGroup))
	f.Add([]byte("a:b:c:d:e:f:g:h:i:j\n\n#\n:::\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for uid, u := range parsePasswd(b) {
			if u == nil || u.name == "" {
				t.Fatalf("uid %d: %+v", uid, u)
			}
		}
		for gid, g := range parseGroup(b) {
			if g == "" {
				t.Fatalf("gid %d: empty name", gid)
			}
		}
	})
}

// withCgroup adds the cgroup v2 path the driver saw to an event's snapshot.
func withCgroup(ev *driver.Event, path string) *driver.Event {
	ev.Proc.Has |= driver.ProcHasCgroup
	ev.Proc.Cgroup = path
	return ev
}

// TestDriverCgroup checks that the cgroup in the driver's fork and exec
// snapshots decides the container when /proc no longer has the process
// (short-lived container processes), and when it does not decide.
func TestDriverCgroup(t *testing.T) {
	cont := func(t *testing.T, what string, ev *driver.Event, id, typ string) {
		t.Helper()
		c := ev.Container
		if c == nil || c.ID != id[:min(12, len(id))] || c.Type != typ {
			t.Errorf("%s: container %+v, want %s (%s)", what, c, id, typ)
		}
	}
	t.Run("exec of a known host process gone from proc", func(t *testing.T) {
		f, s := seeded(t, nil)
		// runc's init: a host process (its fork carries no cgroup) that
		// moved into the container's cgroup, exec'd and exited before
		// Vigil handled the exec.
		s.Handle(forkEv(800, 150, 1))
		f.del(800)
		ev := withCgroup(execEv(800, "/usr/bin/apt", "install"), "/vigil-e2e-1/docker/"+hexB)
		s.Handle(ev)
		cont(t, "exec", ev, hexB, TypeDocker)
		if ev.Proc.Cgroup != "/vigil-e2e-1/docker/"+hexB || !ev.Proc.Has.Has(driver.ProcHasCgroup) {
			t.Errorf("entry's cgroup %q has %v", ev.Proc.Cgroup, ev.Proc.Has.Has(driver.ProcHasCgroup))
		}
		o := openEv(800, 800)
		s.Handle(o)
		cont(t, "a later event", o, hexB, TypeDocker)
		s.Handle(exitEv(800))
		s.Handle(openEv(1, 1))
		if n := s.Stats().Containers; n != 0 {
			t.Errorf("%d containers after the exit", n)
		}
	})
	t.Run("fork into a container", func(t *testing.T) {
		f, s := seeded(t, nil)
		// The parent moved into a container's cgroup since it was read
		// from /proc (still host in the table); its child is born there.
		fe := withCgroup(forkEv(801, 150, 1), "/system.slice/docker-"+hexA+".scope")
		s.Handle(fe)
		cont(t, "fork", fe, hexA, TypeDocker)
		f.del(801)
		ee := withCgroup(execEv(801, "/bin/sh"), "/system.slice/docker-"+hexA+".scope")
		s.Handle(ee)
		cont(t, "exec", ee, hexA, TypeDocker)
		// A child in the same cgroup shares the container.
		ce := withCgroup(forkEv(802, 801, 2), "/system.slice/docker-"+hexA+".scope")
		s.Handle(ce)
		if ce.Container != ee.Container {
			t.Errorf("child's container %+v, parent's %+v", ce.Container, ee.Container)
		}
		// A tail of a deep path.
		te := withCgroup(forkEv(803, 150, 3), ".../kubepods/besteffort/pod"+pod+"/"+hexB)
		s.Handle(te)
		cont(t, "fork with a cgroup tail", te, hexB, TypeCRI)
		// Unknown parent and child, gone from /proc: the driver's word.
		hexC := strings.Repeat("c0", 32)
		ue := withCgroup(forkEv(901, 900, 4), "/docker/"+hexC)
		s.Handle(ue)
		cont(t, "orphan fork", ue, hexC, TypeDocker)
		if n := s.Stats().Containers; n != 3 {
			t.Errorf("%d containers, want 3", n)
		}
	})
	t.Run("unified host", func(t *testing.T) {
		f, s := seeded(t, nil) // only 0:: lines
		f.add(fakeProc{pid: 500, ppid: 150, exe: "/bin/app", cmdline: []string{"app"}, cgroup: "0::/docker/" + hexA + "\n"})
		ev := openEv(500, 500)
		s.Handle(ev)
		cont(t, "from proc", ev, hexA, TypeDocker)
		// A path that names no container is the host's here.
		ee := withCgroup(execEv(500, "/bin/app2"), "/user.slice/user-0.slice/session-1.scope")
		s.Handle(ee)
		cont(t, "exec out of the container", ee, "host", "")
		fe := withCgroup(forkEv(501, 500, 1), "/")
		s.Handle(fe)
		cont(t, "fork in the root cgroup", fe, "host", "")
	})
	t.Run("hybrid host", func(t *testing.T) {
		f := newFakeFS(t)
		f.add(fakeProc{pid: 1, exe: "/sbin/init", cmdline: []string{"/sbin/init"}, cgroup: v1("/")})
		f.add(fakeProc{pid: 150, ppid: 1, exe: "/usr/sbin/sshd", cmdline: []string{"sshd"}, cgroup: v1("/system.slice/ssh.service")})
		// A container in the v1 hierarchies only.
		f.add(fakeProc{pid: 500, ppid: 150, exe: "/bin/app", cmdline: []string{"app"},
			cgroup: "4:memory:/docker/" + hexA + "\n1:cpu:/docker/" + hexA + "\n0::/\n"})
		s := f.state(nil)
		if err := s.SeedFromProc(); err != nil {
			t.Fatal(err)
		}
		// The v2 path names no container: it decides nothing here.
		ee := withCgroup(execEv(500, "/bin/app2"), "/")
		s.Handle(ee)
		cont(t, "exec in the v2 root", ee, hexA, TypeDocker)
		fe := withCgroup(forkEv(501, 500, 1), "/system.slice/docker.service")
		s.Handle(fe)
		cont(t, "fork", fe, hexA, TypeDocker)
		// One that names a container does.
		s.Handle(forkEv(600, 150, 2))
		f.del(600)
		ce := withCgroup(execEv(600, "/bin/sh"), "/docker/"+hexB)
		s.Handle(ce)
		cont(t, "exec in a container's v2 cgroup", ce, hexB, TypeDocker)
		// A host process whose v2 path says nothing stays on the host.
		s.Handle(forkEv(601, 150, 3))
		f.del(601)
		he := withCgroup(execEv(601, "/bin/true"), "/")
		s.Handle(he)
		cont(t, "host exec", he, "host", "")
	})
}

// TestLateEventAfterExit checks that an event a driver reports after the
// process's exit (fanotify resolves writes after the fact) still gets the
// process's context.
func TestLateEventAfterExit(t *testing.T) {
	_, s := seeded(t, nil)
	s.Handle(forkEv(200, 100, 5e9))
	s.Handle(execEv(200, "/usr/bin/cat", "/etc/shadow"))
	s.Handle(exitEv(200))
	s.Handle(openEv(100, 100)) // the exit takes effect: 200 leaves the table
	if s.Lookup(200) != nil {
		t.Fatal("process 200 still in the table after its exit")
	}
	late := openEv(200, 200)
	s.Handle(late)
	if p := late.Proc; p == nil || p.Pid != 200 || p.Name != "cat" || p.UserName != "alice" {
		t.Fatalf("late event's process = %+v", late.Proc)
	}
	if late.Container == nil || late.Container.ID != "host" {
		t.Errorf("late event's container = %+v", late.Container)
	}
	unknown := openEv(4242, 4242)
	s.Handle(unknown)
	if p := unknown.Proc; p == nil || p.Has != driver.ProcHasPid || p.Pid != 4242 {
		t.Errorf("unknown pid's process = %+v", unknown.Proc)
	}
}
