//go:build linux && amd64

package ebpf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/driver"
)

// Probe reports whether the eBPF driver can run here by doing what the
// driver does on a small scale: read the kernel's BTF, create a BPF ring
// buffer, load a raw tracepoint program that writes to it, check for the
// bpf_loop helper, and attach and detach the program. It returns nil when all of that works, an error wrapping
// driver.ErrNotSupported that names the missing feature and the first
// Linux version with it, an error wrapping driver.ErrPermission that names
// the likely cause (capabilities, seccomp, lockdown, sysctl), or another
// error when the outcome is inconclusive.
func Probe() error {
	if _, err := btf.LoadKernelSpec(); err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("ebpf: kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF, Linux 5.4) is missing: %w", driver.ErrNotSupported)
		}
		if errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("ebpf: read kernel BTF: %w (%w)", driver.ErrPermission, err)
		}
		return fmt.Errorf("ebpf: read kernel BTF: %w", err)
	}
	_ = rlimit.RemoveMemlock()

	rb, err := ebpf.NewMap(&ebpf.MapSpec{Name: "vigil_probe", Type: ebpf.RingBuf, MaxEntries: 4096})
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("ebpf: BPF ring buffer maps (Linux 5.8): %w (%w)", driver.ErrNotSupported, err)
		}
		return classify("create a ring buffer map", err)
	}
	defer rb.Close()

	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "vigil_probe",
		Type: ebpf.RawTracepoint,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			asm.StoreMem(asm.RFP, -8, asm.R1, asm.DWord),
			asm.LoadMapPtr(asm.R1, rb.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -8),
			asm.Mov.Imm(asm.R3, 8),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
		License: "GPL",
	})
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("ebpf: raw tracepoint program writing to a ring buffer (Linux 5.8): %w (%w)", driver.ErrNotSupported, err)
		}
		return classify("load a raw tracepoint program", err)
	}
	defer prog.Close()

	// The dentry walks run as bpf_loop callbacks.
	if err := features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnLoop); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("ebpf: bpf_loop helper (Linux 5.17): %w", driver.ErrNotSupported)
		}
		return classify("probe for the bpf_loop helper", err)
	}

	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exit", Program: prog})
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("ebpf: raw tracepoint sched_process_exit (Linux 4.17): %w (%w)", driver.ErrNotSupported, err)
		}
		return classify("attach a raw tracepoint", err)
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("ebpf: detach probe tracepoint: %w", err)
	}
	return nil
}

// classify wraps err from op with driver.ErrPermission and the likely cause
// when the kernel refused it (EPERM, EACCES); other errors are returned
// with context only.
func classify(op string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("ebpf: %s: %s: %w (%w)", op, permissionCause(), driver.ErrPermission, err)
	}
	return fmt.Errorf("ebpf: %s: %w", op, err)
}

// Capability bits.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// permissionCause names what most likely made the kernel refuse a BPF
// operation, from /proc/self/status, the lockdown state and sysctls.
func permissionCause() string {
	status, _ := os.ReadFile("/proc/self/status")
	var causes []string
	if capEff, ok := statusField(status, "CapEff"); ok {
		caps, err := strconv.ParseUint(capEff, 16, 64)
		if err == nil {
			has := func(c uint) bool { return caps&(1<<c) != 0 }
			if !has(capSysAdmin) && (!has(capBPF) || !has(capPerfmon)) {
				causes = append(causes, fmt.Sprintf("missing CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); CapEff is %s", capEff))
				if v, err := os.ReadFile("/proc/sys/kernel/unprivileged_bpf_disabled"); err == nil {
					if s := strings.TrimSpace(string(v)); s != "0" {
						causes = append(causes, "kernel.unprivileged_bpf_disabled="+s)
					}
				}
			}
		}
	}
	if mode, ok := statusField(status, "Seccomp"); ok && mode != "0" {
		what := "seccomp strict mode is"
		if mode == "2" {
			what = "a seccomp filter is"
		}
		causes = append(causes, fmt.Sprintf("%s active (Seccomp: %s in /proc/self/status) and may deny bpf(2)", what, mode))
	}
	if v, err := os.ReadFile("/sys/kernel/security/lockdown"); err == nil && bytes.Contains(v, []byte("[confidentiality]")) {
		causes = append(causes, "kernel lockdown is in confidentiality mode")
	}
	if len(causes) == 0 {
		return "refused by the kernel for an unknown reason (an LSM policy?)"
	}
	return strings.Join(causes, "; ")
}

// statusField returns the value of a "Key:\tvalue" line of /proc/PID/status.
func statusField(status []byte, key string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
