package fanotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// The test binary doubles as the helper program the tests execute: with
// FANOTIFY_TEST_HELPER set, TestMain runs the helper instead of the tests.
const helperEnv = "FANOTIFY_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper runs a helper mode and returns the exit status.
func helper(mode string, args []string) int {
	switch mode {
	case "exit3":
		time.Sleep(300 * time.Millisecond) // long enough for /proc to be read
		return 3
	case "write":
		if err := os.WriteFile(args[0], []byte("helper"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "setuid":
		if err := syscall.Setuid(65534); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "sleep":
		time.Sleep(10 * time.Second)
		return 0
	}
	return 2
}

// helperCmd returns a command running the test binary as helper mode.
func helperCmd(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	return cmd
}

const eventWait = 10 * time.Second

func TestProbe(t *testing.T) {
	requireRoot(t)
	if err := Probe(); err != nil {
		if errors.Is(err, driver.ErrNotSupported) {
			t.Fatalf("Probe says unsupported on a kernel that has everything (%s): %v", kernelRelease(), err)
		}
		t.Fatalf("Probe: %v", err)
	}
	f, err := probeFeatures()
	if err != nil {
		t.Fatal(err)
	}
	if !f.filesystemMark || !f.openExec || !f.dfidName || !f.rename {
		t.Errorf("features %+v on %s: want all (4.20, 5.0, 5.9, 5.17)", f, kernelRelease())
	}
	cov := Coverage()
	for _, et := range []driver.EventType{evtOpenat, evtExecve, evtClone, evtProcexit, evtUnlinkat, evtRenameat2, evtMkdirat, evtConnect, evtAccept, evtListen} {
		if !cov.Events.Has(et) {
			t.Errorf("Coverage lacks %s", et)
		}
	}
	fac := Factory()
	if fac.Name != Name || !fac.Auto || fac.Probe == nil || fac.New == nil || fac.Coverage == nil {
		t.Errorf("Factory: %+v", fac)
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func TestPermissionCause(t *testing.T) {
	err := permissionCause(unix.EPERM, 63, "CAP_TEST")
	if !errors.Is(err, driver.ErrPermission) || !strings.Contains(err.Error(), "CAP_TEST") {
		t.Errorf("permissionCause: %v", err)
	}
	if err := fanInitError(unix.EINVAL, "FAN_REPORT_DFID_NAME (5.9)"); !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), "5.9") {
		t.Errorf("fanInitError(EINVAL): %v", err)
	}
	if err := fanInitError(unix.ENOSYS, ""); !errors.Is(err, driver.ErrNotSupported) {
		t.Errorf("fanInitError(ENOSYS): %v", err)
	}
}

func isOpen(ev *driver.Event, pid int, path string) bool {
	return ev.Type == evtOpenat && ev.Pid == int64(pid) && ev.Has.Has(driver.HasPath) && ev.Path == path
}

func TestFileEvents(t *testing.T) {
	dir := t.TempDir()
	self := os.Getpid()
	readPath := filepath.Join(dir, "read.txt")
	if err := os.WriteFile(readPath, []byte("r"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Opened for writing before the driver starts: the write must still
	// be reported as an open for writing.
	prePath := filepath.Join(dir, "pre.txt")
	pre, err := os.OpenFile(prePath, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Close()

	_, c := startDriver(t, nil, nil)

	t.Run("write", func(t *testing.T) {
		p := filepath.Join(dir, "written.txt")
		if err := os.WriteFile(p, []byte("w"), 0o644); err != nil {
			t.Fatal(err)
		}
		ev := c.waitFor(t, "openat of "+p, eventWait, func(ev *driver.Event) bool { return isOpen(ev, self, p) })
		if !ev.Has.Has(driver.HasFlags) || ev.Flags&oAccess == 0 {
			t.Errorf("not open for writing: %s", describe(ev))
		}
		if ev.Flags&oCreat == 0 || !ev.Has.Has(driver.HasCreated) || !ev.Created {
			t.Errorf("creation not reported: %s", describe(ev))
		}
		if !ev.Has.Has(driver.HasFDInfo) || ev.FDInfo.Name != p || ev.FDInfo.Type != driver.FDFile || ev.FDInfo.Num < 0 {
			t.Errorf("fd info: %s", describe(ev))
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if !ev.Has.Has(driver.HasDev) || ev.Ino != st.Ino || ev.FDInfo.Ino != st.Ino || ev.Dev != encodeDev(st.Dev) {
			t.Errorf("dev/ino %d/%d, want %d/%d", ev.Dev, ev.Ino, encodeDev(st.Dev), st.Ino)
		}
		if ev.Has.Has(driver.HasDirFD) {
			t.Errorf("dirfd claimed: %s", describe(ev))
		}
	})

	t.Run("read", func(t *testing.T) {
		if _, err := os.ReadFile(readPath); err != nil {
			t.Fatal(err)
		}
		ev := c.waitFor(t, "openat of "+readPath, eventWait, func(ev *driver.Event) bool { return isOpen(ev, self, readPath) })
		if !ev.Has.Has(driver.HasFlags) || ev.Flags&oAccess != 0 || ev.Flags&oCreat != 0 {
			t.Errorf("not a read-only open: %s", describe(ev))
		}
		if ev.Created {
			t.Errorf("read reported as creation: %s", describe(ev))
		}
	})

	t.Run("held open", func(t *testing.T) {
		// Still open when the driver looks: the real descriptor and flags
		// come from /proc/self/fdinfo.
		p := filepath.Join(dir, "held.txt")
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ev := c.waitFor(t, "openat of "+p, eventWait, func(ev *driver.Event) bool { return isOpen(ev, self, p) })
		if ev.FD != int64(f.Fd()) || ev.Res != int64(f.Fd()) || ev.FDInfo.Num != int64(f.Fd()) {
			t.Errorf("fd %d, want %d: %s", ev.FD, f.Fd(), describe(ev))
		}
		if ev.Flags&oAccess != oWronly || ev.Flags&unix.O_APPEND == 0 || ev.Flags&oCreat == 0 {
			t.Errorf("flags %#o, want O_WRONLY|O_APPEND|O_CREAT", ev.Flags)
		}
	})

	t.Run("write without seen open", func(t *testing.T) {
		if _, err := pre.WriteString("late"); err != nil {
			t.Fatal(err)
		}
		ev := c.waitFor(t, "inferred openat of "+prePath, eventWait, func(ev *driver.Event) bool { return isOpen(ev, self, prePath) })
		if !ev.Has.Has(driver.HasFlags) || ev.Flags&oAccess == 0 {
			t.Errorf("write intent lost: %s", describe(ev))
		}
		if ev.FD != int64(pre.Fd()) {
			t.Errorf("fd %d, want %d (found in /proc)", ev.FD, pre.Fd())
		}
		// Further writes through the same descriptor are not reported
		// again.
		if _, err := pre.WriteString("again"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("directory entries", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o750); err != nil {
			t.Fatal(err)
		}
		ev := c.waitFor(t, "mkdirat", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtMkdirat && ev.Pid == int64(self) && ev.Path == sub
		})
		if !ev.Has.Has(driver.HasMode) || ev.Mode != 0o750 {
			t.Errorf("mode: %s", describe(ev))
		}
		a, b := filepath.Join(sub, "a"), filepath.Join(dir, "b")
		if err := os.WriteFile(a, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(a, b); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "renameat2", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtRenameat2 && ev.Pid == int64(self) && ev.Has.Has(driver.HasOldPath|driver.HasNewPath) &&
				ev.OldPath == a && ev.NewPath == b
		})
		if err := syscall.Chmod(b, 0o4755); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "chmod setuid", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtChmod && ev.Pid == int64(self) && ev.Path == b && ev.Has.Has(driver.HasMode) && ev.Mode&0o4000 != 0
		})
		if err := os.Chown(b, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "chown", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtChown && ev.Pid == int64(self) && ev.Path == b && ev.UID == 65534 && ev.GID == 65534
		})
		ln := filepath.Join(dir, "link")
		if err := os.Symlink(b, ln); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "symlinkat", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtSymlinkat && ev.Pid == int64(self) && ev.NewPath == ln && ev.OldPath == b
		})
		if err := os.Remove(b); err != nil {
			t.Fatal(err)
		}
		ev = c.waitFor(t, "unlinkat of file", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtUnlinkat && ev.Pid == int64(self) && ev.Path == b
		})
		if !ev.Has.Has(driver.HasFlags) || ev.Flags != 0 {
			t.Errorf("unlink flags: %s", describe(ev))
		}
		if err := os.Remove(sub); err != nil {
			t.Fatal(err)
		}
		ev = c.waitFor(t, "unlinkat of directory", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtUnlinkat && ev.Pid == int64(self) && ev.Path == sub
		})
		if ev.Flags != atRemoveDir {
			t.Errorf("rmdir flags: %s", describe(ev))
		}
	})
}

func TestLaterMount(t *testing.T) {
	self := os.Getpid()
	d, c := startDriver(t, nil, nil)
	dir := t.TempDir()
	if err := unix.Mount("vigil-test", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	// The driver marks the new filesystem when it sees the mount table
	// change; until then writes there are not seen, so write until one is.
	deadline := time.Now().Add(eventWait)
	for i := 0; ; i++ {
		p := filepath.Join(dir, "f"+strconv.Itoa(i))
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if c.find(100*time.Millisecond, func(ev *driver.Event) bool { return isOpen(ev, self, p) && ev.Flags&oAccess != 0 }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event from a filesystem mounted after start (stats %+v)", d.Stats())
		}
	}
}

func TestProcessEvents(t *testing.T) {
	self := os.Getpid()
	_, c := startDriver(t, nil, nil)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}

	t.Run("exec and exit", func(t *testing.T) {
		cmd := helperCmd("exit3", "marker-arg")
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("helper: %v", err)
		}
		pid := cmd.Process.Pid
		ev := c.waitFor(t, "clone", eventWait, func(ev *driver.Event) bool { return ev.Type == evtClone && ev.Pid == int64(pid) })
		if p := ev.Proc; p == nil || !p.Has.Has(driver.ProcHasPid|driver.ProcHasPPid) || p.Pid != int64(pid) || p.PPid != int64(self) {
			t.Errorf("clone process: %s", describe(ev))
		}
		ev = c.waitFor(t, "execve", eventWait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == int64(pid) })
		if ev.Path != exe || !ev.Has.Has(driver.HasPath) {
			t.Errorf("execve path %q, want %q", ev.Path, exe)
		}
		if !ev.Has.Has(driver.HasArgs) || !slices.Equal(ev.Args, []string{"marker-arg"}) {
			t.Errorf("execve args %q", ev.Args)
		}
		p := ev.Proc
		if p == nil {
			t.Fatal("execve without process")
		}
		if p.ExePath != exe || p.Pid != int64(pid) || p.PPid != int64(self) || p.Name != truncComm(filepath.Base(exe)) {
			t.Errorf("execve process: %s", describe(ev))
		}
		if !p.Has.Has(driver.ProcHasCwd|driver.ProcHasUser|driver.ProcHasArgs|driver.ProcHasExePath) || p.UID != uint32(os.Geteuid()) {
			t.Errorf("execve process fields %#x: %s", uint64(p.Has), describe(ev))
		}
		ev = c.waitFor(t, "procexit", eventWait, func(ev *driver.Event) bool { return ev.Type == evtProcexit && ev.Pid == int64(pid) })
		if ev.Res != 3<<8 || ev.Has.Has(driver.HasSignal) {
			t.Errorf("exit status: %s", describe(ev))
		}
		if ev.Proc == nil || ev.Proc.PPid != int64(self) {
			t.Errorf("procexit process: %s", describe(ev))
		}
	})

	t.Run("short-lived exec", func(t *testing.T) {
		// /bin/true may be gone from /proc before the driver reads it:
		// the path still comes from fanotify's exec open.
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		ev := c.waitFor(t, "execve of true", eventWait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == int64(pid) })
		want, _ := filepath.EvalSymlinks("/bin/true")
		if ev.Path != want {
			t.Errorf("path %q, want %q", ev.Path, want)
		}
		c.waitFor(t, "procexit of true", eventWait, func(ev *driver.Event) bool { return ev.Type == evtProcexit && ev.Pid == int64(pid) })
	})

	t.Run("killed", func(t *testing.T) {
		cmd := helperCmd("sleep")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		c.waitFor(t, "execve of sleeper", eventWait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == int64(pid) })
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		ev := c.waitFor(t, "procexit of killed", eventWait, func(ev *driver.Event) bool { return ev.Type == evtProcexit && ev.Pid == int64(pid) })
		if !ev.Has.Has(driver.HasSignal) || ev.Signal != int32(syscall.SIGKILL) {
			t.Errorf("signal: %s", describe(ev))
		}
	})

	t.Run("setuid", func(t *testing.T) {
		cmd := helperCmd("setuid")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		c.waitFor(t, "setuid", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtSetuid && ev.Pid == int64(pid) && ev.Has.Has(driver.HasUID) && ev.UID == 65534
		})
	})

	t.Run("ptrace attach", func(t *testing.T) {
		cmd := helperCmd("sleep")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		defer func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}()
		c.waitFor(t, "execve of tracee", eventWait, func(ev *driver.Event) bool { return ev.Type == evtExecve && ev.Pid == int64(pid) })
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if err := unix.PtraceAttach(pid); err != nil {
				done <- err
				return
			}
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, unix.WALL, nil)
			done <- unix.PtraceDetach(pid)
		}()
		if err := <-done; err != nil {
			t.Fatalf("ptrace: %v", err)
		}
		ev := c.waitFor(t, "ptrace", eventWait, func(ev *driver.Event) bool {
			return ev.Type == evtPtrace && ev.TargetPID == int64(pid)
		})
		if ev.Pid != int64(self) || ev.Request != ptraceAttach || !ev.Has.Has(driver.HasRequest|driver.HasTargetPID) {
			t.Errorf("ptrace: %s", describe(ev))
		}
	})
}

// truncComm returns a name as the kernel keeps it in comm.
func truncComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

func TestSocketEvents(t *testing.T) {
	self := os.Getpid()
	_, c := startDriver(t, nil, &Config{SockPollInterval: 20 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ev := c.waitFor(t, "listen", eventWait, func(ev *driver.Event) bool {
		return ev.Type == evtListen && ev.Has.Has(driver.HasAddr) && ev.Sock.LocalPort == port
	})
	if ev.Pid != int64(self) || !ev.Sock.Server || ev.FDInfo.Type != driver.FDIPv4 || ev.FD != fdOf(t, ln.(*net.TCPListener)) {
		t.Errorf("listen: %s sock %+v", describe(ev), ev.Sock)
	}

	accepted := make(chan net.Conn, 1)
	go func() {
		cn, err := ln.Accept()
		if err == nil {
			accepted <- cn
		}
		close(accepted)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	defer srv.Close()
	cport := uint16(conn.LocalAddr().(*net.TCPAddr).Port)

	ev = c.waitFor(t, "connect", eventWait, func(ev *driver.Event) bool {
		return ev.Type == evtConnect && ev.Sock.RemotePort == port && ev.Sock.LocalPort == cport
	})
	wantName := "127.0.0.1:" + strconv.Itoa(int(cport)) + "->127.0.0.1:" + strconv.Itoa(int(port))
	if ev.Pid != int64(self) || ev.Res != 0 || ev.Sock.Server || ev.Sock.L4Proto != driver.L4TCP ||
		!ev.FDInfo.Connected || ev.FDInfo.Name != wantName || ev.FD != fdOf(t, conn.(*net.TCPConn)) {
		t.Errorf("connect: %s sock %+v", describe(ev), ev.Sock)
	}
	ev = c.waitFor(t, "accept", eventWait, func(ev *driver.Event) bool {
		return ev.Type == evtAccept && ev.Sock.LocalPort == port && ev.Sock.RemotePort == cport
	})
	if ev.Pid != int64(self) || !ev.Sock.Server || ev.FDInfo.Name != wantName || ev.Res != fdOf(t, srv.(*net.TCPConn)) {
		t.Errorf("accept: %s sock %+v", describe(ev), ev.Sock)
	}
}

// fdOf returns a network connection's descriptor number.
func fdOf(t *testing.T, c syscall.Conn) int64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int64
	if err := rc.Control(func(f uintptr) { fd = int64(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestOwnActivityIgnored(t *testing.T) {
	self := os.Getpid()
	d, c := startDriver(t, &driver.Options{SelfPID: self}, nil)
	dir := t.TempDir()
	// What the process running the driver does (as Vigil's own file
	// output would) must not come back as events.
	own := filepath.Join(dir, "own.log")
	for i := range 20 {
		f, err := os.OpenFile(own, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "line %d\n", i)
		f.Close()
	}
	if err := os.Rename(own, own+".1"); err != nil {
		t.Fatal(err)
	}
	// A child's write afterwards is reported; by then the driver has seen
	// everything above.
	child := filepath.Join(dir, "child.txt")
	cmd := helperCmd("write", child)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, "child's write", eventWait, func(ev *driver.Event) bool {
		return isOpen(ev, cmd.Process.Pid, child) && ev.Flags&oAccess != 0
	})
	for _, ev := range c.snapshot() {
		if ev.Pid == int64(self) || (ev.Type == evtPtrace && ev.TargetPID == int64(self)) {
			t.Errorf("own activity reported: %s", describe(&ev))
		}
	}
	if s := d.Stats(); s.Events == 0 || s.Marks == 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestNoDescriptorLeak(t *testing.T) {
	requireRoot(t)
	before := countFDs(t)
	d, err := New(&driver.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, c.emit) }()
	during := countFDs(t)
	dir := t.TempDir()
	var last string
	for i := range 2000 {
		last = filepath.Join(dir, "f"+strconv.Itoa(i%50))
		if err := os.WriteFile(last, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFor(t, "last write", eventWait, func(ev *driver.Event) bool { return isOpen(ev, os.Getpid(), last) })
	// Every event descriptor is closed once its event is handled. The
	// driver may still hold the descriptors of the batch it is handling
	// (a read buffer's worth, well under 256); a leak over 2000 writes of
	// 50 files would exceed that.
	if n := countFDs(t); n > during+256 {
		t.Errorf("%d descriptors while running after 2000 writes, %d before them", n, during)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := countFDs(t); n != before {
		t.Errorf("%d descriptors after Close, %d before New", n, before)
	}
	if err := d.Run(context.Background(), c.emit); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestCloseStopsRun(t *testing.T) {
	requireRoot(t)
	d, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background(), func(*driver.Event) {}) }()
	// Close makes a running Run return (or a Run not started yet fail).
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, errClosed) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running after Close")
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestQueueOverflow(t *testing.T) {
	requireRoot(t)
	// More distinct files than the fanotify queue holds (16384 events),
	// opened while nobody reads the queue.
	const files = 17000
	dir := t.TempDir()
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	resync := make(chan struct{}, 16)
	d, err := New(&driver.Options{
		EventTypes: driver.NewEventTypeSet(evtOpenat),
		Resync: func() {
			select {
			case resync <- struct{}{}:
			default:
			}
		},
	}, &Config{SockPollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range files {
		f, err := os.Open(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, func(*driver.Event) {}) }()
	select {
	case <-resync:
	case <-time.After(eventWait):
		t.Fatalf("no resync after a queue overflow; stats %+v", d.Stats())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.Overflows == 0 || s.Drops < s.Overflows || s.Resyncs == 0 {
		t.Errorf("stats %+v: want the overflow counted", s)
	}
}
