package procscan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/driver"
)

// fakeProc describes one process of a fake procfs tree.
type fakeProc struct {
	pid     int
	stat    string
	status  string
	cmdline string
	environ string
	cgroup  string
	login   string
	cwd     string // symlink target, "" = none
	exe     string // symlink target, "" = none
}

func statLine(pid int, comm string, state byte, ppid, pgrp, sid, tty int, start uint64) string {
	return fmt.Sprintf("%d (%s) %c %d %d %d %d -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 %d 3133440 406 18446744073709551615 0 0\n",
		pid, comm, state, ppid, pgrp, sid, tty, start)
}

func statusText(pid, uid, gid int, nspid string) string {
	return fmt.Sprintf("Name:\tx\nTgid:\t%d\nPid:\t%d\nUid:\t0\t%d\t%d\t%d\nGid:\t0\t%d\t%d\t%d\nNSpid:\t%s\nNSpgid:\t%s\nNSsid:\t%s\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t0000000000000400\n",
		pid, pid, uid, uid, uid, gid, gid, gid, nspid, nspid, nspid)
}

// writeFakeProc builds a procfs-like tree under a temporary directory.
func writeFakeProc(t testing.TB, procs []fakeProc) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "stat"), []byte("cpu  1 2 3\ncpu0 1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "self"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "sys"), 0o755))
	for _, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(p.pid))
		must(os.MkdirAll(dir, 0o755))
		files := map[string]string{"stat": p.stat, "status": p.status, "cmdline": p.cmdline,
			"environ": p.environ, "cgroup": p.cgroup, "loginuid": p.login}
		for name, content := range files {
			if content == "" && name != "cmdline" {
				continue
			}
			must(os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		}
		if p.cwd != "" {
			must(os.Symlink(p.cwd, filepath.Join(dir, "cwd")))
		}
		if p.exe != "" {
			must(os.Symlink(p.exe, filepath.Join(dir, "exe")))
		}
	}
	return root
}

func TestSnapshotFake(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := writeFakeProc(t, []fakeProc{
		{pid: 1, stat: statLine(1, "init", 'S', 0, 1, 1, 0, 5), status: statusText(1, 0, 0, "1"),
			cmdline: "/sbin/init\x00splash\x00", environ: "HOME=/\x00TERM=linux\x00", cgroup: "0::/\n",
			login: "4294967295", cwd: "/", exe: exe},
		{pid: 42, stat: statLine(42, "my (weird) prog", 'R', 1, 42, 42, 34816, 250), status: statusText(42, 1000, 100, "42\t7"),
			cmdline: "prog\x00-x\x00a b\x00", cgroup: "0::/docker/abc\n", login: "1000", cwd: "/home/u", exe: "/memfd:evil (deleted)"},
		{pid: 2, stat: statLine(2, "kthreadd", 'S', 0, 0, 0, 0, 1), status: statusText(2, 0, 0, "2")},
		// Vanished between listing and reading: only a directory.
		{pid: 77},
	})
	procs, err := Snapshot(root)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(procs, func(a, b Proc) int { return int(a.Pid - b.Pid) })
	if len(procs) != 3 {
		t.Fatalf("got %d processes, want 3: %+v", len(procs), procs)
	}
	init, kt, p := procs[0], procs[1], procs[2]

	if init.Name != "init" || init.Exe != "/sbin/init" || !slices.Equal(init.Args, []string{"splash"}) ||
		init.ExePath != exe || init.Cwd != "/" || init.LoginUID != -1 || init.PPid != 0 ||
		!slices.Equal(init.Env, []string{"HOME=/", "TERM=linux"}) || init.Cgroup != "0::/\n" {
		t.Errorf("init = %+v", init)
	}
	if want := int64(1700000000)*1e9 + 5*1e7; init.StartTime != want {
		t.Errorf("init start = %d, want %d", init.StartTime, want)
	}
	if !init.Has.Has(driver.ProcHasExeIno) || init.ExeIno == 0 || (os.Geteuid() == 0 && !init.ExeWritable) {
		t.Errorf("init exe inode/writable: %+v", init.Process)
	}
	if kt.Exe != "kthreadd" || len(kt.Args) != 0 || kt.Has.Has(driver.ProcHasExePath) || kt.Has.Has(driver.ProcHasCwd) {
		t.Errorf("kthread = %+v", kt)
	}
	if p.Name != "my (weird) prog" || p.PPid != 1 || p.TTY != 34816 || p.UID != 1000 || p.GID != 100 ||
		p.VPid != 7 || p.SID != 7 || p.VPGID != 7 || p.PGID != 42 || p.Cwd != "/home/u/" || p.LoginUID != 1000 ||
		!slices.Equal(p.Args, []string{"-x", "a b"}) || p.ExePath != "/memfd:evil" || !p.ExeFromMemfd || !p.ExeDeleted ||
		p.CapPermitted != 0x1fffeffffff || p.CapEffective != 0x400 || p.CapInheritable != 0 {
		t.Errorf("prog = %+v", p)
	}
	want := driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName | driver.ProcHasExe |
		driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID |
		driver.ProcHasLoginUID | driver.ProcHasUser | driver.ProcHasStart | driver.ProcHasCaps | driver.ProcHasExeFlags | driver.ProcHasPGID
	if !p.Has.Has(want) || p.Has.Has(driver.ProcHasEnv) {
		t.Errorf("prog Has = %b, want %b without env", p.Has, want)
	}

	one, err := ReadProcess(root, 42)
	if err != nil || !reflect.DeepEqual(one, p) {
		t.Errorf("ReadProcess(42) = %+v, %v; want %+v", one, err, p)
	}
	if _, err := ReadProcess(root, 77); !errors.Is(err, ErrGone) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadProcess(vanished) err = %v, want ErrGone", err)
	}
	if _, err := ReadProcess(root, 12345); !errors.Is(err, ErrGone) {
		t.Errorf("ReadProcess(missing) err = %v, want ErrGone", err)
	}
	if cg, err := ReadCgroup(root, 42); err != nil || cg != "0::/docker/abc\n" {
		t.Errorf("ReadCgroup = %q, %v", cg, err)
	}
}

func TestSnapshotErrors(t *testing.T) {
	if _, err := Snapshot(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Snapshot of a missing root: no error")
	}
	root := t.TempDir() // no stat file
	if _, err := Snapshot(root); err == nil || !strings.Contains(err.Error(), "boot time") {
		t.Errorf("Snapshot without btime: err = %v", err)
	}
	// A garbled stat makes that process unreadable, not the snapshot.
	root = writeFakeProc(t, []fakeProc{
		{pid: 5, stat: "5 (x S 1\n", status: statusText(5, 0, 0, "5")},
		{pid: 6, stat: statLine(6, "ok", 'S', 1, 6, 6, 0, 1), status: "garbage"},
		{pid: 7, stat: statLine(7, "ok", 'S', 1, 7, 7, 0, 1), status: statusText(7, 0, 0, "7")},
	})
	procs, err := Snapshot(root)
	if err != nil || len(procs) != 1 || procs[0].Pid != 7 {
		t.Errorf("Snapshot = %+v, %v; want only pid 7", procs, err)
	}
	if _, err := ReadProcess(root, 5); err == nil || errors.Is(err, ErrGone) {
		t.Errorf("ReadProcess(garbled) err = %v", err)
	}
}

func TestTruncatedArgs(t *testing.T) {
	long := strings.Repeat("a", MaxArgsBytes)
	root := writeFakeProc(t, []fakeProc{{pid: 3, stat: statLine(3, "x", 'S', 1, 3, 3, 0, 1), status: statusText(3, 0, 0, "3"),
		cmdline: "x\x00" + long + "\x00", environ: strings.Repeat("K=V\x00", MaxEnvBytes)}})
	p, err := ReadProcess(root, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Exe != "x" || len(p.Args) != 0 {
		t.Errorf("truncated cmdline: exe %q args %d", p.Exe, len(p.Args))
	}
	if n := len(p.Env); n != MaxEnvBytes/4 || p.Env[n-1] != "K=V" {
		t.Errorf("truncated env: %d entries", n)
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want statInfo
		err  bool
	}{
		{in: statLine(1, "a", 'S', 0, 1, 1, 0, 7), want: statInfo{comm: "a", state: 'S', pgrp: 1, session: 1, startTicks: 7}},
		{in: statLine(9, ") (", 'Z', 3, 4, 5, 6, 8), want: statInfo{comm: ") (", state: 'Z', ppid: 3, pgrp: 4, session: 5, ttyNr: 6, startTicks: 8}},
		{in: statLine(9, "", 'R', 3, 4, 5, -1, 8), want: statInfo{comm: "", state: 'R', ppid: 3, pgrp: 4, session: 5, ttyNr: -1, startTicks: 8}},
		{in: "", err: true},
		{in: "1 (x", err: true},
		{in: "1 x) S 1 2 3", err: true},
		{in: "1 (x) S 1 2 3 4", err: true},
		{in: strings.Replace(statLine(1, "a", 'S', 0, 1, 1, 0, 7), " 0 1 1 ", " z 1 1 ", 1), err: true},
		{in: strings.Replace(statLine(1, "a", 'S', 0, 1, 1, 0, 7), "S", "SS", 1), err: true},
	} {
		got, err := parseStat([]byte(tc.in))
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	s, err := parseStatus([]byte(statusText(10, 5, 6, "10\t3\t1")))
	if err != nil || s.tgid != 10 || s.euid != 5 || s.egid != 6 || s.nspid != 1 || s.nspgid != 1 || s.nssid != 1 ||
		s.capPrm != 0x1fffeffffff || s.capEff != 0x400 || s.has&hasCaps != hasCaps {
		t.Errorf("parseStatus = %+v, %v", s, err)
	}
	for _, in := range []string{"", "Uid:\t1 2 3 4\n", "Uid:\t1\nGid:\t1\n", "Uid: a b\nGid: c d\n", ":::\n\n"} {
		if _, err := parseStatus([]byte(in)); err == nil {
			t.Errorf("parseStatus(%q): no error", in)
		}
	}
	s, err = parseStatus([]byte("Uid: 1 2\nGid: 3 4\nCapEff: zz\nNSpid: -4\n"))
	if err != nil || s.euid != 2 || s.egid != 4 || s.has&hasCapEff != 0 || s.nspid != 0 {
		t.Errorf("parseStatus(partial) = %+v, %v", s, err)
	}
}

func TestSplitNUL(t *testing.T) {
	for _, tc := range []struct {
		in        string
		truncated bool
		want      []string
	}{
		{"", false, nil},
		{"\x00", false, []string{""}},
		{"a\x00b\x00", false, []string{"a", "b"}},
		{"a\x00b\x00", true, []string{"a", "b"}},
		{"a\x00bc", true, []string{"a"}},
		{"abc", true, []string{"abc"}},
		{"nginx: worker process", false, []string{"nginx: worker process"}},
		{"a\x00\x00b\x00", false, []string{"a", "", "b"}},
	} {
		if got := splitNUL([]byte(tc.in), tc.truncated); !slices.Equal(got, tc.want) {
			t.Errorf("splitNUL(%q, %v) = %q, want %q", tc.in, tc.truncated, got, tc.want)
		}
	}
}

func TestParseExeLink(t *testing.T) {
	for _, tc := range []struct {
		in, path       string
		deleted, memfd bool
	}{
		{"/usr/bin/ls", "/usr/bin/ls", false, false},
		{"/tmp/x (deleted)", "/tmp/x", true, false},
		{"/memfd:payload (deleted)", "/memfd:payload", true, true},
		{"/memfd: (deleted)", "/memfd:", true, true},
	} {
		p, d, m := parseExeLink(tc.in)
		if p != tc.path || d != tc.deleted || m != tc.memfd {
			t.Errorf("parseExeLink(%q) = %q %v %v", tc.in, p, d, m)
		}
	}
}

func TestParseLoginUID(t *testing.T) {
	for in, want := range map[string]int64{"4294967295": -1, "0\n": 0, "1000": 1000} {
		if v, ok := parseLoginUID([]byte(in)); !ok || v != want {
			t.Errorf("parseLoginUID(%q) = %d %v", in, v, ok)
		}
	}
	for _, in := range []string{"", "-1", "x", "4294967296"} {
		if _, ok := parseLoginUID([]byte(in)); ok {
			t.Errorf("parseLoginUID(%q) ok", in)
		}
	}
}

func TestRealProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no procfs:", err)
	}
	procs, err := Snapshot("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var me *Proc
	byPid := map[int64]bool{}
	for i := range procs {
		byPid[procs[i].Pid] = true
		if procs[i].Pid == int64(self) {
			me = &procs[i]
		}
	}
	if me == nil {
		t.Fatalf("own pid %d not in snapshot of %d processes", self, len(procs))
	}
	if !byPid[1] {
		t.Error("pid 1 not in snapshot")
	}
	if me.ExePath != exe || me.Exe != os.Args[0] || !slices.Equal(me.Args, os.Args[1:]) ||
		me.PPid != int64(os.Getppid()) || me.UID != uint32(os.Geteuid()) {
		t.Errorf("own entry: exepath %q exe %q args %q ppid %d uid %d; want %q %q %q %d %d",
			me.ExePath, me.Exe, me.Args, me.PPid, me.UID, exe, os.Args[0], os.Args[1:], os.Getppid(), os.Geteuid())
	}
	wd, _ := os.Getwd()
	if me.Cwd != strings.TrimSuffix(wd, "/")+"/" {
		t.Errorf("cwd = %q, want %q/", me.Cwd, wd)
	}
	if me.Cgroup == "" || me.Name == "" || me.StartTime <= 0 || me.Zombie {
		t.Errorf("own entry: %+v", me)
	}
	one, err := ReadProcess("/proc", self)
	if err != nil || one.ExePath != exe || one.Pid != int64(self) {
		t.Errorf("ReadProcess(self) = %+v, %v", one, err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(1, "a", 'S', 0, 1, 1, 0, 7)))
	f.Add([]byte("1 ((x)) R 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStat(b)
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(statusText(3, 1, 2, "3\t1")))
	f.Add([]byte("Uid:\nGid:\t\t\nNSpid:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseStatus(b)
	})
}

func FuzzSplitNUL(f *testing.F) {
	f.Add([]byte("a\x00b\x00"), false)
	f.Fuzz(func(t *testing.T, b []byte, truncated bool) {
		out := splitNUL(b, truncated)
		n := 0
		for _, s := range out {
			n += len(s)
		}
		if n > len(b) {
			t.Fatalf("splitNUL produced %d bytes from %d", n, len(b))
		}
		_, _, _ = parseExeLink(string(b))
		_, _ = parseLoginUID(b)
		_, _ = parseBtime(b)
	})
}

func BenchmarkSnapshot(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("no procfs:", err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		procs, err := Snapshot("/proc")
		if err != nil {
			b.Fatal(err)
		}
		n = len(procs)
	}
	b.ReportMetric(float64(n), "procs")
}
