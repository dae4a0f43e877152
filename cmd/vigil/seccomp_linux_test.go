package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompExecEnv names the environment variable that makes the test binary
// install a seccomp filter denying bpf(2) and exec the vigil binary given in
// it, with the rest of its arguments.
const seccompExecEnv = "VIGIL_TEST_EXEC_UNDER_SECCOMP"

func init() {
	beforeTests = func() {
		bin := os.Getenv(seccompExecEnv)
		if bin == "" {
			return
		}
		if err := denyBPF(); err != nil {
			os.Stderr.WriteString("installing the seccomp filter: " + err.Error() + "\n")
			os.Exit(100)
		}
		args := append([]string{bin}, os.Args[1:]...)
		err := syscall.Exec(bin, args, os.Environ())
		os.Stderr.WriteString("exec: " + err.Error() + "\n")
		os.Exit(101)
	}
}

// denyBPF installs, on every thread, a seccomp filter that fails bpf(2)
// with EPERM (x86_64 syscall numbers).
func denyBPF() error {
	const (
		retAllow = 0x7fff0000
		retErrno = 0x00050000
	)
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_BPF},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
	}
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

// vigilUnderSeccomp runs vigil with args under a filter that denies bpf(2).
func vigilUnderSeccomp(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), seccompExecEnv+"="+vigilBin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("running vigil under seccomp: %v", err)
	}
	return r
}

// TestPrivilegedProbeUnderSeccomp checks that under a seccomp filter
// denying bpf(2), `vigil probe` says the eBPF driver has no permission and
// names seccomp, and that `--driver auto` picks another driver or, when
// none can run, exits with status 2 and a clear message.
func TestPrivilegedProbeUnderSeccomp(t *testing.T) {
	if os.Geteuid() != 0 {
		if strings.Contains(os.Getenv("VIGIL_REQUIRE_DRIVERS"), "ebpf") {
			t.Fatal("VIGIL_REQUIRE_DRIVERS names ebpf but the test is not running as root")
		}
		t.Skip("needs root")
	}
	r := vigilUnderSeccomp(t, "probe", "--json")
	var out struct {
		Drivers []probeResult `json:"drivers"`
		Auto    string        `json:"auto"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("probe output is not JSON (exit %d, stderr %q): %v: %s", r.code, r.stderr, err, r.stdout)
	}
	var ebpf *probeResult
	for i := range out.Drivers {
		if out.Drivers[i].Name == "ebpf" {
			ebpf = &out.Drivers[i]
		}
	}
	if ebpf == nil || ebpf.Status != "no_permission" || !strings.Contains(ebpf.Reason, "seccomp") {
		t.Fatalf("ebpf under seccomp: %+v", ebpf)
	}
	if out.Auto == "ebpf" {
		t.Fatal("auto picked ebpf under a filter denying bpf(2)")
	}

	r = vigilUnderSeccomp(t, "run", "--driver", "auto", "-M", "1", "-o", "webserver.enabled=false")
	if out.Auto == "" {
		r.want(t, exitUsage)
		if !strings.Contains(r.stderr, "no usable event driver") || !strings.Contains(r.stderr, "seccomp") {
			t.Errorf("run --driver auto with no usable driver: stderr %q", r.stderr)
		}
		return
	}
	r.want(t, exitOK)
	if !strings.Contains(r.stderr, "driver="+out.Auto) {
		t.Errorf("run --driver auto should have started %s: stderr %q", out.Auto, r.stderr)
	}
}
