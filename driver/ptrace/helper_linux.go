//go:build linux && amd64

package ptrace

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// helperEnv, in the environment of a process started from a binary that
// imports this package, makes the package's init function act as the
// tracee's helper instead of letting the program run: "exec:NRS" installs a
// seccomp filter tracing the comma-separated syscall numbers NRS and execs
// os.Args[0] with os.Args[1:] as its argv (and the environment without
// helperEnv); "probe:NR" installs a filter tracing NR, calls getppid and
// exits with one of the probe codes below.
const helperEnv = "VIGIL_PTRACE_HELPER"

// Exit codes of the helper in probe mode (and, for setup failures, in exec
// mode, where the command's own exit codes follow).
const (
	helperOK          = 0
	helperNoFilter    = 120 // seccomp filters are not supported (EINVAL, ENOSYS)
	helperFilterPerm  = 121 // installing the filter was refused
	helperNoNewPrivs  = 122 // PR_SET_NO_NEW_PRIVS failed
	helperNoTracer    = 123 // the traced syscall failed with ENOSYS: no seccomp stop reached the tracer
	helperWrongResult = 124 // the traced syscall returned something else than expected
	helperUsage       = 125 // malformed helper request
	helperExecFailed  = 126 // the command could not be executed
	helperNotFound    = 127 // the command does not exist
)

func init() {
	v, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	os.Exit(helperMain(v))
}

// helperMain runs the helper. It returns only on failure (or, in probe
// mode, with the probe's result).
func helperMain(v string) int {
	// Package initialisation runs on the main thread, the one the tracer
	// attached with PTRACE_TRACEME; keep it there.
	runtime.LockOSThread()
	mode, spec, _ := strings.Cut(v, ":")
	var nrs []uint32
	for _, f := range strings.Split(spec, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vigil: ptrace helper: bad syscall number %q\n", f)
			return helperUsage
		}
		nrs = append(nrs, uint32(n))
	}
	prog := buildFilter(nrs)
	if prog == nil {
		fmt.Fprintln(os.Stderr, "vigil: ptrace helper: too many syscalls for one seccomp filter")
		return helperUsage
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}

	switch mode {
	case "probe":
		ppid := os.Getppid()
		if code := installFilter(fprog); code != helperOK {
			return code
		}
		r, _, e := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		switch {
		case e == unix.ENOSYS:
			return helperNoTracer
		case e != 0 || int(r) != ppid:
			return helperWrongResult
		}
		runtime.KeepAlive(filter)
		return helperOK
	case "exec":
	default:
		fmt.Fprintf(os.Stderr, "vigil: ptrace helper: unknown mode %q\n", mode)
		return helperUsage
	}

	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "vigil: ptrace helper: no command")
		return helperUsage
	}
	path := os.Args[0]
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	pathp, err := syscall.BytePtrFromString(path)
	if err != nil {
		return helperUsage
	}
	argvp, err := syscall.SlicePtrFromStrings(os.Args[1:])
	if err != nil {
		return helperUsage
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return helperUsage
	}
	// From here to execve only raw system calls: nothing may make the
	// runtime start a thread (which would inherit the filter untraced).
	if code := installFilter(fprog); code != helperOK {
		return code
	}
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(pathp)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])))
	runtime.KeepAlive(filter)
	fmt.Fprintf(os.Stderr, "vigil: exec %s: %v\n", path, e)
	if e == unix.ENOENT {
		return helperNotFound
	}
	return helperExecFailed
}

// installFilter installs the seccomp filter on the calling thread: without
// no_new_privs when the process may (CAP_SYS_ADMIN, so that setuid
// programs keep working for root), else with it. It returns a helper exit
// code.
func installFilter(fprog *unix.SockFprog) int {
	e := seccompFilter(fprog)
	if e == unix.EACCES {
		if _, _, e2 := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e2 != 0 {
			return helperNoNewPrivs
		}
		e = seccompFilter(fprog)
	}
	switch e {
	case 0:
		return helperOK
	case unix.EINVAL, unix.ENOSYS:
		return helperNoFilter
	}
	return helperFilterPerm
}

// seccompFilter installs fprog with seccomp(2) (Linux 3.17), or with
// prctl(PR_SET_SECCOMP) where that syscall does not exist.
func seccompFilter(fprog *unix.SockFprog) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(fprog)))
	if e == unix.ENOSYS {
		_, _, e = unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(fprog)))
	}
	return e
}
