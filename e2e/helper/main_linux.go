// Command helper performs the actions of Vigil's end-to-end tests. The
// tests build it once and copy it under the names the rules look for
// (xmrig, nginx, nc, ...), so one binary plays every suspicious program.
//
// The first argument selects an action when it starts with '@' (see
// actions); with any other arguments the program does nothing and exits 0,
// so that a copy named like a miner or netcat can be run with the command
// line an attacker would give it. Errors go to stderr with exit status 1.
//
// With VIGIL_E2E_HOLD=1 in the environment the program, once its action is
// done, waits for its stdin to close before exiting, so that a test can
// keep it alive until it has seen the alert; the files and connections its
// action opened stay open until then, so that drivers that poll /proc see
// them. With VIGIL_E2E_LISTEN=HOST:PORT as well, it listens there while it
// waits (a dummy netcat that really serves a port).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// actions maps an '@' action to its implementation, which receives the
// remaining arguments. (Set in init: agent refers to it.)
var actions map[string]func(args []string) error

func init() {
	actions = map[string]func(args []string) error{
		"@open-read":     openRead,
		"@open-write":    openWrite,
		"@connect":       connect,
		"@dup-connect":   dupConnect,
		"@spawn":         spawn,
		"@agent":         agent,
		"@container":     container,
		"@ptrace-attach": ptraceAttach,
		"@traceme":       traceme,
		"@memfd-exec":    memfdExec,
		"@packet-socket": packetSocket,
		"@finit-module":  finitModule,
		"@overlay-exec":  overlayExec,
		"@netns-connect": netnsConnect,
		"@exec-loop":     execLoop,
		"@open-loop":     openLoop,
		"@lockdown":      lockdown,
	}
}

func main() {
	if len(os.Args) >= 2 && strings.HasPrefix(os.Args[1], "@") {
		f, ok := actions[os.Args[1]]
		if !ok {
			fmt.Fprintf(os.Stderr, "helper: unknown action %s\n", os.Args[1])
			os.Exit(2)
		}
		if err := f(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
	} // else a dummy program: name and command line are all that matter
	if hold {
		if addr := os.Getenv("VIGIL_E2E_LISTEN"); addr != "" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "helper: %v\n", err)
				os.Exit(1)
			}
			defer ln.Close()
		}
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
}

// hold says the process waits for its stdin to close before exiting, and
// keeps what its action opened open until then (VIGIL_E2E_HOLD=1).
var hold = os.Getenv("VIGIL_E2E_HOLD") == "1"

// closeUnlessHeld closes fd, unless the process holds its resources open
// until it exits.
func closeUnlessHeld(fd int) error {
	if hold {
		return nil
	}
	return unix.Close(fd)
}

func want(args []string, n int, usage string) error {
	if len(args) < n {
		return fmt.Errorf("usage: %s", usage)
	}
	return nil
}

// openRead opens PATH for reading and closes it. A failed open is not an
// error: rules may match failed opens too, and the event is what counts.
func openRead(args []string) error {
	if err := want(args, 1, "@open-read PATH"); err != nil {
		return err
	}
	fd, err := unix.Open(args[0], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		return closeUnlessHeld(fd)
	}
	if len(args) > 1 && args[1] == "may-fail" {
		return nil
	}
	return fmt.Errorf("open %s: %w", args[0], err)
}

// openWrite opens PATH for writing (creating it), optionally with O_TRUNC,
// writes a line and closes it.
func openWrite(args []string) error {
	if err := want(args, 1, "@open-write PATH [trunc]"); err != nil {
		return err
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC | unix.O_APPEND
	if len(args) > 1 && args[1] == "trunc" {
		flags = unix.O_WRONLY | unix.O_CREAT | unix.O_CLOEXEC | unix.O_TRUNC
	}
	fd, err := unix.Open(args[0], flags, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", args[0], err)
	}
	_, werr := unix.Write(fd, []byte("vigil e2e\n"))
	if err := closeUnlessHeld(fd); werr == nil {
		werr = err
	}
	return werr
}

// connect makes a TCP connection to ADDR (host:port) and closes it.
func connect(args []string) error {
	if err := want(args, 1, "@connect HOST:PORT"); err != nil {
		return err
	}
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return err
	}
	if hold {
		return nil // closed at exit
	}
	return c.Close()
}

// dupConnect connects to ADDR and duplicates the socket onto stdout, as a
// reverse shell does before exec'ing a shell.
func dupConnect(args []string) error {
	if err := want(args, 1, "@dup-connect HOST:PORT"); err != nil {
		return err
	}
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return err
	}
	f, err := c.(*net.TCPConn).File()
	c.Close()
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Dup3(int(f.Fd()), 1, 0); err != nil {
		return fmt.Errorf("dup3: %w", err)
	}
	return nil
}

// spawn runs a program as a child and waits for it: [--uid N] PATH ARGS...
// The child's argv[0] is PATH's base name.
func spawn(args []string) error {
	var cred *syscall.Credential
	if len(args) > 1 && args[0] == "--uid" {
		uid, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), NoSetGroups: true}
		args = args[2:]
	}
	if err := want(args, 1, "@spawn [--uid N] PATH ARGS..."); err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Args[0] = filepath.Base(args[0])
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd.Run()
}

// agent runs until stdin closes, performing one action per line ("@mode
// args...", space-separated) and answering "ok" or "error: ..." on stdout.
// It lets a test use a long-lived process (one that is not "new") or
// act through a parent whose name matters.
func agent([]string) error {
	sc := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		err := errors.New("unknown action " + fields[0])
		if f, ok := actions[fields[0]]; ok && fields[0] != "@agent" {
			err = f(fields[1:])
		}
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
		} else {
			fmt.Fprintln(out, "ok")
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return sc.Err()
}

// container makes the rest of the command run like a container's process:
// it moves itself into the cgroup CGROUP (a directory named the way a
// container runtime names them), then starts PATH ARGS... in new pid, mount
// and uts namespaces, as runc does, and waits for it. With --tty the child
// gets a new session with a pseudo-terminal as its controlling terminal and
// standard streams, and is killed when the helper's stdin closes.
//
//	@container CGROUP [--tty] PATH ARGS...
func container(args []string) error {
	if err := want(args, 2, "@container CGROUP [--tty] PATH ARGS..."); err != nil {
		return err
	}
	cg := args[0]
	args = args[1:]
	tty := false
	if args[0] == "--tty" {
		tty = true
		args = args[1:]
	}
	if err := want(args, 1, "@container CGROUP [--tty] PATH ARGS..."); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("join cgroup: %w", err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Args[0] = filepath.Base(args[0])
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS,
	}
	if !tty {
		return cmd.Run()
	}
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0 // the child's stdin
	if err := cmd.Start(); err != nil {
		return err
	}
	slave.Close()
	go func() { _, _ = io.Copy(io.Discard, master) }()
	_, _ = io.Copy(io.Discard, os.Stdin) // until the test closes stdin
	// The child is its pid namespace's init, which ignores the hangup
	// signal: end it explicitly.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return master.Close()
}

// openPTY opens a new pseudo-terminal pair.
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// ptraceAttach attaches with PTRACE_ATTACH or PTRACE_SEIZE (the first
// argument) to the process PID, or to a sleeping child of its own when no
// PID is given; it detaches from an attached process, leaves a seized one
// to its own exit (which detaches it), and kills its child.
//
//	@ptrace-attach attach|seize [PID]
func ptraceAttach(args []string) error {
	if err := want(args, 1, "@ptrace-attach attach|seize [PID]"); err != nil {
		return err
	}
	runtime.LockOSThread() // ptrace requests must come from the tracer thread
	defer runtime.UnlockOSThread()
	var pid int
	if len(args) > 1 {
		var err error
		if pid, err = strconv.Atoi(args[1]); err != nil {
			return err
		}
	} else {
		child := exec.Command("/bin/sleep", "60")
		if err := child.Start(); err != nil {
			return err
		}
		defer func() {
			_ = child.Process.Kill()
			_ = child.Wait()
		}()
		pid = child.Process.Pid
	}
	switch args[0] {
	case "attach":
		if err := unix.PtraceAttach(pid); err != nil {
			return fmt.Errorf("PTRACE_ATTACH: %w", err)
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
			return fmt.Errorf("wait for the attach stop: %w", err)
		}
		return unix.PtraceDetach(pid)
	case "seize":
		// A seized tracee keeps running, and PTRACE_DETACH needs it
		// stopped: leave it to the exit of this process.
		if err := unix.PtraceSeize(pid); err != nil {
			return fmt.Errorf("PTRACE_SEIZE: %w", err)
		}
		return nil
	}
	return fmt.Errorf("want attach or seize, not %q", args[0])
}

// traceme starts a child that asks to be traced (PTRACE_TRACEME, as
// anti-debugging code does) and then execs /bin/true; the helper detaches
// from it at the exec stop and waits for it.
func traceme([]string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait for the exec stop: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("child did not stop at exec: status %v", ws)
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fmt.Errorf("PTRACE_DETACH: %w", err)
	}
	return cmd.Wait()
}

// memfdExec copies FILE into a memfd and executes it with ARGS (argv[0]
// included) through execveat(fd, "", AT_EMPTY_PATH), or with "proc"
// through /proc/self/fd/N as fexecve did.
//
//	@memfd-exec execveat|proc FILE ARGV0 ARGS...
func memfdExec(args []string) error {
	if err := want(args, 3, "@memfd-exec execveat|proc FILE ARGV0 ARGS..."); err != nil {
		return err
	}
	data, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	fd, err := unix.MemfdCreate("vigil-e2e", 0)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	if _, err := unix.Write(fd, data); err != nil {
		return err
	}
	argv := args[2:]
	env := os.Environ()
	switch args[0] {
	case "proc":
		return unix.Exec("/proc/self/fd/"+strconv.Itoa(fd), argv, env)
	case "execveat":
		return execveat(fd, "", argv, env, unix.AT_EMPTY_PATH)
	}
	return fmt.Errorf("want execveat or proc, not %q", args[0])
}

func execveat(dirfd int, path string, argv, env []string, flags int) error {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return err
	}
	av, err := ptrs(argv)
	if err != nil {
		return err
	}
	ev, err := ptrs(env)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&av[0])), uintptr(unsafe.Pointer(&ev[0])), uintptr(flags), 0)
	return fmt.Errorf("execveat: %w", errno)
}

// ptrs returns a nil-terminated array of C strings.
func ptrs(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}

// packetSocket opens and closes an AF_PACKET socket; no frame is sent.
func packetSocket([]string) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return fmt.Errorf("socket(AF_PACKET): %w", err)
	}
	return unix.Close(fd)
}

// finitModule asks the kernel to load FILE as a module. FILE is not a
// module (and the kernel may not support modules at all), so the call fails;
// the attempt is what the test observes. It succeeding is an error.
func finitModule(args []string) error {
	if err := want(args, 1, "@finit-module FILE"); err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err == nil {
		return errors.New("finit_module loaded a non-module")
	}
	return nil
}

// overlayExec mounts an overlay file system on DIR/merged (lower, upper
// and work directories created under DIR), copies FILE into it, which puts
// the copy in the upper layer, and runs the copy. It must run in a mount
// namespace of its own: it makes every mount private first.
//
//	@overlay-exec DIR FILE
func overlayExec(args []string) error {
	if err := want(args, 2, "@overlay-exec DIR FILE"); err != nil {
		return err
	}
	dir := args[0]
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir)
	merged := filepath.Join(dir, "merged")
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	defer func() { _ = unix.Unmount(merged, unix.MNT_DETACH) }()
	data, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	dropped := filepath.Join(merged, "dropped")
	if err := os.WriteFile(dropped, data, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(dropped)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// netnsConnect gives the helper's thread a network namespace of its own in
// which the loopback interface has the address IP instead of 127.0.0.1,
// listens on IP:PORT there, and runs PATH ARGS... (argv[0] PATH's base
// name) in that namespace, typically a copy of the helper that connects to
// IP:PORT. The connection goes to an address outside 127.0.0.0/8 and the
// private ranges, yet never leaves the machine (nor the namespace).
//
//	@netns-connect IP PORT PATH ARGS...
func netnsConnect(args []string) error {
	if err := want(args, 3, "@netns-connect IP PORT PATH ARGS..."); err != nil {
		return err
	}
	ip := net.ParseIP(args[0]).To4()
	if ip == nil {
		return fmt.Errorf("not an IPv4 address: %s", args[0])
	}
	// The namespace belongs to this thread only; the thread dies with it
	// (no UnlockOSThread), so no other goroutine ever runs in it.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := ifr.SetInet4Addr(ip); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr); err != nil {
		return fmt.Errorf("set the address of lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get the flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(args[0], args[1]))
	if err != nil {
		return err
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
	cmd := exec.Command(args[2], args[3:]...)
	cmd.Args[0] = filepath.Base(args[2])
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// execLoop runs PATH (with no arguments) N times, one after the other, and
// fails if a run fails. It forks and execs directly, with no shell, so
// that a loop of thousands of short-lived processes is quick.
//
//	@exec-loop N PATH
func execLoop(args []string) error {
	if err := want(args, 2, "@exec-loop N PATH"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	argv := []string{filepath.Base(args[1])}
	attr := &syscall.ProcAttr{Env: []string{}, Files: []uintptr{0, 1, 2}}
	for i := range n {
		pid, err := syscall.ForkExec(args[1], argv, attr)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			return fmt.Errorf("run %d: wait: %w", i, err)
		}
		if ws.ExitStatus() != 0 {
			return fmt.Errorf("run %d: %v", i, ws)
		}
	}
	return nil
}

// openLoop opens PATH for reading and closes it N times.
//
//	@open-loop N PATH
func openLoop(args []string) error {
	if err := want(args, 2, "@open-loop N PATH"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	for i := range n {
		fd, err := unix.Open(args[1], unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %d: %w", i, err)
		}
		if err := unix.Close(fd); err != nil {
			return err
		}
	}
	return nil
}

// lockdown execs PATH ARGS... (argv[0] PATH's base name) with less than a
// root process usually has, the way a locked-down host or container
// restricts a sensor: a seccomp filter failing the syscalls named in DENY
// with EPERM (comma-separated: bpf, fanotify_init), and the capabilities
// named in DROP (comma-separated: CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON)
// removed from the bounding set, so that the program does not get them at
// exec. "-" names none.
//
//	@lockdown DENY DROP PATH ARGS...
func lockdown(args []string) error {
	if err := want(args, 3, "@lockdown DENY DROP PATH ARGS..."); err != nil {
		return err
	}
	runtime.LockOSThread() // the capability and seccomp calls below act on this thread
	for _, name := range list(args[1]) {
		c, ok := capabilities[name]
		if !ok {
			return fmt.Errorf("unknown capability %s", name)
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil {
			return fmt.Errorf("PR_CAPBSET_DROP %s: %w", name, err)
		}
	}
	var nrs []uint32
	for _, name := range list(args[0]) {
		nr, ok := syscallNumbers[name]
		if !ok {
			return fmt.Errorf("unknown syscall %s", name)
		}
		nrs = append(nrs, nr)
	}
	if len(nrs) > 0 {
		if err := denySyscalls(nrs); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	argv := append([]string{filepath.Base(args[2])}, args[3:]...)
	return unix.Exec(args[2], argv, os.Environ())
}

// list splits a comma-separated list; "-" is the empty list.
func list(s string) []string {
	if s == "-" || s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// capabilities and syscallNumbers are the names lockdown knows (x86_64
// syscall numbers).
var (
	capabilities = map[string]uintptr{
		"CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
		"CAP_BPF":       unix.CAP_BPF,
		"CAP_PERFMON":   unix.CAP_PERFMON,
	}
	syscallNumbers = map[string]uint32{
		"bpf":           unix.SYS_BPF,
		"fanotify_init": unix.SYS_FANOTIFY_INIT,
	}
)

// denySyscalls installs, on every thread, a seccomp filter that fails the
// syscalls nrs with EPERM and allows the rest. It sets no_new_privs, which
// seccomp needs.
func denySyscalls(nrs []uint32) error {
	const (
		retAllow = 0x7fff0000
		retErrno = 0x00050000
		archOff  = 4 // seccomp_data.arch
	)
	filter := []unix.SockFilter{
		// Any other architecture (ia32 compat calls) is refused outright.
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: archOff},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: unix.AUDIT_ARCH_X86_64},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
	}
	for _, nr := range nrs {
		filter = append(filter,
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: nr},
			unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)})
	}
	filter = append(filter, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: retAllow})
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return errno
	}
	return nil
}
