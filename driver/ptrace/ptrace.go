// Package ptrace is Vigil's event driver for a single command tree: it runs
// the command under ptrace(2) with a seccomp filter that stops the traced
// processes only on the syscalls the loaded rules need, reads their
// arguments from the tracee's memory and /proc, and produces the same
// driver.Event shapes as the eBPF driver (exit-side, paths made absolute,
// descriptor info, socket tuples, process snapshots on clone, execve and
// procexit). It is what `vigil trace -- CMD ARGS...` uses.
//
// It needs no privileges to trace its own children: the filter is
// installed with no_new_privs when the tracee may not install it
// otherwise, and ptrace of one's own child is allowed unless Yama's
// ptrace_scope is 3 (or 2 without CAP_SYS_PTRACE), a seccomp filter
// forbids ptrace, or another LSM does. This makes it the driver for
// containers where nothing else is allowed.
//
// # How a command is started
//
// The tracer goroutine locks itself to an OS thread and starts the
// command's helper (/proc/self/exe, which must import this package) with
// PTRACE_TRACEME. The helper, in this package's init function, installs the
// seccomp filter (SECCOMP_RET_TRACE for the traced syscalls,
// SECCOMP_RET_ALLOW otherwise) on its main thread and execs the command;
// the exec is the first event. Every ptrace call happens on the tracer's
// locked thread; the thread is never reused (the goroutine exits locked),
// so PTRACE_O_EXITKILL kills whatever would outlive it.
//
// At a seccomp stop the driver records the arguments (strings and
// socket addresses are read with process_vm_readv, falling back to
// PTRACE_PEEKDATA; relative paths are resolved against /proc/TID/cwd or the
// dirfd's /proc/TID/fd/N link), resumes the tracee to the syscall's exit
// with PTRACE_SYSCALL, and there reads the result and the descriptor it
// refers to (/proc/TID/fd/N, fdinfo, and for sockets a duplicate taken
// with pidfd_getfd for getsockname/getpeername) before emitting the event.
// fork, vfork, clone and clone3 are followed with PTRACE_O_TRACEFORK,
// TRACEVFORK and TRACECLONE (the child side is reported, as by the eBPF
// driver), exec with PTRACE_O_TRACEEXEC, and exits through wait4.
//
// # Caveats
//
// The tracer waits with wait4(-1, __WALL|__WNOTHREAD): besides its tracees
// it could reap a child that another goroutine started earlier from the
// same OS thread (whose Wait would then fail with ECHILD). Job-control
// stops are resumed at once (the tracees are attached with
// PTRACE_TRACEME, not PTRACE_SEIZE, so group-stops cannot be held with
// PTRACE_LISTEN). When ctx ends, the traced tree is killed rather than
// detached: detached tracees would keep a filter whose SECCOMP_RET_TRACE
// fails their syscalls with ENOSYS.
//
// # Requirements
//
// Linux 4.8 or later on x86_64 (seccomp filters and
// PTRACE_O_TRACESECCOMP are 3.5, but the seccomp stop comes after the
// syscall-entry stop only since 4.8, which the exit-side results rely on).
// pidfd_open (5.3) and pidfd_getfd (5.6) are used when present; without
// them socket descriptors are described only by the addresses the process
// passed.
package ptrace

import (
	"os"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

// Name is the driver's name.
const Name = "ptrace"

// Config holds the driver's own settings; nil means the defaults.
type Config struct {
	// Dir is the command's working directory; empty means Vigil's.
	Dir string
	// Env is the command's environment; nil means Vigil's.
	Env []string
	// Stdin, Stdout and Stderr are the command's standard files; nil
	// means Vigil's own.
	Stdin, Stdout, Stderr *os.File
	// Helper is the executable started as the tracee's helper. It must be
	// a program that imports this package (whose init function installs
	// the seccomp filter and execs the command). Empty means
	// /proc/self/exe.
	Helper string
}

// Stats are the driver's counters.
type Stats struct {
	// Events is the number of events emitted.
	Events uint64
	// Stops is the number of ptrace stops handled.
	Stops uint64
	// Processes is the number of processes traced (the command and its
	// descendants).
	Processes uint64
	// ReadErrors counts tracee memory or /proc reads that failed (the
	// affected fields are left unavailable).
	ReadErrors uint64
}

// Event types the driver treats specially.
var (
	evtProcexit = driver.MustEventType("procexit")
	evtClone    = driver.MustEventType("clone")
	evtClone3   = driver.MustEventType("clone3")
	evtFork     = driver.MustEventType("fork")
	evtVfork    = driver.MustEventType("vfork")
	evtExecve   = driver.MustEventType("execve")
	evtExecveat = driver.MustEventType("execveat")
)

// nrType returns the event type of syscall nr.
func nrType(nr uint64) driver.EventType { return syscalls.Type(nr) }

// childSide reports the syscalls reported from the child's side (through
// PTRACE_EVENT_FORK/VFORK/CLONE) rather than at their exit, and those that
// never return: the seccomp filter does not stop on them.
func childSide(nr uint64) bool {
	switch nr {
	case syscalls.Clone, syscalls.Fork, syscalls.Vfork, syscalls.Clone3, syscalls.Exit, syscalls.ExitGroup:
		return true
	}
	return false
}

// TracedSyscalls returns the x86_64 syscall numbers the seccomp filter
// stops on for the event types in types (every syscall with an event type
// when types is empty), in increasing order. execve and execveat are always
// traced: process tracking needs the file name an exec was given.
func TracedSyscalls(types driver.EventTypeSet) []uint32 {
	all := types.Empty()
	var nrs []uint32
	for nr := range syscalls.Count {
		n, t := uint64(nr), syscalls.Type(uint64(nr))
		if t == driver.EventUnknown || childSide(n) {
			continue
		}
		if all || types.Has(t) || n == syscalls.Execve || n == syscalls.Execveat {
			nrs = append(nrs, uint32(nr))
		}
	}
	return nrs
}

// coverage returns the event types and fields the driver produces.
func coverage() driver.Coverage {
	var ev driver.EventTypeSet
	for nr := range syscalls.Count {
		t := syscalls.Type(uint64(nr))
		if t != driver.EventUnknown && (!childSide(uint64(nr)) || t == evtClone || t == evtClone3 || t == evtFork || t == evtVfork) {
			ev.Add(t)
		}
	}
	ev.Add(evtProcexit)
	return driver.Coverage{
		Events: ev,
		Fields: driver.HasRes | driver.HasFD | driver.HasDirFD | driver.HasPath | driver.HasOldPath |
			driver.HasNewPath | driver.HasFlags | driver.HasMode | driver.HasUID | driver.HasGID |
			driver.HasTargetPID | driver.HasRequest | driver.HasSignal | driver.HasCmd | driver.HasSocket |
			driver.HasAddr | driver.HasData | driver.HasDev | driver.HasMount | driver.HasArgs |
			driver.HasFDInfo | driver.HasName | driver.HasCreated,
		ProcFields: driver.ProcHasPid | driver.ProcHasPPid | driver.ProcHasVPid | driver.ProcHasName |
			driver.ProcHasExe | driver.ProcHasExePath | driver.ProcHasArgs | driver.ProcHasEnv |
			driver.ProcHasCwd | driver.ProcHasTTY | driver.ProcHasSID | driver.ProcHasLoginUID |
			driver.ProcHasUser | driver.ProcHasStart | driver.ProcHasCaps | driver.ProcHasExeFlags |
			driver.ProcHasExeIno | driver.ProcHasPGID,
		Notes: []string{
			"only the traced command and its descendants are observed",
			"every traced syscall costs two ptrace stops (entry and exit) and a few /proc reads: tens of microseconds; syscalls outside the rules' event types run at full speed",
			"the command runs with no_new_privs when Vigil lacks CAP_SYS_ADMIN: setuid programs and file capabilities do not raise privileges in the traced tree",
			"job-control stops (SIGSTOP, SIGTSTP) do not stop traced processes",
			"32-bit (ia32 compat) and x32 syscalls are not reported",
			"evt.cpu is unavailable; descriptors are described from /proc at the syscall's exit, so a descriptor changed meanwhile by another thread is described as it is then",
			"syscalls interrupted to be restarted (ERESTART*) are reported only when they complete",
			"paths are made absolute against the dirfd or the working directory without following symlinks, as Falco does",
		},
	}
}

// Coverage returns what the driver observes.
func Coverage() driver.Coverage { return coverage() }
