//go:build linux && amd64

package ptrace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
	"github.com/vigilsec/vigil/driver/syscalls"
)

// probeTimeout bounds how long the probe's child may take.
const probeTimeout = 10 * time.Second

// Probe reports whether the driver can run here, by doing what Run does
// on a short-lived child (this program, re-executed as the helper): start
// it with PTRACE_TRACEME, set PTRACE_O_TRACESECCOMP, have it install a
// seccomp filter returning SECCOMP_RET_TRACE for getppid and call it, and
// check that the tracer sees the seccomp stop, then the syscall's exit
// with its real result. It returns nil when all of that works; an error
// wrapping driver.ErrPermission when ptrace or the filter is refused
// (naming Yama, seccomp or the missing privilege); one wrapping
// driver.ErrNotSupported when the kernel lacks seccomp filters or
// PTRACE_O_TRACESECCOMP (Linux 3.5) or stops at seccomp before the
// syscall-entry stop (before Linux 4.8); any other error is inconclusive.
func Probe() error {
	errc := make(chan error, 1)
	go func() {
		// As in Run: the tracer thread is never reused.
		runtime.LockOSThread()
		errc <- probe()
	}()
	return <-errc
}

func probe() error {
	env := append(os.Environ(), helperEnv+"=probe:"+strconv.Itoa(syscalls.Getppid))
	pid, err := syscall.ForkExec("/proc/self/exe", []string{"vigil-ptrace-probe"}, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Ptrace: true},
	})
	if err != nil {
		return fmt.Errorf("ptrace probe: %w", startError(err))
	}
	timer := time.AfterFunc(probeTimeout, func() { _ = unix.Kill(pid, unix.SIGKILL) })
	defer timer.Stop()
	var (
		optionsSet, sawSeccomp, sawExit bool
		result                          int64
		optErr                          error
		regs                            unix.PtraceRegs
		final                           unix.WaitStatus
	)
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("ptrace probe: wait: %w", err)
		}
		if ws.Exited() || ws.Signaled() {
			final = ws
			break
		}
		if !ws.Stopped() {
			continue
		}
		sig := ws.StopSignal()
		switch {
		case !optionsSet && sig == unix.SIGTRAP:
			optionsSet = true
			if optErr = unix.PtraceSetOptions(pid, unix.PTRACE_O_TRACESYSGOOD|unix.PTRACE_O_TRACESECCOMP|unix.PTRACE_O_EXITKILL); optErr != nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			_ = unix.PtraceCont(pid, 0)
		case ws.TrapCause() == unix.PTRACE_EVENT_SECCOMP:
			sawSeccomp = true
			_ = unix.PtraceSyscall(pid, 0)
		case sig == unix.SIGTRAP|0x80:
			if sawSeccomp && !sawExit && unix.PtraceGetRegs(pid, &regs) == nil {
				sawExit, result = true, int64(regs.Rax)
			}
			_ = unix.PtraceCont(pid, 0)
		case ws.TrapCause() > 0:
			_ = unix.PtraceCont(pid, 0)
		default:
			_ = unix.PtraceCont(pid, int(sig))
		}
	}
	if optErr != nil {
		if errors.Is(optErr, unix.EINVAL) {
			return fmt.Errorf("ptrace probe: PTRACE_O_TRACESECCOMP: %w: it needs Linux 3.5", driver.ErrNotSupported)
		}
		return fmt.Errorf("ptrace probe: set options: %w", optErr)
	}
	if sawExit && result == -int64(unix.ENOSYS) {
		return fmt.Errorf("ptrace probe: %w: the seccomp stop comes before the syscall-entry stop (Linux before 4.8), so results cannot be read at the exit", driver.ErrNotSupported)
	}
	if final.Signaled() {
		return fmt.Errorf("ptrace probe: the child was killed by %v (timed out?)", final.Signal())
	}
	switch code := final.ExitStatus(); code {
	case helperOK:
		if !sawSeccomp || !sawExit || result != int64(os.Getpid()) {
			return fmt.Errorf("ptrace probe: the traced getppid was not seen as expected (seccomp stop %v, exit stop %v, result %d)", sawSeccomp, sawExit, result)
		}
		return nil
	case helperNoTracer:
		return fmt.Errorf("ptrace probe: %w: SECCOMP_RET_TRACE did not stop the tracee (it needs Linux 3.5)", driver.ErrNotSupported)
	default:
		if err := helperError(code); err != nil {
			return fmt.Errorf("ptrace probe: %w", err)
		}
		return fmt.Errorf("ptrace probe: the child exited with status %d", code)
	}
}
