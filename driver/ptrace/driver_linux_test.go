//go:build linux && amd64

package ptrace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/driver"
)

func TestProbe(t *testing.T) {
	requireDriver(t, false)
	// The probe must not say "unsupported" or "no permission" on this
	// kernel, where the driver's tests pass: requireDriver failing or
	// skipping would have shown it.
	if err := Probe(); err != nil {
		t.Fatal(err)
	}
}

func TestTraceWrite(t *testing.T) {
	requireDriver(t, false)
	dir := t.TempDir()
	target := filepath.Join(dir, "out.txt")
	c, code := trace(t, types("openat", "execve"), nil, "/bin/sh", "-c", "echo hi > "+target)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	exe := c.mustFind(t, "execve", func(ev *driver.Event) bool { return ev.Res == 0 })
	if exe.Path != "/bin/sh" || !slices.Equal(exe.Args, []string{"-c", "echo hi > " + target}) || exe.Proc == nil ||
		exe.Proc.Name != "sh" || exe.Proc.PPid != int64(os.Getpid()) || !exe.Has.Has(driver.HasArgs|driver.HasPath) {
		t.Errorf("execve: path %q args %q proc %+v", exe.Path, exe.Args, exe.Proc)
	}
	ev := c.mustFind(t, "openat", func(ev *driver.Event) bool { return ev.Path == target })
	if ev.Res < 0 || ev.Flags&oWronly == 0 || ev.Flags&oCreat == 0 || ev.DirFD != atFDCWD || ev.Mode != 0o666 {
		t.Errorf("openat: res %d flags %#o dirfd %d mode %#o", ev.Res, ev.Flags, ev.DirFD, ev.Mode)
	}
	if !ev.Created || !ev.Has.Has(driver.HasCreated|driver.HasFDInfo|driver.HasDev|driver.HasFD) {
		t.Errorf("openat: created %v has %#x", ev.Created, ev.Has)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if ev.FDInfo.Type != driver.FDFile || ev.FDInfo.Name != target || ev.FDInfo.Num != ev.Res ||
		ev.FDInfo.NameRaw != target || ev.Ino != st.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("openat fdinfo: %+v ino %d", ev.FDInfo, ev.Ino)
	}
	if ev.Pid != exe.Pid || ev.Tid != ev.Pid || ev.Time == 0 || ev.Num <= exe.Num {
		t.Errorf("openat: tid %d pid %d time %d num %d", ev.Tid, ev.Pid, ev.Time, ev.Num)
	}
	exit := c.mustFind(t, "procexit", func(e *driver.Event) bool { return e.Pid == exe.Pid })
	if exit.Res != 0 || exit.Proc == nil || exit.Proc.Name != "sh" || exit.Num <= ev.Num {
		t.Errorf("procexit: res %d proc %+v", exit.Res, exit.Proc)
	}
	// A second open of the existing file does not create it.
	c, _ = trace(t, types("openat"), nil, "/bin/sh", "-c", "echo again >> "+target)
	ev = c.mustFind(t, "openat", func(ev *driver.Event) bool { return ev.Path == target })
	if ev.Created || !ev.Has.Has(driver.HasCreated) {
		t.Errorf("reopen: created %v", ev.Created)
	}
}

// TestForkExecRelative follows sh → sh → cat, where cat opens a file by a
// path relative to the directory sh changed to.
func TestForkExecRelative(t *testing.T) {
	requireDriver(t, false)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rel.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`cd %s && /bin/sh -c 'cat rel.txt; true' && true`, dir)
	c, code := trace(t, types("openat", "execve", "chdir"), &Config{Stdout: devNull(t)}, "/bin/sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	cd := c.mustFind(t, "chdir", nil)
	if cd.Path != dir || cd.Res != 0 {
		t.Errorf("chdir: %q res %d", cd.Path, cd.Res)
	}
	root := c.mustFind(t, "execve", func(ev *driver.Event) bool { return ev.Res == 0 })
	// The inner sh: a child of the outer one, then an exec.
	child := c.mustFind(t, "vfork", func(ev *driver.Event) bool { return ev.Proc != nil && ev.Proc.PPid == root.Pid })
	if child.Tid != child.Pid || child.Res != 0 || child.Proc.Pid != child.Pid || child.Proc.Name != "sh" {
		t.Errorf("clone child: %+v proc %+v", child, child.Proc)
	}
	inner := c.mustFind(t, "execve", func(ev *driver.Event) bool { return ev.Pid == child.Pid && ev.Res == 0 })
	if inner.Path != "/bin/sh" || inner.Proc.PPid != root.Pid || inner.Proc.Cwd != dir+"/" {
		t.Errorf("inner exec: path %q proc %+v", inner.Path, inner.Proc)
	}
	cat := c.mustFind(t, "execve", func(ev *driver.Event) bool {
		return ev.Res == 0 && ev.Proc != nil && ev.Proc.Name == "cat"
	})
	if cat.Proc.PPid != inner.Pid || !slices.Equal(cat.Args, []string{"rel.txt"}) || cat.Proc.ExePath == "" {
		t.Errorf("cat exec: path %q args %q proc %+v", cat.Path, cat.Args, cat.Proc)
	}
	if c.find("vfork", func(ev *driver.Event) bool { return ev.Pid == cat.Pid }) == nil {
		t.Error("no clone event for cat's process")
	}
	open := c.mustFind(t, "openat", func(ev *driver.Event) bool { return ev.Pid == cat.Pid && ev.FDInfo.NameRaw == "rel.txt" })
	if open.Path != filepath.Join(dir, "rel.txt") || open.Res < 0 || open.Flags&3 != 0 || open.Created {
		t.Errorf("cat open: path %q res %d flags %#o", open.Path, open.Res, open.Flags)
	}
	// Every process exited, children before their parents' exits.
	for _, pid := range []int64{root.Pid, inner.Pid, cat.Pid} {
		c.mustFind(t, "procexit", func(ev *driver.Event) bool { return ev.Pid == pid })
	}
	last := c.all()[len(c.all())-1]
	if last.Type.String() != "procexit" || last.Pid != root.Pid {
		t.Errorf("last event: %s of %d", last.Type, last.Pid)
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// testCommand returns the argv and config that run this test binary's
// action with args.
func testCommand(action string, args ...string) ([]string, *Config) {
	return append([]string{os.Args[0]}, args...), &Config{Env: append(os.Environ(), actionEnv+"="+action)}
}

func TestConnect(t *testing.T) {
	requireDriver(t, false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	argv, cfg := testCommand("connect", ln.Addr().String())
	c, code := trace(t, types("connect", "socket"), cfg, argv...)
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	ev := c.mustFind(t, "connect", func(ev *driver.Event) bool { return ev.Sock.RemotePort == port })
	lo := netip.MustParseAddr("127.0.0.1")
	if ev.Res != 0 && ev.Res != -int64(syscall.EINPROGRESS) {
		t.Errorf("connect res %d", ev.Res)
	}
	fi := ev.FDInfo
	if !ev.Has.Has(driver.HasFD|driver.HasFDInfo|driver.HasAddr) || ev.FD != fi.Num || fi.Type != driver.FDIPv4 ||
		!fi.Connected || !fi.NameChanged || fi.Sock.L4Proto != driver.L4TCP {
		t.Errorf("connect: has %#x fd %d fdinfo %+v", ev.Has, ev.FD, fi)
	}
	s := ev.Sock
	if s.RemoteAddr != lo || s.LocalAddr != lo || s.LocalPort == 0 || s.Server || s.Family != afInet {
		t.Errorf("connect tuple: %+v", s)
	}
	if want := fmt.Sprintf("127.0.0.1:%d->127.0.0.1:%d", s.LocalPort, port); fi.Name != want {
		t.Errorf("fd.name %q, want %q", fi.Name, want)
	}
	sock := c.mustFind(t, "socket", func(e *driver.Event) bool { return e.Res == ev.FD && e.Pid == ev.Pid })
	if sock.Domain != afInet || sock.SockType&0xf != sockStream || !sock.Has.Has(driver.HasSocket) {
		t.Errorf("socket: %d %d %d", sock.Domain, sock.SockType, sock.Proto)
	}
}

func TestExitStatus(t *testing.T) {
	requireDriver(t, false)
	c, code := trace(t, types("execve"), nil, "/bin/sh", "-c", "/bin/sh -c 'exit 7'")
	if code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	exits := 0
	for _, ev := range c.all() {
		if ev.Type.String() == "procexit" {
			exits++
			if ev.Res != 7<<8 || ev.Has.Has(driver.HasSignal) {
				t.Errorf("procexit of %d: res %#x", ev.Pid, ev.Res)
			}
		}
	}
	if exits == 0 {
		t.Error("no procexit")
	}
	c, code = trace(t, types("execve"), nil, "/bin/sh", "-c", "kill -KILL $$")
	if code != 128+9 {
		t.Errorf("killed: exit code %d, want 137", code)
	}
	ev := c.mustFind(t, "procexit", nil)
	if ev.Signal != 9 || !ev.Has.Has(driver.HasSignal) {
		t.Errorf("procexit: signal %d", ev.Signal)
	}
	// A command that cannot be executed.
	if _, err := New(nil, []string{"no-such-command-vigil"}, nil); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("New of a missing command: %v", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "noexec")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, code = trace(t, types("execve"), &Config{Stderr: devNull(t)}, script)
	if code != 126 {
		t.Errorf("non-executable: exit code %d, want 126", code)
	}
	ev = c.mustFind(t, "execve", nil)
	if ev.Res != -int64(syscall.EACCES) || ev.Path != script {
		t.Errorf("failed execve: res %d path %q", ev.Res, ev.Path)
	}
}

// TestCancel cancels Run while the traced tree sleeps: every process is
// killed and reaped, none is left stopped.
func TestCancel(t *testing.T) {
	requireDriver(t, false)
	d, err := New(&driver.Options{EventTypes: types("execve", "nanosleep", "clock_nanosleep")}, []string{"/bin/sh", "-c", "sleep 100 & sleep 100 & wait"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.emit) }()
	var pids []int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		pids = pids[:0]
		for _, ev := range c.all() {
			if ev.Type.String() == "execve" && ev.Res == 0 {
				pids = append(pids, ev.Pid)
			}
		}
		if len(pids) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sleeps did not start: %d execs", len(pids))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let them block in their sleeps
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if code := d.ExitCode(); code != 128+9 {
		t.Errorf("exit code %d, want 137", code)
	}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/status")
		if err != nil {
			continue // gone, as it should be
		}
		// Gone, or a zombie its new parent (init) has yet to reap: not
		// stopped, not traced, not running.
		s := string(b)
		if !strings.Contains(s, "State:\tZ (zombie)") || !strings.Contains(s, "TracerPid:\t0\n") {
			t.Errorf("process %d left behind:\n%s", pid, s)
		}
	}
	d.Close()
	d.Close()
}

// TestFilterStops checks that only the syscalls of the requested event types
// stop the tracee.
func TestFilterStops(t *testing.T) {
	requireDriver(t, false)
	dir := t.TempDir()
	script := fmt.Sprintf("mkdir -p %s/a && cat /etc/hostname && mkdir -p %s/b", dir, dir)
	allowed := types("openat", "execve", "clone", "fork", "vfork", "clone3", "procexit")
	d, err := New(&driver.Options{EventTypes: types("openat")}, []string{"/bin/sh", "-c", script}, &Config{Stdout: devNull(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	if err := d.Run(context.Background(), c.emit); err != nil {
		t.Fatal(err)
	}
	for _, ev := range c.all() {
		if !allowed.Has(ev.Type) {
			t.Errorf("unrequested event %s", ev.Type)
		}
	}
	c.mustFind(t, "openat", func(ev *driver.Event) bool { return ev.Path == "/etc/hostname" })
	// Two stops per traced syscall, a few per process (exec, exit, fork),
	// nothing for the rest (mmap, read, write, mkdir, ...).
	st := d.Stats()
	if limit := uint64(2*len(c.all()) + 8*int(st.Processes) + 8); st.Stops > limit {
		t.Errorf("%d stops for %d events and %d processes", st.Stops, len(c.all()), st.Processes)
	}
	// The same with mkdir requested.
	c, _ = trace(t, types("mkdir", "mkdirat"), &Config{Stdout: devNull(t)}, "/bin/sh", "-c", script)
	if c.find("mkdir", nil) == nil && c.find("mkdirat", nil) == nil {
		t.Error("no mkdir event when requested")
	}
	if c.find("openat", nil) != nil {
		t.Error("openat reported when not requested")
	}
}

// TestThreadExec execs from a thread that does not lead its thread group.
func TestThreadExec(t *testing.T) {
	requireDriver(t, false)
	argv, cfg := testCommand("thread-exec", "/bin/sh", "-c", "exit 3")
	c, code := trace(t, types("execve"), cfg, argv...)
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	ev := c.mustFind(t, "execve", func(ev *driver.Event) bool { return ev.Res == 0 && ev.Path == "/bin/sh" })
	if ev.Tid != ev.Pid || ev.Proc == nil || ev.Proc.Name != "sh" {
		t.Errorf("exec from a thread: tid %d pid %d proc %+v", ev.Tid, ev.Pid, ev.Proc)
	}
}

// TestUnprivileged runs the tracer as nobody: tracing its own children
// needs no privileges.
func TestUnprivileged(t *testing.T) {
	requireDriver(t, true)
	dir, err := os.MkdirTemp("", "vigil-ptrace")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "ptrace.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	run := func(action string, args ...string) string {
		cmd := exec.Command(exe, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), actionEnv+"="+action)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s as nobody: %v\n%s", action, err, out)
		}
		return string(out)
	}
	if out := run("probe"); !strings.Contains(out, "probe: <nil>") {
		t.Fatalf("probe as nobody: %s", out)
	}
	f := filepath.Join(dir, "f")
	out := run("trace", "/bin/sh", "-c", "echo hi > "+f+"; /bin/sh -c 'cat "+f+"'")
	t.Logf("%s", out)
	for _, want := range []string{"event execve", "path=/bin/sh", "event openat", "res=3 path=" + f, "exit 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestClose closes the driver while the command runs: Close kills the
// tree and returns once Run has.
func TestClose(t *testing.T) {
	requireDriver(t, false)
	d, err := New(&driver.Options{EventTypes: types("execve")}, []string{"/bin/sleep", "100"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background(), c.emit) }()
	deadline := time.Now().Add(20 * time.Second)
	for c.find("execve", nil) == nil {
		if time.Now().After(deadline) {
			t.Fatal("sleep did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after Close: %v", err)
	}
	if d.ExitCode() != 137 || time.Since(start) > 10*time.Second {
		t.Errorf("exit code %d after %v", d.ExitCode(), time.Since(start))
	}
	if err := d.Run(context.Background(), c.emit); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// TestThreadCreatedAsProcessExits traces a process whose threads keep
// creating threads while it exits. A thread created by a clone whose
// PTRACE_EVENT_CLONE the tracer never sees (the creator is killed by the
// exit_group before the tracer collects its stop) has a first stop that is
// PTRACE_EVENT_EXIT, not its initial SIGSTOP: the tracer must resume it, or
// the zombie leader is never reported and Run never returns (not even when
// ctx ends: SIGKILL does not reach a thread group that is already exiting).
func TestThreadCreatedAsProcessExits(t *testing.T) {
	requireDriver(t, false)
	const runs = 20
	for i := range runs {
		argv, cfg := testCommand("thread-churn-exit", "50")
		d, err := New(&driver.Options{EventTypes: types("clone", "clone3", "execve")}, argv, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &collector{}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx, c.emit) }()
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			// Left running: its traced process stays stuck until the
			// test binary exits.
			t.Fatalf("run %d: Run returned neither after the command exited nor when ctx ended", i)
		}
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("run %d: Run did not return after the command exited", i)
		}
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if code := d.ExitCode(); code != 0 {
			t.Fatalf("run %d: exit code %d", i, code)
		}
		if c.find("execve", nil) == nil || c.find("clone", nil) == nil && c.find("clone3", nil) == nil {
			t.Fatalf("run %d: no execve or no thread creation seen", i)
		}
		d.Close()
	}
}
