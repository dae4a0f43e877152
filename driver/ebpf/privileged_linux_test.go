//go:build linux && amd64

package ebpf

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

const waitTimeout = 5 * time.Second

// requireDriver skips the test when the driver cannot run here (not root,
// or the probe fails), unless VIGIL_REQUIRE_DRIVERS names ebpf, in which
// case it fails.
func requireDriver(t testing.TB) {
	t.Helper()
	required := slices.Contains(strings.FieldsFunc(os.Getenv("VIGIL_REQUIRE_DRIVERS"), func(r rune) bool {
		return r == ',' || r == ' '
	}), "ebpf")
	fail := t.Skipf
	if required {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("ebpf driver tests need root")
	}
	if err := Probe(); err != nil {
		fail("ebpf probe: %v", err)
	}
}

// collector keeps copies of the events the driver emits, for tests to wait
// on.
type collector struct {
	mu     sync.Mutex
	evs    []driver.Event
	notify chan struct{}
}

func (c *collector) add(ev *driver.Event) {
	cp := *ev
	cp.Data = slices.Clone(ev.Data)
	cp.Args = slices.Clone(ev.Args)
	c.mu.Lock()
	if len(c.evs) < 1<<20 {
		c.evs = append(c.evs, cp)
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// waitFor returns the first event (in arrival order) that matches, or
// fails the test after waitTimeout.
func (c *collector) waitFor(t *testing.T, what string, match func(*driver.Event) bool) driver.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for i := 0; ; {
		c.mu.Lock()
		for ; i < len(c.evs); i++ {
			if match(&c.evs[i]) {
				ev := c.evs[i]
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("no %s event within %v", what, waitTimeout)
		}
	}
}

// startDriver starts the driver for the named event types and collects
// its events until the test ends.
func startDriver(t *testing.T, types ...string) (*Driver, *collector) {
	t.Helper()
	requireDriver(t)
	var set driver.EventTypeSet
	for _, n := range types {
		set.Add(driver.MustEventType(n))
	}
	start := time.Now()
	d, err := New(&driver.Options{EventTypes: set, SelfPID: os.Getpid()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("start-up (load, filter, attach): %v", time.Since(start))
	c := &collector{notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		start := time.Now()
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		st := d.Stats()
		t.Logf("shutdown: %v; events %d, drops %d, decode errors %d", time.Since(start), st.Events, st.Drops, st.DecodeErrors)
		if st.DecodeErrors != 0 {
			t.Errorf("%d records failed to decode", st.DecodeErrors)
		}
	})
	return d, c
}

// helper returns a command that re-executes the test binary as helper
// action with args.
func helper(action string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+action)
	cmd.Stderr = os.Stderr
	return cmd
}

func is(ev *driver.Event, pid int, names ...string) bool {
	return ev.Pid == int64(pid) && slices.Contains(names, ev.Type.String())
}

func TestPrivilegedProbe(t *testing.T) {
	if os.Geteuid() != 0 {
		requireDriver(t) // skips, or fails when ebpf is required
	}
	start := time.Now()
	err := Probe()
	t.Logf("probe took %v", time.Since(start))
	if err != nil {
		// This kernel (5.8 or later with BTF, run as root) supports the
		// driver: any failure here means the probe is wrong.
		t.Fatalf("probe: %v (not supported: %v, permission: %v)", err,
			errors.Is(err, driver.ErrNotSupported), errors.Is(err, driver.ErrPermission))
	}
}

// TestPrivilegedProbeSeccomp runs the probe under a seccomp filter that
// denies bpf(2): it must say "no permission" and name seccomp.
func TestPrivilegedProbeSeccomp(t *testing.T) {
	requireDriver(t)
	out, err := helper("seccomp-probe").Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	s := string(out)
	if !strings.Contains(s, "permission=true") || !strings.Contains(s, "notsupported=false") || !strings.Contains(s, "seccomp") {
		t.Errorf("probe under seccomp: %s", s)
	}
	t.Logf("%s", strings.TrimSpace(s))
}

// TestPrivilegedProbeUnprivileged runs the probe as nobody: it must say
// "no permission" and name the missing capabilities.
func TestPrivilegedProbeUnprivileged(t *testing.T) {
	requireDriver(t)
	// Run a copy of the test binary from a directory nobody can reach.
	dir, err := os.MkdirTemp("", "vigil-ebpf-probe")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "ebpf.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := helper("probe")
	cmd.Path, cmd.Args[0], cmd.Dir = exe, exe, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run the test binary as nobody: %v", err)
	}
	s := string(out)
	if !strings.Contains(s, "permission=true") || !strings.Contains(s, "CAP_BPF") {
		t.Errorf("probe as nobody: %s", s)
	}
	t.Logf("%s", strings.TrimSpace(s))
}

func TestPrivilegedMisc(t *testing.T) {
	_, c := startDriver(t, "setuid", "setgid", "kill", "unshare", "bpf")
	cmd := helper("misc")
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid := cmd.Process.Pid
	setuid := c.waitFor(t, "setuid", func(ev *driver.Event) bool { return is(ev, pid, "setuid") })
	if setuid.UID != uint32(os.Getuid()) || setuid.Res != 0 || !setuid.Has.Has(driver.HasUID) {
		t.Errorf("setuid: uid %d res %d", setuid.UID, setuid.Res)
	}
	setgid := c.waitFor(t, "setgid", func(ev *driver.Event) bool { return is(ev, pid, "setgid") })
	if setgid.GID != uint32(os.Getgid()) || !setgid.Has.Has(driver.HasGID) {
		t.Errorf("setgid: gid %d", setgid.GID)
	}
	kill := c.waitFor(t, "kill", func(ev *driver.Event) bool { return is(ev, pid, "kill") })
	if kill.TargetPID != int64(pid) || kill.Signal != 0 || !kill.Has.Has(driver.HasTargetPID|driver.HasSignal) {
		t.Errorf("kill: target %d sig %d", kill.TargetPID, kill.Signal)
	}
	unshare := c.waitFor(t, "unshare", func(ev *driver.Event) bool { return is(ev, pid, "unshare") })
	if unshare.Flags != syscall.CLONE_NEWUTS || unshare.Res != 0 {
		t.Errorf("unshare: flags %#x res %d", unshare.Flags, unshare.Res)
	}
	bpf := c.waitFor(t, "bpf", func(ev *driver.Event) bool { return is(ev, pid, "bpf") && ev.Cmd == 0xffff })
	if bpf.Res != -int64(syscall.EINVAL) || !bpf.Has.Has(driver.HasCmd) {
		t.Errorf("bpf: cmd %d res %d", bpf.Cmd, bpf.Res)
	}
}

func TestPrivilegedExecForkExit(t *testing.T) {
	_, c := startDriver(t, "execve", "execveat", "clone", "clone3", "fork", "vfork", "procexit")
	dir := t.TempDir()
	cmd := helper("exit", "3", "alpha", "beta gamma")
	cmd.Dir = dir
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("helper: %v", err)
	}
	pid := cmd.Process.Pid
	self, _ := filepath.EvalSymlinks("/proc/self/exe")

	fork := c.waitFor(t, "clone", func(ev *driver.Event) bool {
		return is(ev, pid, "clone", "clone3", "fork", "vfork") && ev.Tid == int64(pid)
	})
	if fork.Tid != int64(pid) || fork.Res != 0 || fork.Proc == nil || fork.Proc.PPid != int64(os.Getpid()) {
		t.Errorf("clone event: tid %d res %d proc %+v", fork.Tid, fork.Res, fork.Proc)
	}

	ev := c.waitFor(t, "execve", func(ev *driver.Event) bool { return is(ev, pid, "execve") })
	p := ev.Proc
	if p == nil {
		t.Fatal("execve without Proc")
	}
	want := map[string][2]any{
		"res":       {ev.Res, int64(0)},
		"path":      {ev.Path, os.Args[0]},
		"args":      {strings.Join(ev.Args, "|"), "3|alpha|beta gamma"},
		"proc.pid":  {p.Pid, int64(pid)},
		"proc.tid":  {p.Tid, int64(pid)},
		"proc.ppid": {p.PPid, int64(os.Getpid())},
		"exe":       {p.Exe, os.Args[0]},
		"exepath":   {p.ExePath, self},
		"cwd":       {p.Cwd, dir + "/"},
		"name":      {p.Name, filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))]},
		"uid":       {p.UID, uint32(os.Geteuid())},
		"memfd":     {p.ExeFromMemfd, false},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("execve %s = %v, want %v", k, v[0], v[1])
		}
	}
	for _, b := range []driver.Mask{driver.ProcHasPid, driver.ProcHasPPid, driver.ProcHasExe, driver.ProcHasExePath,
		driver.ProcHasArgs, driver.ProcHasCwd, driver.ProcHasUser, driver.ProcHasCaps, driver.ProcHasExeIno, driver.ProcHasStart} {
		if !p.Has.Has(b) {
			t.Errorf("execve Proc.Has lacks %#x", b)
		}
	}
	if !slices.ContainsFunc(p.Env, func(e string) bool { return strings.HasPrefix(e, helperEnv+"=") }) {
		t.Errorf("execve env lacks %s", helperEnv)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(self, &st); err == nil && p.ExeIno != st.Ino {
		t.Errorf("exe inode %d, want %d", p.ExeIno, st.Ino)
	}
	if d := time.Since(time.Unix(0, ev.Time)); d < 0 || d > time.Minute {
		t.Errorf("event time %v is %v away from now", time.Unix(0, ev.Time), d)
	}

	exit := c.waitFor(t, "procexit", func(ev *driver.Event) bool { return is(ev, pid, "procexit") })
	if exit.Res != 3<<8 || exit.Proc == nil || exit.Proc.PPid != int64(os.Getpid()) {
		t.Errorf("procexit: res %d proc %+v", exit.Res, exit.Proc)
	}
}

func TestPrivilegedFiles(t *testing.T) {
	_, c := startDriver(t, "open", "openat", "rename", "renameat", "symlink", "mkdir", "rmdir", "chmod", "unlinkat")
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	cmd := helper("files", dir)
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid := cmd.Process.Pid

	open := c.waitFor(t, "open", func(ev *driver.Event) bool { return is(ev, pid, "open") })
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, "renamed.txt"), &st); err != nil {
		t.Fatal(err)
	}
	if open.Path != dir+"/rel.txt" || open.Res < 0 || open.FD != open.Res || open.Mode != 0o640 ||
		open.Flags&syscall.O_CREAT == 0 || !open.Created || !open.Has.Has(driver.HasCreated|driver.HasDev|driver.HasFDInfo) {
		t.Errorf("open: path %q res %d fd %d mode %o flags %#x created %v has %#x", open.Path, open.Res, open.FD, open.Mode, open.Flags, open.Created, open.Has)
	}
	fi := open.FDInfo
	if fi.Num != open.Res || fi.Type != driver.FDFile || fi.Name != dir+"/rel.txt" || fi.NameRaw != "rel.txt" ||
		fi.Ino != st.Ino || uint64(fi.Dev) != st.Dev || fi.OpenFlags&syscall.O_CREAT == 0 {
		t.Errorf("open FDInfo %+v (stat ino %d dev %d)", fi, st.Ino, st.Dev)
	}

	openat := c.waitFor(t, "openat with dirfd", func(ev *driver.Event) bool {
		return is(ev, pid, "openat") && strings.HasSuffix(ev.Path, "inner.txt")
	})
	if openat.Path != dir+"/sub/inner.txt" || openat.DirFD < 0 || !openat.Has.Has(driver.HasDirFD) || openat.FDInfo.NameRaw != "../sub/./inner.txt" {
		t.Errorf("openat: path %q dirfd %d raw %q", openat.Path, openat.DirFD, openat.FDInfo.NameRaw)
	}
	failed := c.waitFor(t, "failed openat", func(ev *driver.Event) bool { return is(ev, pid, "openat") && ev.Res < 0 })
	if failed.Path != dir+"/missing/none.txt" || failed.Res != -int64(syscall.ENOENT) || failed.Has.Has(driver.HasFDInfo) {
		t.Errorf("failed openat: path %q res %d has %#x", failed.Path, failed.Res, failed.Has)
	}

	rename := c.waitFor(t, "rename", func(ev *driver.Event) bool { return is(ev, pid, "rename") })
	if rename.OldPath != dir+"/rel.txt" || rename.NewPath != dir+"/renamed.txt" || rename.Res != 0 {
		t.Errorf("rename: %q -> %q res %d", rename.OldPath, rename.NewPath, rename.Res)
	}
	renameat := c.waitFor(t, "renameat", func(ev *driver.Event) bool { return is(ev, pid, "renameat") })
	if renameat.OldPath != dir+"/sub/inner.txt" || renameat.NewPath != dir+"/sub/inner2.txt" {
		t.Errorf("renameat: %q -> %q", renameat.OldPath, renameat.NewPath)
	}
	symlink := c.waitFor(t, "symlink", func(ev *driver.Event) bool { return is(ev, pid, "symlink") })
	if symlink.OldPath != "/etc/hostname" || symlink.NewPath != dir+"/link" {
		t.Errorf("symlink: target %q link %q", symlink.OldPath, symlink.NewPath)
	}
	mkdir := c.waitFor(t, "mkdir", func(ev *driver.Event) bool { return is(ev, pid, "mkdir") })
	if mkdir.Path != dir+"/made" || mkdir.Mode != 0o700 {
		t.Errorf("mkdir: %q mode %o", mkdir.Path, mkdir.Mode)
	}
	rmdir := c.waitFor(t, "rmdir", func(ev *driver.Event) bool { return is(ev, pid, "rmdir") })
	if rmdir.Path != dir+"/made" {
		t.Errorf("rmdir: %q", rmdir.Path)
	}
	chmod := c.waitFor(t, "chmod", func(ev *driver.Event) bool { return is(ev, pid, "chmod") })
	if chmod.Path != dir+"/renamed.txt" || chmod.Mode != 0o604 {
		t.Errorf("chmod: %q mode %o", chmod.Path, chmod.Mode)
	}
	unlinkat := c.waitFor(t, "unlinkat", func(ev *driver.Event) bool { return is(ev, pid, "unlinkat") })
	if unlinkat.Path != dir+"/sub/inner2.txt" || unlinkat.Flags != 0 || !unlinkat.Has.Has(driver.HasDirFD|driver.HasFlags) {
		t.Errorf("unlinkat: %q flags %d", unlinkat.Path, unlinkat.Flags)
	}
}

func TestPrivilegedNetwork(t *testing.T) {
	_, c := startDriver(t, "socket", "connect", "bind", "listen", "accept", "accept4", "sendto", "dup")
	srv := helper("server")
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("server port: %v", err)
	}
	port, _ := strconv.Atoi(strings.TrimSpace(line))
	cli := helper("client", strconv.Itoa(port))
	if err := cli.Run(); err != nil {
		t.Fatalf("client: %v", err)
	}
	spid, cpid := srv.Process.Pid, cli.Process.Pid
	lo := netip.MustParseAddr("127.0.0.1")

	bind := c.waitFor(t, "bind", func(ev *driver.Event) bool { return is(ev, spid, "bind") && ev.Sock.LocalPort == uint16(port) })
	if bind.Sock.LocalAddr != lo || bind.Sock.LocalPort != uint16(port) || !bind.Sock.Server || bind.FDInfo.Type != driver.FDIPv4 {
		t.Errorf("bind: %+v fdinfo %+v", bind.Sock, bind.FDInfo)
	}
	listen := c.waitFor(t, "listen", func(ev *driver.Event) bool { return is(ev, spid, "listen") })
	if listen.FDInfo.Sock.LocalPort != uint16(port) || listen.FDInfo.Sock.L4Proto != driver.L4TCP {
		t.Errorf("listen: %+v", listen.FDInfo)
	}

	sock := c.waitFor(t, "socket", func(ev *driver.Event) bool { return is(ev, cpid, "socket") })
	if sock.Domain != syscall.AF_INET || sock.SockType&0xf != syscall.SOCK_STREAM || sock.Res < 0 || sock.FDInfo.Type != driver.FDIPv4 {
		t.Errorf("socket: domain %d type %d res %d fdinfo %+v", sock.Domain, sock.SockType, sock.Res, sock.FDInfo)
	}
	conn := c.waitFor(t, "connect", func(ev *driver.Event) bool { return is(ev, cpid, "connect") })
	s := conn.Sock
	if conn.Res != 0 || s.RemoteAddr != lo || s.RemotePort != uint16(port) || s.LocalAddr != lo || s.LocalPort == 0 ||
		s.L4Proto != driver.L4TCP || s.Server || !conn.FDInfo.Connected || conn.FDInfo.Type != driver.FDIPv4 {
		t.Errorf("connect: res %d sock %+v fdinfo %+v", conn.Res, s, conn.FDInfo)
	}
	tuple := "127.0.0.1:" + strconv.Itoa(int(s.LocalPort)) + "->127.0.0.1:" + strconv.Itoa(port)
	if conn.FDInfo.Name != tuple || conn.FD != sock.Res {
		t.Errorf("connect fd.name %q fd %d, want %q fd %d", conn.FDInfo.Name, conn.FD, tuple, sock.Res)
	}
	send := c.waitFor(t, "sendto", func(ev *driver.Event) bool { return is(ev, cpid, "sendto") })
	if string(send.Data) != "hello vigil" || send.Res != 11 || send.FDInfo.Name != tuple {
		t.Errorf("sendto: data %q res %d name %q", send.Data, send.Res, send.FDInfo.Name)
	}
	dup := c.waitFor(t, "dup", func(ev *driver.Event) bool { return is(ev, cpid, "dup") })
	if dup.FD != sock.Res || dup.Res < 0 || dup.FDInfo.Type != driver.FDIPv4 || dup.FDInfo.Name != tuple {
		t.Errorf("dup: fd %d res %d fdinfo %+v", dup.FD, dup.Res, dup.FDInfo)
	}
	acc := c.waitFor(t, "accept", func(ev *driver.Event) bool { return is(ev, spid, "accept", "accept4") && ev.Res >= 0 })
	if acc.Res < 0 || acc.FDInfo.Name != tuple || !acc.Sock.Server || acc.Sock.RemotePort != s.LocalPort {
		t.Errorf("accept: res %d sock %+v name %q", acc.Res, acc.Sock, acc.FDInfo.Name)
	}
}

func TestPrivilegedUnixSocket(t *testing.T) {
	_, c := startDriver(t, "connect", "bind", "accept", "accept4")
	path := filepath.Join(t.TempDir(), "s.sock")
	cmd := helper("unix", path)
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid := cmd.Process.Pid
	bind := c.waitFor(t, "bind", func(ev *driver.Event) bool { return is(ev, pid, "bind") })
	if bind.FDInfo.Type != driver.FDUnix || bind.Sock.UnixPath != path || bind.FDInfo.Name != path {
		t.Errorf("bind: sock %+v fdinfo %+v", bind.Sock, bind.FDInfo)
	}
	conn := c.waitFor(t, "connect", func(ev *driver.Event) bool { return is(ev, pid, "connect") })
	if conn.Res != 0 || conn.FDInfo.Type != driver.FDUnix || conn.FDInfo.Name != path || !conn.Has.Has(driver.HasAddr) {
		t.Errorf("connect: res %d sock %+v fdinfo %+v", conn.Res, conn.Sock, conn.FDInfo)
	}
	acc := c.waitFor(t, "accept", func(ev *driver.Event) bool { return is(ev, pid, "accept", "accept4") && ev.Res >= 0 })
	if acc.FDInfo.Type != driver.FDUnix || acc.FDInfo.Name != path {
		t.Errorf("accept: fdinfo %+v", acc.FDInfo)
	}
}

func TestPrivilegedPtrace(t *testing.T) {
	_, c := startDriver(t, "ptrace")
	sleeper := helper("sleep")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = sleeper.Process.Kill()
		_ = sleeper.Wait()
	}()
	tracer := helper("ptrace", strconv.Itoa(sleeper.Process.Pid))
	if err := tracer.Run(); err != nil {
		t.Fatalf("tracer: %v", err)
	}
	ev := c.waitFor(t, "ptrace", func(ev *driver.Event) bool {
		return is(ev, tracer.Process.Pid, "ptrace") && ev.Request == 16 // PTRACE_ATTACH
	})
	if ev.TargetPID != int64(sleeper.Process.Pid) || ev.Res != 0 || !ev.Has.Has(driver.HasRequest|driver.HasTargetPID) {
		t.Errorf("ptrace: target %d res %d has %#x", ev.TargetPID, ev.Res, ev.Has)
	}
}

func TestPrivilegedMemfdExec(t *testing.T) {
	_, c := startDriver(t, "memfd_create", "execveat")
	cmd := helper("memfd")
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid := cmd.Process.Pid
	mc := c.waitFor(t, "memfd_create", func(ev *driver.Event) bool { return is(ev, pid, "memfd_create") })
	if mc.Name != "vigiltest" || mc.Res < 0 || mc.FDInfo.Type != driver.FDMemfd || mc.FDInfo.Name != "/memfd:vigiltest (deleted)" {
		t.Errorf("memfd_create: name %q res %d fdinfo %+v", mc.Name, mc.Res, mc.FDInfo)
	}
	ex := c.waitFor(t, "execveat", func(ev *driver.Event) bool { return is(ev, pid, "execveat") })
	p := ex.Proc
	if p == nil || !p.ExeFromMemfd || p.ExePath != "/memfd:vigiltest (deleted)" || p.Exe != "true" ||
		!slices.Equal(p.Args, []string{"from-memfd"}) || !p.Has.Has(driver.ProcHasExeFlags) {
		t.Errorf("execveat from memfd: %+v", p)
	}
}

// TestPrivilegedSelf checks that the driver's own process is not reported:
// the test process opens a file before a child does; the child's event
// arrives and the test's does not.
func TestPrivilegedSelf(t *testing.T) {
	_, c := startDriver(t, "openat", "open")
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "self.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := helper("files", dir)
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	c.waitFor(t, "child open", func(ev *driver.Event) bool { return is(ev, cmd.Process.Pid, "open") })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range c.evs {
		if ev.Pid == int64(os.Getpid()) {
			t.Errorf("own event reported: %s %q", ev.Type, ev.Path)
		}
	}
}

// BenchmarkStartStop measures loading, filtering and attaching the driver
// (New) and detaching it (Close).
func BenchmarkStartStop(b *testing.B) {
	requireDriver(b)
	var set driver.EventTypeSet
	for _, n := range []string{"execve", "openat", "connect"} {
		set.Add(driver.MustEventType(n))
	}
	var up, down time.Duration
	for b.Loop() {
		t0 := time.Now()
		d, err := New(&driver.Options{EventTypes: set, SelfPID: os.Getpid()})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
		up += t1.Sub(t0)
		down += time.Since(t1)
	}
	b.ReportMetric(float64(up.Microseconds())/float64(b.N)/1000, "ms-startup/op")
	b.ReportMetric(float64(down.Microseconds())/float64(b.N)/1000, "ms-shutdown/op")
}

// cgroup2Mount returns the mount point of the cgroup v2 hierarchy when its
// root is mounted, or skips the test.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mountpoint options ... - fstype source super
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) >= 5 && len(g) >= 1 && g[0] == "cgroup2" && f[3] == "/" {
			return f[4]
		}
	}
	t.Skip("no cgroup v2 hierarchy is mounted at its root")
	return ""
}

// TestPrivilegedCgroup moves a helper into scratch cgroups named like a
// docker container's (as runc moves its init), where it runs a child and
// then execs: the fork and exec records carry the cgroup v2 path, whole
// for a shallow cgroup and its last levels for a deep one.
func TestPrivilegedCgroup(t *testing.T) {
	_, c := startDriver(t, "execve", "clone", "clone3", "fork", "vfork", "procexit")
	mnt := cgroup2Mount(t)
	var rnd [32]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rnd[:])
	top := "vigil-ebpf-" + id[:8]
	// 16 levels (the most the driver walks) below the root, and 22.
	exact := []string{top}
	for i := range 13 {
		exact = append(exact, "e"+strconv.Itoa(i))
	}
	exact = append(exact, "docker", id)
	deep := []string{top}
	for i := range 19 {
		deep = append(deep, "d"+strconv.Itoa(i))
	}
	deep = append(deep, "docker", id)
	for _, tc := range []struct {
		name  string
		comps []string
		want  string
	}{
		{"shallow", []string{top, "docker", id}, "/" + top + "/docker/" + id},
		{"16 levels", exact, "/" + strings.Join(exact, "/")},
		{"deep", deep, ".../" + strings.Join(deep[len(deep)-16:], "/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(append([]string{mnt}, tc.comps...)...)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Skipf("cannot create a cgroup: %v", err)
			}
			t.Cleanup(func() {
				for i := len(tc.comps); i > 0; i-- {
					if err := os.Remove(filepath.Join(append([]string{mnt}, tc.comps[:i]...)...)); err != nil && !errors.Is(err, os.ErrNotExist) && i > 1 {
						t.Errorf("cleanup: %v", err)
					}
				}
			})
			cmd := helper("cgroup", dir)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			pid := cmd.Process.Pid
			child, err := strconv.Atoi(strings.TrimSpace(string(out)))
			if err != nil {
				t.Fatalf("helper output %q", out)
			}
			check := func(what string, ev driver.Event, want string) {
				t.Helper()
				if ev.Proc == nil || !ev.Proc.Has.Has(driver.ProcHasCgroup) {
					t.Errorf("%s: no cgroup (proc %+v)", what, ev.Proc)
					return
				}
				if got := ev.Proc.Cgroup; want != "" && got != want {
					t.Errorf("%s: cgroup %q, want %q", what, got, want)
				} else if want == "" && strings.Contains(got, id) {
					t.Errorf("%s: cgroup %q before the move", what, got)
				}
			}
			first := c.waitFor(t, "execve of the helper", func(ev *driver.Event) bool { return is(ev, pid, "execve") })
			check("execve before the move", first, "")
			fork := c.waitFor(t, "clone of the child", func(ev *driver.Event) bool {
				return is(ev, child, "clone", "clone3", "fork", "vfork") && ev.Tid == int64(child)
			})
			check("clone in the cgroup", fork, tc.want)
			check("execve of the child", c.waitFor(t, "execve of the child", func(ev *driver.Event) bool { return is(ev, child, "execve") }), tc.want)
			moved := c.waitFor(t, "execve after the move", func(ev *driver.Event) bool {
				return is(ev, pid, "execve") && slices.Contains(ev.Args, "moved")
			})
			check("execve after the move", moved, tc.want)
			c.waitFor(t, "procexit", func(ev *driver.Event) bool { return is(ev, pid, "procexit") })
		})
	}
}
